"""The LLM drafter: one structured-output call per section, through a `Provider`.

Every request is [system prompt, context, request]: the first two are byte-identical for all
sections of a run (the spec and constitution, fenced as data), so providers' prompt caches
reuse them; the request carries the upstream sections' JSON, then the section's instructions,
then, on a repair, the errors of the previous answer. The rule judge sends the same prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel

from drafter.core.errors import InputError
from drafter.drafting import AnswerInvalid, Drafted, DraftInputs, placement, prompts, repomap
from drafter.inputs.spec import Spec
from drafter.model.sections import Section, Upstream
from drafter.providers.base import Message, Provider, ProviderFailure


class LLMDrafter:
    """Drafts sections by asking `provider` (see `drafter.providers.stack.build`)."""

    def __init__(self, provider: Provider) -> None:
        self.name = provider.name
        self._provider = provider
        self._prefixes: dict[DraftInputs, list[Message]] = {}

    async def draft_section(
        self,
        section: Section,
        inputs: DraftInputs,
        upstream: Upstream,
        feedback: Sequence[str],
    ) -> Drafted:
        messages = [*self.prefix(inputs), _request(section, upstream, feedback)]
        try:
            answer = await self._provider.ask(section.model, messages)
        except ProviderFailure as failure:
            raise failure.in_section(section.name) from failure.__cause__
        if answer.parsed is None:
            raise AnswerInvalid(answer.problems, section.name, answer.usage)
        return Drafted(answer.parsed, answer.usage)

    def prefix(self, inputs: DraftInputs) -> list[Message]:
        """The shared prefix of every request for `inputs`, rendered once so it never drifts."""
        if inputs not in self._prefixes:
            self._prefixes[inputs] = shared_prefix(inputs)
        return self._prefixes[inputs]


def shared_prefix(inputs: DraftInputs) -> list[Message]:
    """System prompt and context: the first messages of every drafting and judge request."""
    return [
        Message("system", prompts.render("system.md.j2")),
        Message("user", context_text(inputs)),
    ]


# --- prompts -------------------------------------------------------------------------------


def _request(
    section: Section, upstream: Mapping[str, BaseModel], feedback: Sequence[str]
) -> Message:
    text = prompts.render(
        "request.md.j2",
        title=section.title,
        prompt_file=section.prompt_file,
        upstream={name: model.model_dump_json() for name, model in upstream.items()},
    )
    if feedback:
        text += "\n" + prompts.render("repair.md.j2", title=section.title, errors=feedback)
    return Message("user", text)


def context_text(inputs: DraftInputs) -> str:
    """The constitution, the spec (and its delta files) fenced as data, and the ID index."""
    spec = inputs.spec
    return prompts.render(
        "context.md.j2",
        spec=_source(spec.path),
        extra_sources=[_source(path) for path in spec.extra_sources],
        constitution=None if inputs.constitution is None else _source(inputs.constitution.path),
        constitution_extra=[]
        if inputs.constitution is None
        else [_source(path) for path in inputs.constitution.extra_sources],
        ids=_id_index(spec),
        repository=_repository(inputs),
    )


def _repository(inputs: DraftInputs) -> dict[str, str] | None:
    """The repository map (None without a repository: the context is then as it always was)."""
    grounding = placement.ground(inputs)
    if grounding is None:
        return None
    text = repomap.render(grounding)
    return {"name": grounding.repository.root.name, "text": text, "fence": fence_for(text)}


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
