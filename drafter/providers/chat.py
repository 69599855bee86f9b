"""The provider that really asks a model: LangChain's structured output, one call per ask.

LangChain and the SDKs are imported when the provider is built (they cost ~1.5 s), never on
the offline path. Retries are done here, not by the SDK, so each call's retries are counted in
the usage it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from drafter.core.config import Settings
from drafter.core.errors import DrafterError, InputError
from drafter.providers import failures
from drafter.providers.base import Answer, Message, ProviderFailure, Schema
from drafter.providers.identity import ModelRef
from drafter.providers.usage import CallUsage

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

# Builds the HTTP transport a chat model sends through (a cassette's), one per event loop.
TransportFactory = Callable[[], Any]


class ChatProvider:
    """Asks `settings.model` through LangChain; `transport` routes its HTTP (record/replay).

    Raises `InputError` at construction for an unusable model setting: no provider, unknown
    provider, integration package not installed, or the provider's key variable unset.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: TransportFactory | None = None,
        replaying: bool = False,
        schemas: Sequence[type[BaseModel]] = (),
    ) -> None:
        if not settings.model:
            raise InputError("no model configured: set --model provider:name")
        self.name = settings.model
        self.model = ModelRef.parse(settings.model, settings.base_url)
        if transport is not None and self.model.provider != "openai":
            raise InputError(
                "recording and replaying work with OpenAI-compatible providers "
                f"(openai:… or --base-url), not {self.model.provider}"
            )
        self._settings = settings
        self._key = self.model.api_key(replaying=replaying)
        self._transport = transport
        self._loop: asyncio.AbstractEventLoop | None = None
        self._chat = self._build_chat()  # up front: a bad setting fails before any work
        self._schemas = tuple(schemas)
        self._runnables: dict[type[BaseModel], Runnable[Any, Any]] = {}
        self._prepare()

    async def ask(self, schema: type[Schema], messages: Sequence[Message]) -> Answer[Schema]:
        runnable = self._runnable(schema)
        sent = _langchain_messages(messages)
        retries = 0
        for attempt in range(self._settings.max_retries + 1):
            try:
                result = await runnable.ainvoke(sent)
                break
            except Exception as error:
                failed = CallUsage(calls=1, retries=retries)
                if isinstance(error, ValidationError):  # the SDK parsed the answer itself
                    problems = failures.schema_problems(error)
                    if problems is not None:
                        return Answer(None, failed, problems)
                wait = None if _carried(error) else failures.retry_wait(error, attempt)
                if wait is None or attempt == self._settings.max_retries:
                    raise self._failure(error, failed) from error
                retries += 1
                await asyncio.sleep(wait)
        usage = _usage(result["raw"], retries)
        unparsed = result["parsing_error"]
        if unparsed is not None:
            problems = (
                failures.schema_problems(unparsed)
                if isinstance(unparsed, ValidationError)
                else None
            )
            if problems is None:
                raise self._failure(unparsed, usage) from unparsed
            return Answer(None, usage, problems)
        parsed = result["parsed"]
        if not isinstance(parsed, schema):
            raise ProviderFailure("the model answered without the requested JSON", usage)
        return Answer(parsed, usage)

    def _failure(self, error: BaseException, usage: CallUsage) -> BaseException:
        """The `ProviderFailure` `error` stands for; `error` itself when it is a bug."""
        carried = _carried(error)
        if carried is not None:
            return carried
        cause = failures.cause_of(error, self._settings, self.model)
        return error if cause is None else ProviderFailure(cause, usage)

    def _runnable(self, schema: type[BaseModel]) -> Runnable[Any, Any]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # The HTTP client's pooled connections belong to the loop they were opened on;
            # a later asyncio.run (a second plan) needs a fresh client.
            if self._loop is not None:
                self._chat = self._build_chat()
                self._runnables.clear()
                self._prepare()
            self._loop = loop
        if schema not in self._runnables:
            self._runnables[schema] = self._structured(schema)
        return self._runnables[schema]

    def _prepare(self) -> None:
        """Build the structured-output runnables of the schemas a run will ask for, before
        its first call: turning a model into a JSON schema costs ~4 ms each, which would
        otherwise delay the calls of each DAG level one after another."""
        for schema in self._schemas:
            self._runnables[schema] = self._structured(schema)

    def _structured(self, schema: type[BaseModel]) -> Runnable[Any, Any]:
        return self._chat.with_structured_output(
            schema, method="json_schema", strict=True, include_raw=True
        )

    def _build_chat(self) -> BaseChatModel:
        from langchain.chat_models import init_chat_model

        settings, model = self._settings, self.model
        options: dict[str, Any] = {
            key: value
            for key, value in (
                ("base_url", settings.base_url),
                ("temperature", settings.temperature),
                ("max_tokens", settings.max_tokens),
            )
            if value is not None
        }
        if model.key_variable is not None:
            # max_retries=0: this provider retries, counting each retry in the call's usage.
            options |= {"api_key": self._key, "timeout": settings.timeout_s, "max_retries": 0}
        if model.provider == "openai":
            import openai

            # One client per model instance: LangChain otherwise shares a cached client whose
            # connections outlive the event loop that opened them.
            client_options = {} if self._transport is None else {"transport": self._transport()}
            options["http_async_client"] = openai.DefaultAsyncHttpxClient(**client_options)
        try:
            return init_chat_model(model.name, model_provider=model.provider, **options)
        except ImportError as error:
            raise InputError(model.install_hint()) from error
        except ValueError as error:
            first_line = str(error).strip().splitlines()[0]
            raise InputError(f"cannot use model {settings.model!r}: {first_line}") from error


def _carried(error: BaseException) -> DrafterError | None:
    """A drafter error raised under the SDK (a cassette miss in the transport), which the SDK
    may have wrapped in its own connection error."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DrafterError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _langchain_messages(messages: Sequence[Message]) -> list[Any]:
    from langchain_core.messages import HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage}
    return [kinds[message.role](message.content) for message in messages]


def _usage(raw: Any, retries: int) -> CallUsage:
    metadata = getattr(raw, "usage_metadata", None)
    if not metadata:
        return CallUsage(calls=1, retries=retries)
    details = metadata.get("input_token_details") or {}
    return CallUsage(
        calls=1,
        retries=retries,
        prompt_tokens=metadata["input_tokens"],
        cached_tokens=details.get("cache_read", 0),
        completion_tokens=metadata["output_tokens"],
    )
