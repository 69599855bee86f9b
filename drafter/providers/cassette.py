"""Record provider traffic into a cassette, or answer from one with no network (vcrpy).

A run that records or replays opens a `Tape` and builds its chat provider with the tape's
HTTP transport: every request of that provider goes through the tape, and no other request
does (nothing is patched, so concurrent runs in `drafter batch` never see each other's tape).

A cassette is readable YAML: one interaction per provider call, JSON bodies pretty-printed, in
a canonical order (by request body), so re-recording unchanged inputs changes nothing.
Requests are matched on method, path and the body parsed as JSON and dumped canonically, so
sections drafted concurrently replay in any order and the host (a local server's port, a
proxy) does not matter. Only the headers the SDK needs to read an answer are kept; every other
header (authorization, api-key, x-api-key, openai-organization, openai-project, cookie,
set-cookie, the SDK's platform headers) is dropped before anything is written, and the values
of provider key variables are redacted from bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from drafter.core.errors import InputError
from drafter.core.files import write_atomic
from drafter.model.sections import SECTIONS
from drafter.providers.base import ProviderFailure
from drafter.providers.identity import secrets
from drafter.providers.usage import CallUsage

# Headers kept in a cassette; everything else is dropped (see the module docstring).
KEPT_REQUEST_HEADERS = frozenset({"content-type"})
KEPT_RESPONSE_HEADERS = frozenset({"content-type", "retry-after"})
# Query parameters some providers take a key in (Gemini's ?key=, Azure-style api-key).
SECRET_QUERY_PARAMETERS = frozenset({"key", "api-key", "api_key", "access_token"})
# The host is not matched, so the cassette does not name it: a loopback port would be noise.
RECORDED_HOST = "provider"
REDACTED = "REDACTED"
_SCHEMA_TO_SECTION = {section.model.__name__: section.name for section in SECTIONS}


class CassetteMiss(ProviderFailure):
    """A replayed run sent a request the cassette has no answer for (exit 3)."""


@dataclass
class Tape:
    """An open cassette; `transport()` is what a chat provider sends through."""

    cassette: Any  # vcr.cassette.Cassette
    shown: Path  # the path users know
    rerecord: str  # the command that records it again, for a miss's message
    # Misses seen, even ones a caller turned into a softer outcome (the rule judge answers
    # "needs review" when its call fails): a replay that missed must not pass as a replay.
    misses: list[CassetteMiss] = field(default_factory=list)

    @property
    def replaying(self) -> bool:
        return bool(self.cassette.write_protected)

    def transport(self) -> Any:
        """An httpx transport answering from the cassette (recording into it first)."""
        from vcr.errors import CannotOverwriteExistingCassetteException
        from vcr.stubs.httpx_stubs import vcr_handle_async_request

        module = _httpx()
        inner = module.AsyncHTTPTransport()
        handle = vcr_handle_async_request(self.cassette, type(inner).handle_async_request, module)
        tape = self

        class TapedTransport(module.AsyncBaseTransport):  # type: ignore[misc,name-defined]
            async def handle_async_request(self, request: Any) -> Any:
                try:
                    return await handle(inner, request)
                except CannotOverwriteExistingCassetteException as miss:
                    raise tape.miss(miss.failed_request) from None

            async def aclose(self) -> None:
                await inner.aclose()

        return TapedTransport()

    def miss(self, request: Any) -> CassetteMiss:
        schema = schema_of(request.body)
        section = _SCHEMA_TO_SECTION.get(schema or "")
        asked = "" if section or not schema else f" ({schema})"
        miss = CassetteMiss(
            f"cassette {self.shown} has no recorded answer for this request{asked} (the "
            "spec, the constitution, the prompts or the model changed since it was "
            f"recorded); record it again: {self.rerecord}",
            CallUsage(calls=1),
            section,
        )
        self.misses.append(miss)
        return miss


def _httpx() -> Any:
    """The httpx the openai SDK sends through (openai 3.x: httpx2)."""
    try:
        import httpx2

        return httpx2
    except ImportError:
        import httpx

        return httpx


@contextmanager
def replaying(path: Path, rerecord: str) -> Iterator[Tape]:
    """Answer the block's provider calls from `path`; raises the first miss at the end."""
    if not path.is_file():
        raise InputError(f"cassette {path} not found (record it with: {rerecord})")
    from vcr.cassette import Cassette
    from vcr.record_mode import RecordMode

    try:
        loaded = Cassette.load(path=str(path), record_mode=RecordMode.NONE, **_options())
    except ValueError as error:  # vcrpy's words for a file that is not a cassette
        raise InputError(f"cannot read cassette {path}: {error}") from error
    if len(loaded) == 0:
        raise InputError(f"cassette {path} holds no interactions; record it: {rerecord}")
    tape = Tape(loaded, path, rerecord)
    yield tape
    if tape.misses:
        raise tape.misses[0]


@contextmanager
def recording(path: Path, rerecord: str) -> Iterator[Tape]:
    """Record the block's provider calls into `path`, replacing it only when the block
    succeeds (atomically, never half-way)."""
    from vcr.cassette import Cassette
    from vcr.record_mode import RecordMode

    recorder = Cassette(path=str(path), record_mode=RecordMode.ALL, **_options())
    yield Tape(recorder, path, rerecord)
    if len(recorder) == 0:
        raise InputError(
            f"nothing to record into {path}: the run made no provider calls "
            "(offline drafting makes none; give --model)"
        )
    try:
        recorder._save(force=True)  # vcrpy's save, through the atomic persister below
    except OSError as error:
        raise InputError(f"cannot write cassette {path}: {error.strerror}") from error


def _options() -> dict[str, Any]:
    from vcr.matchers import method
    from vcr.matchers import path as same_path

    return {
        "serializer": _ReadableYaml,
        "persister": _AtomicPersister,
        "match_on": (method, same_path, _same_body),
        "before_record_request": _scrub_request,
        "before_record_response": _scrub_response,
    }


def schema_of(body: bytes | None) -> str | None:
    """The json_schema name of a chat request: a section's model names the section."""
    try:
        name = json.loads(body or b"")["response_format"]["json_schema"]["name"]
    except (ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


# --- what reaches the file -----------------------------------------------------------------


def _canonical(body: bytes | str | None) -> bytes | str | None:
    """The body as canonical JSON (sorted keys, no spaces); a non-JSON body as it is."""
    try:
        data = json.loads(body or b"")
    except ValueError:
        return body
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _same_body(first: Any, second: Any) -> None:
    """vcrpy matcher: raise AssertionError when the bodies differ as JSON."""
    if _canonical(first.body) != _canonical(second.body):
        raise AssertionError("the request bodies differ")


def _readable(body: bytes | None) -> bytes | None:
    """A JSON body indented (it becomes a YAML block), with provider keys redacted."""
    if not body:
        return body
    text = body.decode("utf-8", "replace")
    for secret in secrets():
        text = text.replace(secret, REDACTED)
    with suppress(ValueError):  # not JSON (an HTML error page): kept as sent
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return text.encode("utf-8")


def _scrub_request(request: Any) -> Any:
    for name in list(request.headers):
        if name.lower() not in KEPT_REQUEST_HEADERS:
            del request.headers[name]
    parts = urlsplit(request.uri)
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and pair.split("=", 1)[0].lower() not in SECRET_QUERY_PARAMETERS
    )
    request.uri = urlunsplit((parts.scheme, RECORDED_HOST, parts.path, query, ""))
    request.body = _readable(request.body)
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {
        name: values
        for name, values in response["headers"].items()
        if name.lower() in KEPT_RESPONSE_HEADERS
    }
    response["body"]["string"] = _readable(response["body"]["string"])
    return response


class _AtomicPersister:
    """vcrpy persister: loads like vcrpy's, saves through drafter's one atomic writer."""

    @staticmethod
    def load_cassette(cassette_path: str, serializer: Any) -> Any:
        from vcr.persisters.filesystem import FilesystemPersister

        return FilesystemPersister.load_cassette(cassette_path, serializer)

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: Any, serializer: Any) -> None:
        from vcr.serialize import serialize

        write_atomic(Path(cassette_path), serialize(cassette_dict, serializer))


def _order(interaction: dict[str, Any]) -> tuple[str, str]:
    body = interaction["request"].get("body") or ""
    return (schema_of(body.encode("utf-8") if isinstance(body, str) else body) or "", body)


# A message sent in more than one request (the shared prefix: system prompt, constitution, spec)
# is stored once under this key and referenced from each request body.
SHARED_KEY = "shared_messages"
_MIN_SHARED_CHARS = 200


def _share_messages(interactions: list[dict[str, Any]]) -> dict[str, str]:
    """Replace repeated message contents in the (canonically ordered) request bodies with a
    reference; returns the shared texts by reference."""
    bodies = [_json_body(interaction) for interaction in interactions]
    seen: dict[str, int] = {}
    for body in bodies:
        for message in (body or {}).get("messages", []):
            content = message.get("content")
            if isinstance(content, str) and len(content) >= _MIN_SHARED_CHARS:
                seen[content] = seen.get(content, 0) + 1
    shared: dict[str, str] = {}
    names: dict[str, str] = {}
    for interaction, body in zip(interactions, bodies, strict=True):
        if body is None:
            continue
        for message in body.get("messages", []):
            content = message.get("content")
            if isinstance(content, str) and seen.get(content, 0) > 1:
                if content not in names:
                    names[content] = f"message-{len(names) + 1}"
                    shared[names[content]] = content
                message["content"] = {SHARED_KEY: names[content]}
        interaction["request"]["body"] = json.dumps(body, indent=2, ensure_ascii=False)
    return shared


def _unshare_messages(interactions: list[dict[str, Any]], shared: dict[str, str]) -> None:
    for interaction in interactions:
        body = _json_body(interaction)
        if body is None:
            continue
        for message in body.get("messages", []):
            content = message.get("content")
            if isinstance(content, dict) and SHARED_KEY in content:
                message["content"] = shared[content[SHARED_KEY]]
        interaction["request"]["body"] = json.dumps(body, indent=2, ensure_ascii=False)


def _json_body(interaction: dict[str, Any]) -> dict[str, Any] | None:
    body = interaction["request"].get("body")
    try:
        data = json.loads(body) if isinstance(body, str | bytes) else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class _ReadableYaml:
    """vcrpy serializer: YAML with multi-line strings (the JSON bodies) as literal blocks,
    interactions in a canonical order, each repeated message stored once."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        import yaml

        class Dumper(yaml.SafeDumper):
            pass

        def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
            style = "|" if "\n" in value else None
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

        Dumper.add_representer(str, text)
        ordered = dict(cassette_dict)
        interactions = sorted(cassette_dict["interactions"], key=_order)
        shared = _share_messages(interactions)
        ordered["interactions"] = interactions
        if shared:
            ordered[SHARED_KEY] = shared
        return yaml.dump(ordered, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=100)

    @staticmethod
    def deserialize(cassette_string: str) -> Any:
        import yaml

        data = yaml.load(cassette_string, Loader=yaml.CSafeLoader)
        if isinstance(data, dict) and SHARED_KEY in data:
            _unshare_messages(data.get("interactions") or [], data.pop(SHARED_KEY))
        return data


def recorded_model(path: Path) -> str | None:
    """The model a cassette was recorded with ("openai:NAME": taped runs are OpenAI-style),
    from its first request; None when it cannot be read."""
    import yaml

    try:
        data = yaml.load(path.read_text("utf-8"), Loader=yaml.CSafeLoader)
        name = json.loads(data["interactions"][0]["request"]["body"])["model"]
    except (OSError, ValueError, KeyError, IndexError, TypeError, yaml.YAMLError):
        return None
    return f"openai:{name}" if isinstance(name, str) and name else None
