"""Drafters fill one plan section at a time; the offline and LLM drafters share this protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel

from drafter.core.errors import ProviderError
from drafter.inputs.constitution import Constitution
from drafter.inputs.repository import Repository
from drafter.inputs.spec import Spec
from drafter.model.sections import Section, Upstream
from drafter.providers.usage import CallUsage

NO_COST = CallUsage()


@dataclass(frozen=True)
class DraftInputs:
    """What every section is drafted from."""

    spec: Spec
    constitution: Constitution | None
    # None: no repository found, or --no-repo. Left out of hashing: one context per run.
    repository: Repository | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Drafted:
    """A drafted section and what drafting it cost."""

    section: BaseModel
    usage: CallUsage = NO_COST


class AnswerInvalid(ProviderError):
    """The answer does not fit the section's schema; the engine asks again with `errors`."""

    def __init__(self, errors: Sequence[str], section: str, usage: CallUsage = NO_COST) -> None:
        super().__init__(f"the answer does not fit the schema: {'; '.join(errors)}", section)
        self.errors = tuple(errors)
        self.usage = usage


class Drafter(Protocol):
    """Drafts one section from the inputs and the sections it depends on."""

    name: str  # "offline", or the model, e.g. "openai:gpt-4o-mini"

    async def draft_section(
        self,
        section: Section,
        inputs: DraftInputs,
        upstream: Upstream,
        feedback: Sequence[str],
    ) -> Drafted:
        """Draft `section` (an instance of `section.model`) and say what it cost.

        `upstream` holds exactly the drafted sections `section.depends_on` names (reading
        another raises); `feedback` holds the validation errors of the previous attempt (empty
        on the first one). May raise `AnswerInvalid` for an answer that does not fit the
        schema (it is then repaired), and other `DrafterError`s for failures a repair cannot
        fix (a `ProviderFailure` says what the failed call cost).
        """
        ...
