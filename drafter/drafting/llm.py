"""The LLM drafter: one structured-output call per section, through LangChain.

LangChain and the provider SDKs are imported inside the functions that use them (they cost
~1.5 s), so importing this module is cheap and offline runs never load them.

Every request is [system prompt, context, request]: the first two are byte-identical for all
sections of a run (the spec and constitution, fenced as data), so providers' prompt caches
reuse them; the request carries the upstream sections' JSON, then the section's instructions,
then, on a repair, the errors of the previous answer.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from drafter.app import batch
from drafter.core.config import Settings
from drafter.core.errors import DrafterError, InputError, ProviderError
from drafter.drafting import AnswerInvalid, DraftInputs, prompts
from drafter.inputs.spec import Spec
from drafter.model.sections import SECTIONS, Section
from drafter.providers import recording, usage
from drafter.providers.cache import ResponseCache

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import Runnable

# The variable each hosted provider's LangChain integration reads its key from.
KEY_VARIABLES: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "google_genai": "GOOGLE_API_KEY",
    "mistralai": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "fireworks": "FIREWORKS_API_KEY",
    "together": "TOGETHER_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "xai": "XAI_API_KEY",
}
# Providers whose integration package drafter declares as an extra (pyproject.toml).
EXTRAS = ("anthropic", "ollama")
# Local OpenAI-compatible servers ignore the key, but the SDK refuses to start without one.
LOCAL_KEY = "not-needed"
# Exceptions raised from these packages are provider failures, not bugs in drafter.
_PROVIDER_PACKAGES = frozenset(
    {"openai", "anthropic", "httpx", "httpx2", "httpcore", "ollama", "langchain_core"}
)
_MAX_ERRORS = 10  # schema errors fed back per repair: enough to fix, few enough to read


class LLMDrafter:
    """Drafts sections with `settings.model` ("provider:name"), e.g. "openai:gpt-4o-mini".

    Raises `InputError` at construction for an unusable model setting: no provider, unknown
    provider, integration package not installed, or the provider's key variable unset.
    """

    def __init__(self, settings: Settings) -> None:
        if not settings.model:
            raise InputError("no model configured: set --model provider:name")
        self.name = settings.model
        self._settings = settings
        self._provider, self._model_name = _split_model(settings.model, settings.base_url)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._structured = self._build()
        self._contexts: dict[DraftInputs, list[BaseMessage]] = {}
        self._cache = ResponseCache(settings)

    async def draft_section(
        self,
        section: Section,
        inputs: DraftInputs,
        upstream: Mapping[str, BaseModel],
        feedback: Sequence[str],
    ) -> BaseModel:
        runnable = self._runnable(section)
        messages = [*self._context(inputs), _request(section, upstream, feedback)]
        cached = self._cache.get(section, messages)
        if cached is not None:
            return cached
        record = usage.current()
        if record is not None:
            record.calls += 1
        try:
            async with batch.call_slot():  # the bound shared by a batch's specs, if any
                result = await runnable.ainvoke(messages)
        except Exception as error:
            self._raise_failure(error, section.name)
            raise
        raw = result["raw"]
        if record is not None and raw.usage_metadata:
            details = raw.usage_metadata.get("input_token_details") or {}
            record.add_tokens(
                raw.usage_metadata["input_tokens"],
                details.get("cache_read", 0),
                raw.usage_metadata["output_tokens"],
            )
        if result["parsing_error"] is not None:
            self._raise_failure(result["parsing_error"], section.name)
            raise result["parsing_error"]
        parsed = result["parsed"]
        if not isinstance(parsed, section.model):
            raise ProviderError("the model answered without the section's JSON", section.name)
        self._cache.put(section, messages, parsed)
        return parsed

    def _build(self) -> dict[str, Runnable[Any, Any]]:
        """One structured-output runnable per section, built up front: turning the section
        models into JSON schemas costs ~4 ms each, which would otherwise delay the calls of
        each DAG level one after another."""
        chat = _chat_model(self._settings, self._provider, self._model_name)
        return {
            section.name: chat.with_structured_output(
                section.model, method="json_schema", strict=True, include_raw=True
            )
            for section in SECTIONS
        }

    def _runnable(self, section: Section) -> Runnable[Any, Any]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # The HTTP client's pooled connections belong to the loop they were opened on;
            # a later asyncio.run (a second draft_plan) needs a fresh client.
            if self._loop is not None:
                self._structured = self._build()
            self._loop = loop
        return self._structured[section.name]

    def _context(self, inputs: DraftInputs) -> list[BaseMessage]:
        """The shared prefix of every request for `inputs`, rendered once so it never drifts."""
        if inputs not in self._contexts:
            from langchain_core.messages import HumanMessage, SystemMessage

            self._contexts[inputs] = [
                SystemMessage(prompts.render("system.md.j2")),
                HumanMessage(context_text(inputs)),
            ]
        return self._contexts[inputs]

    def _raise_failure(self, error: BaseException, section: str) -> None:
        """Raise the drafter error `error` stands for; return when it is a bug (re-raise it)."""
        failure = provider_failure(error, section, self._settings, self._provider)
        if failure is error:
            raise failure
        if failure is not None:
            raise failure from error


def _split_model(model: str, base_url: str | None) -> tuple[str, str]:
    provider, colon, name = model.partition(":")
    if colon and provider and name:
        return provider, name
    if base_url:  # a bare model name on an OpenAI-compatible server
        return "openai", model
    raise InputError(
        f"model {model!r} names no provider: write provider:name, e.g. openai:gpt-4o-mini"
    )


def _chat_model(settings: Settings, provider: str, name: str) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    options: dict[str, Any] = {
        key: value
        for key, value in (
            ("base_url", settings.base_url),
            ("temperature", settings.temperature),
            ("max_tokens", settings.max_tokens),
        )
        if value is not None
    }
    if provider in KEY_VARIABLES:
        options |= {
            "api_key": _api_key(provider, settings.base_url),
            "timeout": settings.timeout_s,
            "max_retries": settings.max_retries,
        }
    if provider == "openai":
        import openai

        # One client per model instance: LangChain otherwise shares a cached client whose
        # connections outlive the event loop that opened them.
        options["http_async_client"] = openai.DefaultAsyncHttpxClient(
            event_hooks={"request": [_count_retry]}
        )
    try:
        return init_chat_model(name, model_provider=provider, **options)
    except ImportError as error:
        raise InputError(_install_hint(provider)) from error
    except ValueError as error:
        first_line = str(error).strip().splitlines()[0]
        raise InputError(f"cannot use model {settings.model!r}: {first_line}") from error


def _api_key(provider: str, base_url: str | None) -> str:
    variable = KEY_VARIABLES[provider]
    key = os.environ.get(variable)
    if key:
        return key
    if base_url or recording.replaying():  # nothing checks the key then
        return LOCAL_KEY
    raise InputError(
        f"{variable} is not set: export it to use {provider} models, or point --base-url "
        "at a local OpenAI-compatible server"
    )


def _install_hint(provider: str) -> str:
    if provider in EXTRAS:
        return f"{provider} models need an extra: pip install 'drafter[{provider}]'"
    package = "langchain-" + provider.replace("_", "-")
    return f"{provider} models need LangChain's integration: pip install {package}"


async def _count_retry(request: Any) -> None:
    """httpx request hook: the SDK marks each retry of a request with a retry-count header."""
    record = usage.current()
    if record is not None and request.headers.get("x-stainless-retry-count", "0") != "0":
        record.retries += 1


# --- prompts -------------------------------------------------------------------------------


def _request(
    section: Section, upstream: Mapping[str, BaseModel], feedback: Sequence[str]
) -> BaseMessage:
    from langchain_core.messages import HumanMessage

    text = prompts.render(
        "request.md.j2",
        title=section.title,
        prompt_file=section.prompt_file,
        upstream={name: model.model_dump_json() for name, model in upstream.items()},
    )
    if feedback:
        text += "\n" + prompts.render("repair.md.j2", title=section.title, errors=feedback)
    return HumanMessage(text)


def context_text(inputs: DraftInputs) -> str:
    """The constitution, the spec (and its delta files) fenced as data, and the ID index."""
    spec = inputs.spec
    return prompts.render(
        "context.md.j2",
        spec=_source(spec.path),
        extra_sources=[_source(path) for path in spec.extra_sources],
        constitution=None if inputs.constitution is None else _source(inputs.constitution.path),
        ids=_id_index(spec),
    )


def _source(path: Path) -> dict[str, str]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
    return {"name": path.name, "text": text.rstrip("\n"), "fence": fence_for(text)}


def fence_for(text: str) -> str:
    """A backtick fence longer than any backtick run in `text`, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


_KIND_LABELS = {
    "functional": "requirement",
    "non_functional": "non-functional requirement",
    "success": "success criterion",
    "design": "design requirement",
}


def _id_index(spec: Spec) -> list[dict[str, str]]:
    return [
        *(
            {"id": r.id, "kind": _KIND_LABELS[r.kind], "text": _line(r.text)}
            for r in spec.requirements
        ),
        *({"id": s.id, "kind": "user story", "text": _line(s.title)} for s in spec.stories),
        *({"id": s.id, "kind": "scenario", "text": _line(s.text)} for s in spec.scenarios),
        *({"id": e.id, "kind": "edge case", "text": _line(e.text)} for e in spec.edge_cases),
    ]


def _line(text: str) -> str:
    return " ".join(text.split())


# --- failures ------------------------------------------------------------------------------


def provider_failure(
    error: BaseException, section: str, settings: Settings, provider: str
) -> DrafterError | None:
    """The `DrafterError` a provider-side failure stands for; None for anything else (a bug)."""
    if isinstance(error, DrafterError):
        return error
    if isinstance(error, ValidationError):
        return _invalid_answer(error, section)
    cause = _openai_cause(error, settings, provider) or _generic_cause(error)
    return None if cause is None else ProviderError(cause, section)


def _invalid_answer(error: ValidationError, section: str) -> DrafterError:
    problems = error.errors(include_url=False)
    if any(problem["type"] == "json_invalid" for problem in problems):
        return ProviderError(f"the answer is not valid JSON ({problems[0]['msg']})", section)
    return AnswerInvalid(
        [f"{'.'.join(map(str, p['loc'])) or 'answer'}: {p['msg']}" for p in problems[:_MAX_ERRORS]],
        section,
    )


def _openai_cause(error: BaseException, settings: Settings, provider: str) -> str | None:
    if "openai" not in sys.modules:  # an openai error implies the module is loaded
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
        return f"the provider rejected the API key (HTTP 401); check {KEY_VARIABLES[provider]}"
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
    from langchain_core.exceptions import ModelRefusalError

    if isinstance(error, ModelRefusalError):
        return f"the model refused to answer: {error}"
    vcr_errors = sys.modules.get("vcr.errors")  # only a loaded vcrpy can have raised it
    if vcr_errors is not None and isinstance(
        error, vcr_errors.CannotOverwriteExistingCassetteException
    ):
        return "the cassette has no recorded answer for this request; record it again"
    if type(error).__module__.split(".")[0] in _PROVIDER_PACKAGES:
        return f"{type(error).__name__}: {error}"
    return None
