"""A small OpenAI-compatible server for tests, benchmarks and users' own CI (stdlib only).

`POST /v1/chat/completions` answers a `json_schema` request with an object valid against the
schema (by default one that also passes drafter's validators), scripted answers per schema name,
or injected faults. `GET /_stats` reports what it saw; `POST /_reset` forgets it.

    python -m drafter.testing.fake_openai --port 0 [--latency-ms 300] [--script FILE]

In-process:

    with FakeOpenAI(latency_ms=0) as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="any")
        fake.fault("status", status=429, retry_after=0.1)

See docs/fake-provider.md for the script and fault formats.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import hashlib
import json
import signal
import socket
import sys
import threading
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Literal, cast

from drafter.testing.schema_fill import SchemaError, check_strict, fill

FaultKind = Literal["status", "delay", "drop", "malformed", "invalid", "length", "refusal"]

# Every fault kind, the keys it takes (besides "fault", "schema" and "times") and what the
# client sees. `Fault.parse` accepts exactly these keys per kind, and `--help` prints this
# table, so the two cannot disagree.
FAULTS: dict[FaultKind, tuple[dict[str, str], str]] = {
    "status": (
        {
            "status": "HTTP code 400-599, default 500",
            "retry_after": "seconds, sent as Retry-After",
            "message": "the error message",
        },
        "an OpenAI-style error body with that status (the SDK retries 429 and 5xx)",
    ),
    "delay": ({"seconds": "default 30"}, "the answer comes after that long"),
    "drop": ({}, "the connection closes with no response"),
    "malformed": (
        {"content": "the exact text; default: the answer cut in half"},
        "content that is not JSON",
    ),
    "invalid": ({}, "JSON that breaks the schema (first key missing, an unknown key added)"),
    "length": ({}, 'half the answer with finish_reason "length"'),
    "refusal": ({"refusal": "the refusal text"}, "message.refusal set, content null"),
}
FAULT_KINDS: tuple[str, ...] = tuple(FAULTS)
COMMON_KEYS = ("schema", "times")  # any fault: the schema it targets, how many requests
ANY = "*"  # queue key: the next request, whatever its schema
MODEL_ID = "fake"
CREATED = 1_767_225_600  # fixed, so the same request gets the same bytes back

_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error", 429: "rate_limit_exceeded"}


@dataclass(frozen=True)
class Fault:
    """One injected failure; `times` repeats it on that many consecutive requests."""

    kind: FaultKind
    status: int = 500  # kind "status"
    retry_after: float | None = None  # kind "status": the Retry-After header, in seconds
    seconds: float = 30.0  # kind "delay": wait this long, then answer normally
    content: str | None = None  # kind "malformed": the exact text to send
    refusal: str = "I can't help with that request."  # kind "refusal"
    message: str | None = None  # kind "status": the error message
    times: int = 1

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Fault:
        """Build a fault from its JSON form, e.g. {"fault": "status", "status": 429}."""
        kind = spec.get("fault")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        known = {"fault", *COMMON_KEYS, *FAULTS[kind][0]}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"fault {kind!r}: unknown key(s) {', '.join(unknown)}")
        params = {k: v for k, v in spec.items() if k not in ("fault", "schema")}
        try:
            fault = cls(kind=kind, **params)
        except TypeError as exc:
            raise ValueError(f"fault {kind!r}: {exc}") from None
        if not isinstance(fault.status, int) or not 400 <= fault.status <= 599:
            raise ValueError(f"fault {kind!r}: status must be an HTTP error code (400-599)")
        if not isinstance(fault.times, int) or fault.times < 1:
            raise ValueError(f"fault {kind!r}: times must be a positive integer")
        numbers = {"seconds": fault.seconds, "retry_after": fault.retry_after or 0}
        for key, number in numbers.items():
            if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
                raise ValueError(f"fault {kind!r}: {key} must be a number of seconds")
        texts = {"content": fault.content or "", "refusal": fault.refusal}
        for key, text in {**texts, "message": fault.message or ""}.items():
            if not isinstance(text, str):
                raise ValueError(f"fault {kind!r}: {key} must be a string")
        return fault


Answer = Fault | dict[str, Any]


def parse_answer(item: Any) -> Answer:
    """A script entry: a fault spec (an object with a "fault" key) or content to return."""
    if not isinstance(item, dict):
        raise ValueError(f"each answer must be a JSON object, got {type(item).__name__}")
    return Fault.parse(item) if "fault" in item else item


def load_script(data: Any) -> dict[str, list[Answer]]:
    """Parse a script: {"SchemaName": [answer, ...], "*": [answer, ...]}."""
    if not isinstance(data, dict):
        raise ValueError("a script must be a JSON object mapping schema names to answer lists")
    script: dict[str, list[Answer]] = {}
    for name, answers in data.items():
        if not isinstance(answers, list):
            raise ValueError(f"script entry {name!r} must be a list of answers")
        try:
            script[name] = [parse_answer(a) for a in answers]
        except ValueError as exc:
            raise ValueError(f"script entry {name!r}: {exc}") from None
    return script


def load_faults(data: Any) -> list[tuple[str, Fault]]:
    """Parse a fault list: [{"fault": ..., "schema": "GoalSection" (default: any)}, ...]."""
    if not isinstance(data, list):
        raise ValueError("a faults file must be a JSON list of fault specs")
    faults: list[tuple[str, Fault]] = []
    for i, spec in enumerate(data):
        if not isinstance(spec, dict):
            raise ValueError(f"fault #{i + 1} must be a JSON object")
        try:
            faults.append((str(spec.get("schema", ANY)), Fault.parse(spec)))
        except ValueError as exc:
            raise ValueError(f"fault #{i + 1}: {exc}") from None
    return faults


def _common_prefix(a: str, b: str) -> int:
    # Binary search on slice equality: C-speed comparisons, fine for 100 KB prompts.
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _tokens(chars: int) -> int:
    return (chars + 3) // 4


@dataclass
class Stats:
    """What the server saw since start or the last reset."""

    requests: int = 0  # well-formed chat completion requests, faulted ones included
    completions: int = 0  # requests answered with 200
    prompt_chars: int = 0
    prompt_tokens: int = 0  # tokens are counted on 200 answers only, as a provider bills
    completion_tokens: int = 0
    cached_tokens: int = 0
    shared_prefix_chars: int = 0  # prefix common to every prompt so far
    max_in_flight: int = 0
    by_schema: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)

    @property
    def mean_prompt_chars(self) -> float:
        return self.prompt_chars / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "completions": self.completions,
            "prompt_chars": self.prompt_chars,
            "mean_prompt_chars": round(self.mean_prompt_chars, 1),
            "shared_prefix_chars": self.shared_prefix_chars,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "max_in_flight": self.max_in_flight,
            "by_schema": dict(self.by_schema),
            "faults": dict(self.faults),
        }


class _State:
    """Queues, stats and the prefix cache, shared by the handler threads under one lock."""

    def __init__(self, latency_s: float, warm_cache: bool = False) -> None:
        self.latency_s = latency_s
        # Count every request's messages before the last as cached, whatever came before:
        # the same requests in any order get the same usage (reproducible cassettes).
        self.warm_cache = warm_cache
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.queues: dict[str, deque[Answer]] = {}
        self.stats = Stats()
        self.prompts: list[str] = []  # sorted, distinct: the best prefix match is a neighbour
        self.prefix: str | None = None
        self.in_flight = 0

    def reset(self) -> None:
        with self.lock:
            self.queues.clear()
            self.stats = Stats()
            self.prompts.clear()
            self.prefix = None

    def enqueue(self, schema: str, answers: Iterable[Answer]) -> None:
        with self.lock:
            queue = self.queues.setdefault(schema, deque())
            for answer in answers:
                times = answer.times if isinstance(answer, Fault) else 1
                queue.extend([answer] * times)

    def take(self, schema: str) -> Answer | None:
        with self.lock:
            for key in (ANY, schema):
                queue = self.queues.get(key)
                if queue:
                    return queue.popleft()
        return None

    def seen(self, prompt: str, schema: str, prefix_chars: int) -> int:
        """Record a prompt; returns the chars served from the prompt cache: the longest prefix
        it shares with an earlier one, or (warm cache) its `prefix_chars`."""
        with self.lock:
            stats = self.stats
            stats.requests += 1
            stats.prompt_chars += len(prompt)
            stats.by_schema[schema] += 1
            self.prefix = (
                prompt if self.prefix is None else prompt[: _common_prefix(self.prefix, prompt)]
            )
            stats.shared_prefix_chars = len(self.prefix)
            i = bisect.bisect_left(self.prompts, prompt)
            neighbours = self.prompts[max(0, i - 1) : i + 1]
            cached = max((_common_prefix(prompt, p) for p in neighbours), default=0)
            if self.warm_cache:
                cached = prefix_chars
            if i == len(self.prompts) or self.prompts[i] != prompt:
                self.prompts.insert(i, prompt)
            return cached

    def billed(self, prompt_chars: int, cached_chars: int, completion_chars: int) -> None:
        with self.lock:
            self.stats.completions += 1
            self.stats.prompt_tokens += _tokens(prompt_chars)
            self.stats.cached_tokens += cached_chars // 4
            self.stats.completion_tokens += _tokens(completion_chars)

    def faulted(self, kind: str) -> None:
        with self.lock:
            self.stats.faults[kind] += 1

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1


class _Server(ThreadingHTTPServer):
    # The stdlib default backlog of 5 drops connections under concurrent load.
    request_queue_size = 256
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: _State, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.verbose = verbose


class _RequestError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.param = param


def _error_body(status: int, message: str, param: str | None = None, code: str | None = None):
    return {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "server_error"),
            "param": param,
            "code": code,
        }
    }


def _prompt_text(messages: Any) -> str:
    """The messages' contents concatenated in order (text parts of multi-part contents)."""
    if not isinstance(messages, list) or not messages:
        raise _RequestError(400, "'messages' must be a non-empty array", "messages")
    parts: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "".join(parts)


def _invalid(obj: Any) -> dict[str, Any]:
    """An object that breaks the schema: first key dropped, an unknown key added."""
    broken = dict(obj) if isinstance(obj, dict) else {}
    if broken:
        broken.pop(next(iter(broken)))
    broken["unexpected_field"] = True
    return broken


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK: +40 ms per request on loopback (measured 343 ms vs 303 ms at 300 ms latency).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # --- plumbing -----------------------------------------------------------------------

    def _send(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except ConnectionError:
            self.close_connection = True  # the client gave up (e.g. timed out): nothing to do

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _RequestError(400, "We could not parse the JSON body of your request.") from None

    def do_GET(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        if path == "/_stats":
            with self.server.state.lock:
                body = self.server.state.stats.as_dict()
            self._send(200, body)
        elif path in ("/v1/models", "/models"):
            model = {"id": MODEL_ID, "object": "model", "created": CREATED, "owned_by": "drafter"}
            self._send(200, {"object": "list", "data": [model]})
        else:
            self._send(404, _error_body(404, f"Unknown request URL: GET {self.path}."))

    def do_POST(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        try:
            if path == "/_reset":
                self._read_json()
                self.server.state.reset()
                self._send(200, {"ok": True})
            elif path in ("/v1/chat/completions", "/chat/completions"):
                self._complete(self._read_json())
            else:
                raise _RequestError(404, f"Unknown request URL: POST {self.path}.")
        except _RequestError as exc:
            self._send(exc.status, _error_body(exc.status, str(exc), exc.param))
        except Exception as exc:
            # A bug here should reach the test that met it as an HTTP 500 it can read,
            # not as a dropped connection and a traceback on the server's stderr.
            self._send(500, _error_body(500, f"fake server error: {exc!r}"))

    # --- completions --------------------------------------------------------------------

    def _complete(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise _RequestError(400, "The request body must be a JSON object.")
        if body.get("stream"):
            raise _RequestError(400, "The fake server does not support streaming.", "stream")
        messages = body.get("messages")
        prompt = _prompt_text(messages)
        before_last = (
            _prompt_text(messages[:-1]) if isinstance(messages, list) and len(messages) > 1 else ""
        )
        name, schema = self._schema(body.get("response_format"))
        state = self.server.state
        cached = state.seen(prompt, name or "(text)", len(before_last))
        state.enter()
        try:
            if state.latency_s:
                state.stopping.wait(state.latency_s)
            answer = state.take(name or "(text)")
            fault = answer if isinstance(answer, Fault) else None
            if fault is not None:
                state.faulted(fault.kind)
                if self._fault(fault):
                    return
            content = self._content(None if fault else answer, schema, prompt, name)
            self._answer(body, prompt, cached, content, fault, structured=schema is not None)
        finally:
            state.leave()

    def _schema(self, response_format: Any) -> tuple[str | None, dict[str, Any] | None]:
        if not isinstance(response_format, dict):
            return None, None
        if response_format.get("type") == "json_object":
            return "(json_object)", {"type": "object", "properties": {}}
        if response_format.get("type") != "json_schema":
            return None, None
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise _RequestError(
                400,
                "Missing required parameter: 'response_format.json_schema.schema'.",
                "response_format",
            )
        name = str(spec.get("name", "response"))
        if spec.get("strict"):
            try:
                check_strict(spec["schema"])
            except SchemaError as exc:
                raise _RequestError(
                    400, f"Invalid schema for response_format '{name}': {exc}", "response_format"
                ) from None
        return name, spec["schema"]

    def _fault(self, fault: Fault) -> bool:
        """Apply a fault; True when it is the whole response, False when content follows."""
        if fault.kind == "status":
            message = fault.message or f"The fake server injected an HTTP {fault.status}."
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            self._send(fault.status, _error_body(fault.status, message), headers)
            return True
        if fault.kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):  # the client may already be gone
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if fault.kind == "delay":
            self.server.state.stopping.wait(fault.seconds)
        return False

    def _content(
        self, answer: Answer | None, schema: Mapping[str, Any] | None, prompt: str, name: str | None
    ) -> dict[str, Any]:
        if isinstance(answer, dict):
            return answer
        if schema is None:
            return {"text": "The fake OpenAI server answered this request."}
        try:
            return cast(dict[str, Any], fill(schema, prompt))
        except SchemaError as exc:
            raise _RequestError(
                400, f"Invalid schema for response_format '{name}': {exc}", "response_format"
            ) from None

    def _answer(
        self,
        body: dict[str, Any],
        prompt: str,
        cached: int,
        obj: dict[str, Any],
        fault: Fault | None,
        *,
        structured: bool,
    ) -> None:
        full = json.dumps(obj, ensure_ascii=False) if structured else str(obj.get("text", ""))
        text: str | None = full
        finish = "stop"
        refusal: str | None = None
        if fault is not None:
            if fault.kind == "malformed":
                text = fault.content if fault.content is not None else full[: len(full) // 2]
            elif fault.kind == "invalid":
                text = json.dumps(_invalid(obj), ensure_ascii=False)
            elif fault.kind == "length":
                text, finish = full[: len(full) // 2], "length"
            elif fault.kind == "refusal":
                text, refusal = None, fault.refusal
        completion_chars = len(text or refusal or "")
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
        response = {
            "id": f"chatcmpl-fake-{digest}",
            "object": "chat.completion",
            "created": CREATED,
            "model": str(body.get("model", MODEL_ID)),
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": refusal},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": _tokens(len(prompt)),
                "completion_tokens": _tokens(completion_chars),
                "total_tokens": _tokens(len(prompt)) + _tokens(completion_chars),
                "prompt_tokens_details": {"cached_tokens": cached // 4, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
        }
        self.server.state.billed(len(prompt), cached, completion_chars)
        self._send(200, response)


class FakeOpenAI:
    """The fake server in a background thread; `start()` returns the base URL (`.../v1`)."""

    def __init__(
        self,
        latency_ms: float = 0,
        script: Mapping[str, Sequence[Any]] | str | Path | None = None,
        faults: Sequence[Mapping[str, Any]] | str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
        warm_cache: bool = False,
    ) -> None:
        self._state = _State(latency_ms / 1000, warm_cache)
        self._host, self._port, self._verbose = host, port, verbose
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._script = _read_json_file(script) if isinstance(script, str | Path) else script
        self._faults = _read_json_file(faults) if isinstance(faults, str | Path) else faults
        self._load()

    def _load(self) -> None:
        for name, answers in load_script(dict(self._script or {})).items():
            self._state.enqueue(name, answers)
        for schema, fault in load_faults(list(self._faults or [])):
            self._state.enqueue(schema, [fault])

    # --- lifecycle ----------------------------------------------------------------------

    def bind(self) -> str:
        """Open the listening socket (port 0 picks a free one); returns the base URL."""
        if self._server is None:
            self._server = _Server((self._host, self._port), self._state, self._verbose)
        return self.base_url

    def start(self) -> str:
        """Serve in a daemon thread; returns the base URL, e.g. http://127.0.0.1:PORT/v1."""
        url = self.bind()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.serve_forever, name="fake-openai", daemon=True
            )
            self._thread.start()
        return url

    def serve_forever(self) -> None:
        self.bind()
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop serving; requests sleeping in a latency or delay wake up and finish."""
        self._state.stopping.set()
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join()
            self._server.server_close()
        self._server, self._thread = None, None
        self._state.stopping.clear()

    def __enter__(self) -> FakeOpenAI:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake server is not bound; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}/v1"

    # --- test controls ------------------------------------------------------------------

    @property
    def stats(self) -> Stats:
        """A snapshot of the counters (same figures as GET /_stats)."""
        with self._state.lock:
            snapshot = self._state.stats
            return Stats(
                **{
                    k: getattr(snapshot, k)
                    for k in snapshot.__dataclass_fields__
                    if k not in ("by_schema", "faults")
                },
                by_schema=Counter(snapshot.by_schema),
                faults=Counter(snapshot.faults),
            )

    def reset(self) -> None:
        """Zero the stats and drop every queued answer and fault (like POST /_reset)."""
        self._state.reset()

    def enqueue(self, schema: str, *answers: Answer | Mapping[str, Any]) -> None:
        """Queue answers for requests whose json_schema name is `schema` ("*": any request).

        An answer is a `Fault`, a fault spec ({"fault": ...}) or the content object to return.
        """
        self._state.enqueue(
            schema, [a if isinstance(a, Fault) else parse_answer(dict(a)) for a in answers]
        )

    def fault(self, kind: FaultKind, *, schema: str = ANY, **params: Any) -> None:
        """Queue one fault, e.g. `fault("status", status=429, retry_after=0.1, times=2)`."""
        self._state.enqueue(schema, [Fault.parse({"fault": kind, **params})])


def _read_json_file(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def faults_help() -> str:
    """The fault kinds, their keys and their effect, for `--help` (from `FAULTS`)."""
    lines = [
        'fault specs (--faults FILE: a JSON list; in a --script, an answer with a "fault" key):',
        '  {"fault": KIND, "schema": NAME (default "*": any request), KEY: VALUE...,',
        '   "times": N (repeat on N consecutive requests, default 1)}',
        "",
        "fault kinds and their keys:",
    ]
    for kind, (keys, effect) in FAULTS.items():
        lines.append(f"  {kind:<10} {effect}")
        lines += [f"  {'':<10}   {key}: {what}" for key, what in keys.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drafter.testing.fake_openai",
        description="A fake OpenAI-compatible server for tests and CI.",
        epilog=faults_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay per completion")
    parser.add_argument("--script", help="JSON file: schema name -> list of answers")
    parser.add_argument("--faults", help="JSON file: list of fault specs")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="report every request's messages before the last as served from the prompt "
        "cache, whatever the order of requests (re-recorded cassettes stay identical)",
    )
    args = parser.parse_args(argv)
    try:
        fake = FakeOpenAI(
            args.latency_ms,
            args.script,
            args.faults,
            host=args.host,
            port=args.port,
            verbose=args.verbose,
            warm_cache=args.warm_cache,
        )
        url = fake.bind()
    except (ValueError, OSError) as exc:
        print(f"fake_openai: {exc}", file=sys.stderr)
        return 2
    print(f"fake OpenAI server on {url}", flush=True)
    # CI stops the server with SIGTERM: leave as quietly as on Ctrl-C, exit 0.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
