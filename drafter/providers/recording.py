"""Record provider traffic into a cassette, or answer from one with no network (vcrpy).

A cassette is readable YAML: one interaction per provider call, JSON bodies pretty-printed.
Requests are matched on method, path and the body parsed as JSON and dumped canonically, so
sections drafted concurrently replay in any order and the host (a local server's port, a
proxy) does not matter. Only the headers the SDK needs to read an answer are kept; every
other header (authorization, api-key, x-api-key, openai-organization, openai-project, cookie,
set-cookie, the SDK's platform headers) is dropped before anything is written, and the values
of provider key variables are redacted from bodies.

vcrpy swaps the HTTP transports' methods at class level, so two cassettes open at once in
different threads (`drafter batch --jobs N`) would undo each other's patches. Here the
transports are patched once, for as long as any cassette is open, and each call is routed to
the cassette of the thread/task that made it (a context variable).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from drafter.core.errors import InputError, ProviderError
from drafter.model.sections import SECTIONS

if TYPE_CHECKING:
    from drafter.core.config import Settings

# Headers kept in a cassette; everything else is dropped (see the module docstring).
KEPT_REQUEST_HEADERS = frozenset({"content-type"})
KEPT_RESPONSE_HEADERS = frozenset({"content-type", "retry-after"})
# Query parameters some providers take a key in (Gemini's ?key=, Azure-style api-key).
SECRET_QUERY_PARAMETERS = frozenset({"key", "api-key", "api_key", "access_token"})
# The host is not matched, so the cassette does not name it: a loopback port would be noise.
RECORDED_HOST = "provider"
REDACTED = "REDACTED"
_HTTPX_MODULES = ("httpx2", "httpx")  # openai 3.x sends through httpx2; other SDKs use httpx
_SCHEMA_TO_SECTION = {section.model.__name__: section.name for section in SECTIONS}


@dataclass(frozen=True)
class _Open:
    """A cassette opened by `cassette()`, as the transport patches see it."""

    cassette: Any  # vcr.cassette.Cassette
    shown: Path  # the path users know (recording goes to a temporary file beside it)
    rerecord: str
    # Misses seen, even ones a caller turned into a softer outcome (the rule judge answers
    # "needs review" when its call fails): a replay that missed must not pass as a replay.
    misses: list[CassetteMiss] = field(default_factory=list)


_ACTIVE: ContextVar[_Open | None] = ContextVar("drafter_cassette", default=None)
_PATCH_LOCK = threading.Lock()
_patch_users = 0
_unpatch: list[Callable[[], None]] = []


def active() -> bool:
    """Whether the calling thread/task runs under a cassette (the response cache stays out)."""
    return _ACTIVE.get() is not None


def replaying() -> bool:
    """Whether provider calls are answered from a cassette (no key is needed then)."""
    opened = _ACTIVE.get()
    return opened is not None and opened.cassette.write_protected


class CassetteMiss(ProviderError):
    """A replayed run sent a request the cassette has no answer for (exit 3)."""


@contextmanager
def cassette(
    record: Path | None,
    replay: Path | None,
    *,
    spec: Path | None = None,
    settings: Settings | None = None,
) -> Iterator[None]:
    """Record the provider traffic of the block into `record`, or answer it from `replay`.

    `spec` and `settings` only make the re-record command in a miss's message exact. A
    recording replaces `record` when the block succeeds, never half-way.
    """
    if (record is None) == (replay is None):
        raise InputError("give either a cassette to record into or one to replay, not both")
    rerecord = _rerecord_command(record or replay, spec, settings)  # type: ignore[arg-type]
    if replay is not None:
        with _replaying(replay, rerecord):
            yield
        return
    assert record is not None
    with _recording(record, rerecord):
        yield


@contextmanager
def _replaying(path: Path, rerecord: str) -> Iterator[None]:
    if not path.is_file():
        raise InputError(f"cassette {path} not found (record it with: {rerecord})")
    with _use(path, "none") as loaded:
        if len(loaded) == 0:
            raise InputError(f"cassette {path} holds no interactions; record it: {rerecord}")
        opened = _Open(loaded, path, rerecord)
        with _routed(opened):
            yield
        if opened.misses:
            raise opened.misses[0]


@contextmanager
def _recording(path: Path, rerecord: str) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create {path.parent}: {error.strerror}") from error
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.unlink(missing_ok=True)
    with _use(temporary, "all") as recorder, _routed(_Open(recorder, path, rerecord)):
        yield
        if len(recorder) == 0:
            raise InputError(
                f"nothing to record into {path}: the run made no provider calls "
                "(offline drafting makes none; give --model)"
            )
    os.replace(temporary, path)


@contextmanager
def _use(path: Path, mode: str) -> Iterator[Any]:
    """vcrpy's cassette lifecycle (load, save) without its patching, which `_routed` does."""
    import vcr
    from vcr.patch import PATCHER_NAMES

    recorder = vcr.VCR(
        serializer="drafter-yaml",
        match_on=("method", "path", "json_body"),
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
        record_on_exception=False,
    )
    recorder.register_serializer("drafter-yaml", _ReadableYaml)
    recorder.register_matcher("json_body", _same_body)
    try:
        context = recorder.use_cassette(str(path), record_mode=mode, skip_patchers=PATCHER_NAMES)
        with context as opened:
            yield opened
    except ValueError as error:  # vcrpy's words for a file that is not a cassette
        raise InputError(f"cannot read cassette {path}: {error}") from error


@contextmanager
def _routed(opened: _Open) -> Iterator[None]:
    global _patch_users
    with _PATCH_LOCK:
        if _patch_users == 0:
            _patch_transports()
        _patch_users += 1
    token = _ACTIVE.set(opened)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
        with _PATCH_LOCK:
            _patch_users -= 1
            if _patch_users == 0:
                while _unpatch:
                    _unpatch.pop()()


def _patch_transports() -> None:
    for name in _HTTPX_MODULES:
        try:
            module = import_module(name)
        except ImportError:
            continue
        _patch(module.AsyncHTTPTransport, "handle_async_request", _async_handler(module))
        _patch(module.HTTPTransport, "handle_request", _sync_handler(module))


def _patch(cls: type, attribute: str, make: Callable[[Any], Any]) -> None:
    original = getattr(cls, attribute)
    setattr(cls, attribute, make(original))
    _unpatch.append(lambda: setattr(cls, attribute, original))


def _async_handler(module: Any) -> Callable[[Any], Any]:
    from vcr.errors import CannotOverwriteExistingCassetteException
    from vcr.stubs.httpx_stubs import vcr_handle_async_request

    def make(original: Any) -> Any:
        async def handle_async_request(transport: Any, request: Any) -> Any:
            opened = _ACTIVE.get()
            if opened is None:  # a thread with no cassette while another one has one
                return await original(transport, request)
            handler = vcr_handle_async_request(opened.cassette, original, module)
            try:
                return await handler(transport, request)
            except CannotOverwriteExistingCassetteException as miss:
                raise _miss(opened, miss.failed_request) from None

        return handle_async_request

    return make


def _sync_handler(module: Any) -> Callable[[Any], Any]:
    from vcr.errors import CannotOverwriteExistingCassetteException
    from vcr.stubs.httpx_stubs import vcr_handle_request

    def make(original: Any) -> Any:
        def handle_request(transport: Any, request: Any) -> Any:
            opened = _ACTIVE.get()
            if opened is None:
                return original(transport, request)
            try:
                return vcr_handle_request(opened.cassette, original, module)(transport, request)
            except CannotOverwriteExistingCassetteException as miss:
                raise _miss(opened, miss.failed_request) from None

        return handle_request

    return make


def _miss(opened: _Open, request: Any) -> CassetteMiss:
    schema = schema_of(request.body)
    section = _SCHEMA_TO_SECTION.get(schema or "")
    asked = "" if section or not schema else f" ({schema})"
    miss = CassetteMiss(
        f"cassette {opened.shown} has no recorded answer for this request{asked} (the spec, "
        "the constitution, the prompts or the model changed since it was recorded); record "
        f"it again: {opened.rerecord}",
        section,
    )
    opened.misses.append(miss)
    return miss


def schema_of(body: bytes | None) -> str | None:
    """The json_schema name of a chat request: a section's model names the section."""
    try:
        name = json.loads(body or b"")["response_format"]["json_schema"]["name"]
    except (ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def _rerecord_command(path: Path, spec: Path | None, settings: Settings | None) -> str:
    model = settings.model if settings is not None and settings.model else "PROVIDER:MODEL"
    words = ["drafter spec-to-plan", str(spec or "SPEC"), "--model", model]
    if settings is not None and settings.base_url:
        words += ["--base-url", settings.base_url]
    return " ".join([*words, "--record", str(path)])


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
    for secret in _secrets():
        text = text.replace(secret, REDACTED)
    with suppress(ValueError):  # not JSON (an HTML error page): kept as sent
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return text.encode("utf-8")


def _secrets() -> list[str]:
    from drafter.drafting.llm import KEY_VARIABLES

    values = (os.environ.get(variable, "") for variable in KEY_VARIABLES.values())
    return [value for value in values if len(value) >= 8]  # short values are no key


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


class _ReadableYaml:
    """vcrpy serializer: YAML with multi-line strings (the JSON bodies) as literal blocks."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        import yaml

        class Dumper(yaml.SafeDumper):
            pass

        def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
            style = "|" if "\n" in value else None
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

        Dumper.add_representer(str, text)
        return yaml.dump(
            cassette_dict, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=100
        )

    @staticmethod
    def deserialize(cassette_string: str) -> Any:
        import yaml

        return yaml.load(cassette_string, Loader=yaml.CSafeLoader)
