"""What a provider-side exception means for the user: a one-line cause, and whether to retry.

SDK classes are looked up only when their module is loaded: an exception of a package that was
never imported cannot have been raised.
"""

from __future__ import annotations

import random
import sys
from typing import Any

from pydantic import ValidationError

from drafter.core.config import Settings
from drafter.providers.identity import ModelRef

# Exceptions raised from these packages are provider failures, not bugs in drafter.
_PROVIDER_PACKAGES = frozenset(
    {"openai", "anthropic", "httpx", "httpx2", "httpcore", "ollama", "langchain_core"}
)
_RETRY_STATUSES = frozenset({408, 409, 429})
MAX_ERRORS = 10  # schema errors fed back per repair: enough to fix, few enough to read
MAX_RETRY_AFTER_S = 60.0


def retry_wait(error: BaseException, attempt: int) -> float | None:
    """Seconds to wait before retrying after `error` (the provider's Retry-After when it
    gives one, else exponential backoff like the SDKs'); None when retrying cannot help."""
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        if status not in _RETRY_STATUSES and status < 500:
            return None
        after = _retry_after(error)
        if after is not None:
            return after
    elif not _is_connection_failure(error):
        return None
    return min(0.5 * 2**attempt, 8.0) * (1 - 0.25 * random.random())


def _retry_after(error: BaseException) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return None if seconds is None or seconds < 0 else min(seconds, MAX_RETRY_AFTER_S)


def _is_connection_failure(error: BaseException) -> bool:
    """A dropped or refused connection, or a timeout (the SDKs' names for them)."""
    package = type(error).__module__.split(".")[0]
    name = type(error).__name__
    return package in _PROVIDER_PACKAGES and ("Connection" in name or "Timeout" in name)


def schema_problems(error: ValidationError) -> tuple[str, ...] | None:
    """The problems to feed back for an answer that does not fit the schema; None when the
    answer is not JSON at all (a repair cannot fix that)."""
    problems = error.errors(include_url=False)
    if any(problem["type"] == "json_invalid" for problem in problems):
        return None
    return tuple(
        f"{'.'.join(map(str, p['loc'])) or 'answer'}: {p['msg']}" for p in problems[:MAX_ERRORS]
    )


def cause_of(error: BaseException, settings: Settings, model: ModelRef) -> str | None:
    """The user-facing cause of a provider failure; None for anything else (a bug)."""
    if isinstance(error, ValidationError):
        problems = error.errors(include_url=False)
        return f"the answer is not valid JSON ({problems[0]['msg']})"
    return _openai_cause(error, settings, model) or _generic_cause(error)


def _openai_cause(error: BaseException, settings: Settings, model: ModelRef) -> str | None:
    if "openai" not in sys.modules:
        return None
    import openai

    retries = f"after {settings.max_retries} retries"
    if isinstance(error, openai.LengthFinishReasonError):
        limit = settings.max_tokens or "the model's default"
        return f"the answer was cut off at the token limit ({limit}); raise max_tokens"
    if isinstance(error, openai.ContentFilterFinishReasonError):
        return "the provider's content filter stopped the answer"
    if isinstance(error, openai.APITimeoutError):
        return f"no answer within {settings.timeout_s:g} s, {retries}"
    if isinstance(error, openai.APIConnectionError):
        where = settings.base_url or "the provider"
        return f"connection to {where} failed, {retries}: {error.__cause__ or error}"
    if isinstance(error, openai.AuthenticationError):
        return f"the provider rejected the API key (HTTP 401); check {model.key_variable}"
    if isinstance(error, openai.RateLimitError):
        return f"rate limited (HTTP 429), {retries}"
    if isinstance(error, openai.InternalServerError):
        return f"server error (HTTP {error.status_code}), {retries}: {_detail(error)}"
    if isinstance(error, openai.APIStatusError):
        return f"the provider answered HTTP {error.status_code}: {_detail(error)}"
    return None


def _detail(error: Any) -> str:
    """The provider's own error message, without the SDK's "Error code: N - {...}" wrapping."""
    body = error.body
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or error.message)


def _generic_cause(error: BaseException) -> str | None:
    core = sys.modules.get("langchain_core.exceptions")
    if core is not None and isinstance(error, core.ModelRefusalError):
        return f"the model refused to answer: {error}"
    if type(error).__module__.split(".")[0] in _PROVIDER_PACKAGES:
        return f"{type(error).__name__}: {error}"
    return None
