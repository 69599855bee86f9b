"""The one call every model-backed stage makes: `ask(schema, messages) -> Answer`.

The section drafter and the rule judge both go through a `Provider`. Cross-cutting concerns
are providers that wrap another one and are passed in explicitly (`LimitedProvider`,
`CachedProvider`); the cassette is the HTTP transport the chat provider is built with. No
module or context-variable state decides which run a call belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from drafter.core.errors import ProviderError
from drafter.providers.usage import CallUsage

Schema = TypeVar("Schema", bound=BaseModel)


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user"]
    content: str


@dataclass(frozen=True)
class Answer(Generic[Schema]):
    """The provider's answer: `parsed` when it fits the schema, else the `problems` found
    (schema errors addressed to the model, for a repair), and what the call cost."""

    parsed: Schema | None
    usage: CallUsage
    problems: tuple[str, ...] = field(default=())


class ProviderFailure(ProviderError):
    """A call that failed after retries (exit 3), with what it cost before failing."""

    def __init__(self, message: str, usage: CallUsage, section: str | None = None) -> None:
        super().__init__(message, section)
        self.message = message
        self.usage = usage

    def in_section(self, section: str) -> ProviderFailure:
        """The same failure, named after the section that asked."""
        failure = type(self)(self.message, self.usage, section)
        failure.__cause__ = self.__cause__
        return failure


class Provider(Protocol):
    """Answers a structured question; `name` is the model, "provider:name"."""

    name: str

    async def ask(self, schema: type[Schema], messages: Sequence[Message]) -> Answer[Schema]:
        """Ask for an instance of `schema`.

        Returns the answer (possibly with `problems` instead of `parsed`); raises
        `ProviderFailure` when no usable answer came (HTTP errors after retries, refusal, cut
        off at the token limit, a cassette miss) and `InputError` for an unusable setting.
        """
        ...
