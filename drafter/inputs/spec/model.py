"""What drafter reads from a spec: the `Spec` and its parts, each with a 1-based source line."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

SpecFormat = Literal["spec-kit", "kiro", "openspec", "generic"]
RequirementKind = Literal[
    "functional",  # FR-001, REQ-…, Kiro acceptance criteria R1.3, OpenSpec requirements
    "non_functional",  # NFR-…
    "success",  # SC-…: measurable outcomes, traced to verification checks
    "design",  # author IDs such as DESIGN-REQ-001 / DOC-REQ-…
]
EarsKind = Literal["when", "if", "while", "where", "ubiquitous"]
DeltaKind = Literal["added", "modified", "removed", "renamed"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requirement(_Frozen):
    """One requirement with a stable ID, e.g. `FR-003`, `SC-002`, `R1.3`, `jobs:stale-recovery`."""

    id: str
    kind: RequirementKind
    text: str
    line: int
    story_id: str | None = None  # Kiro: the `R1` a criterion `R1.3` belongs to
    ears: EarsKind | None = None
    delta: DeltaKind | None = None  # OpenSpec delta section the requirement came from
    maps_to: tuple[str, ...] = ()  # IDs this one cross-references ("Maps to FR-001, FR-002")
    source: Path | None = None  # the file `line` refers to when it is not `Spec.path` (deltas)


class Scenario(_Frozen):
    """An acceptance scenario; ID `US1.2` (story 1, scenario 2) or `<req-id>#2` for OpenSpec."""

    id: str
    story_id: str | None
    text: str
    given: str | None
    when: str | None
    then: str | None
    line: int
    source: Path | None = None  # the file `line` refers to when it is not `Spec.path` (deltas)


class UserStory(_Frozen):
    """A user story: `US1` (spec-kit) or `R1` (Kiro's `### Requirement 1`)."""

    id: str
    title: str
    priority: str | None  # "P1".."P3"; None when the spec ranks nothing (Kiro)
    text: str
    line: int


class Entity(_Frozen):
    name: str
    description: str
    line: int


class EdgeCase(_Frozen):
    id: str  # EC1, EC2 … in document order
    text: str
    line: int


class Clarification(_Frozen):
    """A `[NEEDS CLARIFICATION: …]` marker, with the requirement it sits in, if any."""

    text: str
    line: int
    requirement_id: str | None


class Spec(_Frozen):
    """Everything drafter reads from SPEC.md; each item carries its 1-based source line."""

    path: Path
    format: SpecFormat
    language: str  # "en", "ja", … (by share of non-Latin letters)
    title: str
    summary: str
    created: str | None  # the spec's own date, e.g. from `**Created**:`
    requirements: tuple[Requirement, ...]
    stories: tuple[UserStory, ...]
    scenarios: tuple[Scenario, ...]
    entities: tuple[Entity, ...]
    edge_cases: tuple[EdgeCase, ...]
    clarifications: tuple[Clarification, ...]
    assumptions: tuple[str, ...]
    named_paths: tuple[str, ...]  # repository paths the spec names (OpenSpec Impact, backticks)
    extra_sources: tuple[Path, ...] = ()  # files read besides `path` (OpenSpec delta specs)
    # What was odd about the file and how drafter read it ("requirement 3 appears twice; …"),
    # each said once; the workflow prints them with its own warnings.
    warnings: tuple[str, ...] = ()

    def requirement(self, requirement_id: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == requirement_id), None)


IdentifierKind = Literal[
    "functional", "non_functional", "success", "design", "story", "scenario", "edge_case"
]


class Identifier(_Frozen):
    """One ID a plan may cite, where the spec defines it (`drafter ids`, `--json`)."""

    id: str
    kind: IdentifierKind
    line: int
    source: Path  # the file `line` refers to
    text: str


def identifiers(spec: Spec) -> list[Identifier]:
    """Every ID drafter understood in `spec`, in document order per file."""
    found = [
        Identifier(id=r.id, kind=r.kind, line=r.line, source=r.source or spec.path, text=r.text)
        for r in spec.requirements
    ]
    found += [
        Identifier(id=s.id, kind="story", line=s.line, source=spec.path, text=s.title or s.text)
        for s in spec.stories
        if spec.requirement(s.id) is None  # a story traced as a requirement is listed once
    ]
    found += [
        Identifier(id=s.id, kind="scenario", line=s.line, source=s.source or spec.path, text=s.text)
        for s in spec.scenarios
    ]
    found += [
        Identifier(id=e.id, kind="edge_case", line=e.line, source=spec.path, text=e.text)
        for e in spec.edge_cases
    ]
    order = {path: n for n, path in enumerate((spec.path, *spec.extra_sources))}
    return sorted(found, key=lambda i: (order.get(i.source, len(order)), i.line))
