"""Incremental redrafting that keeps human edits.

PLAN.md's trailer records, per section, the hash of the text drafter wrote (`out`) and the
hash of the inputs it was drafted from (`in`). On a re-run:

- a section whose text no longer matches its `out` hash was edited by a person: it is kept
  byte for byte (and reported stale when its inputs changed since);
- a section whose inputs are unchanged is reused as it was (no model call);
- every other section is redrafted, and so, through the input hashes, is every section
  downstream of one whose output changed.

A section's inputs are: the spec facets it reads (below), the set of requirement IDs, the text
of the requirements its previous version cited, the constitution where it matters, and the
sections it depends on. Changing one requirement's text therefore redrafts the sections that
cite it and what depends on them — not the rest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from drafter.checks.compliance import tagged_ids
from drafter.checks.report import Finding
from drafter.core.errors import OverwriteRefused
from drafter.document import layout as document
from drafter.drafting import Drafter, DraftInputs
from drafter.inputs.spec import Spec
from drafter.model import plan as p
from drafter.model.sections import BY_NAME, SECTIONS, Section

TRAILER_VERSION = 2

# What of the spec each section reads, besides requirement IDs and the requirements it cites.
_FACETS: dict[str, tuple[str, ...]] = {
    "goal": ("title", "summary", "stories"),
    "architecture": ("stories", "entities", "named_paths", "constitution"),
    "open_issues": ("clarifications", "constitution_present"),
    "components": ("stories", "entities", "named_paths"),
    "database": ("entities",),
    "api": ("scenarios",),
    "dependencies": ("assumptions", "constitution"),
    "performance": ("edge_cases",),
    "testing": ("scenarios", "edge_cases"),
    "data_flow": ("stories", "scenarios"),
    "error_handling": ("edge_cases",),
    "security": ("constitution",),
    "rollback": (),
    "steps": ("stories", "scenarios", "edge_cases", "constitution"),
    "verification": ("stories", "edge_cases"),
}


def _digest(*parts: object) -> str:
    payload = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _facet(inputs: DraftInputs, name: str) -> object:
    spec = inputs.spec
    if name == "constitution":
        rules = inputs.constitution.rules if inputs.constitution else ()
        return [(r.id, r.level, r.text) for r in rules]
    if name == "constitution_present":
        return inputs.constitution is not None
    value = getattr(spec, name)
    if isinstance(value, tuple):
        return [
            item.model_dump(exclude={"line", "source"}) if isinstance(item, BaseModel) else item
            for item in value
        ]
    return value


def section_inputs(
    section: Section,
    inputs: DraftInputs,
    cited: set[str],
    upstream: Mapping[str, BaseModel],
) -> str:
    """The input hash of `section`, given the requirement IDs its (previous) text cites."""
    spec = inputs.spec
    texts = sorted((r.id, r.text) for r in spec.requirements if r.id in cited)
    return _digest(
        section.name,
        [_facet(inputs, facet) for facet in _FACETS[section.name]],
        sorted(r.id for r in spec.requirements),
        texts,
        {name: model.model_dump(mode="json") for name, model in sorted(upstream.items())},
    )


def requirement_hashes(spec: Spec) -> dict[str, str]:
    """Per requirement ID, a short hash of its text (for DR-STALE in `drafter check`)."""
    return {r.id: _digest(r.text)[:8] for r in spec.requirements}


def changed_requirements(recorded: Mapping[str, str], spec: Spec) -> list[str]:
    """IDs added, removed or reworded since `recorded` was taken."""
    now = requirement_hashes(spec)
    return sorted(i for i in set(recorded) | set(now) if recorded.get(i) != now.get(i))


@dataclass
class Decisions:
    """What happened to each section in an incremental run."""

    kept: list[str] = field(default_factory=list)  # edited by a person, left as they are
    reused: list[str] = field(default_factory=list)  # inputs unchanged: not redrafted
    redrafted: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # kept although their inputs changed


class ReusingDrafter:
    """Wraps a drafter: returns the previous version of a section when its inputs are
    unchanged (or a person edited it), and drafts it otherwise."""

    def __init__(
        self,
        inner: Drafter,
        previous: Mapping[str, BaseModel],
        recorded_inputs: Mapping[str, str],
        edited: set[str],
        forced: set[str],
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.previous = previous
        self.recorded_inputs = recorded_inputs
        self.edited = edited
        self.forced = forced
        self.decisions = Decisions()

    async def draft_section(
        self,
        section: Section,
        inputs: DraftInputs,
        upstream: Mapping[str, BaseModel],
        feedback: Sequence[str],
    ) -> BaseModel:
        name = section.name
        old = self.previous.get(name)
        cited = tagged_ids(old) if old is not None else set()
        now = section_inputs(section, inputs, cited, upstream)
        unchanged = self.recorded_inputs.get(name) == now
        if old is not None and not feedback and name not in self.forced:
            if name in self.edited:
                self.decisions.kept.append(name)
                if not unchanged:
                    self.decisions.stale.append(name)
                return old
            if unchanged:
                self.decisions.reused.append(name)
                return old
        drafted = await self.inner.draft_section(section, inputs, upstream, feedback)
        if name not in self.decisions.redrafted:
            self.decisions.redrafted.append(name)
        return drafted


def stale_findings(decisions: Decisions, changed_ids: list[str]) -> list[Finding]:
    """One DR-STALE warning per kept section whose inputs changed since it was drafted."""
    detail = f" (changed requirements: {', '.join(changed_ids)})" if changed_ids else ""
    return [
        Finding(
            rule_id="DR-STALE",
            severity="warning",
            message=f"section '{BY_NAME[name].title}' was edited by hand and kept, but its "
            f"inputs changed since it was drafted{detail}; review it or redraft it with "
            f"--section {name}",
            section=name,
        )
        for name in decisions.stale
    ]


class _Trailer(BaseModel):
    """The part of PLAN.md's drafter comment an incremental run reads."""

    model_config = ConfigDict(extra="ignore")

    version: int
    sections: dict[str, dict[str, str]]  # section → {"out": hash, "in": hash}
    requirements: dict[str, str] = {}  # requirement ID → text hash


@dataclass(frozen=True)
class Previous:
    """The PLAN.md on disk, as drafter reads it before an incremental run."""

    lines: list[str]
    spans: dict[str, tuple[int, int]]  # section → (first line, last line), 1-based
    sections: dict[str, BaseModel]  # drafted sections, read back
    recorded: dict[str, dict[str, str]]  # section → {"out": …, "in": …} from the trailer
    edited: set[str]  # sections whose text no longer matches what drafter wrote
    requirements: dict[str, str]  # requirement ID → text hash when it was drafted

    def text_of(self, name: str) -> str:
        start, end = self.spans[name]
        return "\n".join(self.lines[start - 1 : end])


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def span_texts(body: str) -> dict[str, str]:
    """Each section's text in a rendered plan body, by drafter's layout."""
    from drafter.document import readback

    lines = body.splitlines()
    return {
        name: "\n".join(lines[span.start - 1 : span.end])
        for name, span in readback.section_spans(body).items()
    }


def load_previous(path: Path) -> Previous | None:
    """Read an existing PLAN.md for an incremental run.

    Returns None when drafter may simply replace it (an unedited plan from an older drafter).
    Raises OverwriteRefused when replacing it could lose a person's work."""
    from drafter.document import readback

    text = path.read_text("utf-8", errors="replace")
    body, meta = document.split_trailer(text)
    if meta is None:
        raise OverwriteRefused(
            f"{path} has no intact drafter comment at its end, so drafter cannot tell your "
            "edits from its own text; refusing to overwrite it — use --force to replace it"
        )
    try:
        trailer = _Trailer.model_validate(meta)
    except ValidationError:
        trailer = None
    if trailer is None or trailer.version != TRAILER_VERSION:
        if document.edited_by_hand(text):
            raise OverwriteRefused(
                f"{path} was edited since drafter wrote it; refusing to overwrite it — "
                "use --force to replace it"
            )
        return None
    back = readback.read(text)
    if back.plan is None:
        first = back.findings[0].message if back.findings else "unreadable layout"
        raise OverwriteRefused(
            f"{path} no longer has drafter's layout ({first}); refusing to overwrite it — "
            "use --force to replace it"
        )
    lines = body.splitlines()
    spans = {name: (span.start, span.end) for name, span in back.spans.items()}
    recorded = trailer.sections
    edited = {
        name
        for name, (start, end) in spans.items()
        if recorded.get(name, {}).get("out") != text_hash("\n".join(lines[start - 1 : end]))
    }
    return Previous(
        lines=lines,
        spans=spans,
        sections={name: getattr(back.plan, name) for name in BY_NAME},
        recorded=recorded,
        edited=edited,
        requirements=trailer.requirements,
    )


def splice(body: str, previous: Previous, keep: set[str]) -> str:
    """`body` with the sections in `keep` replaced by their text in the previous plan."""
    from drafter.document import readback

    lines = body.splitlines()
    spans = readback.section_spans(body)
    for name in sorted(keep, key=lambda n: spans[n].start, reverse=True):
        span = spans[name]
        lines[span.start - 1 : span.end] = previous.text_of(name).split("\n")
    return "\n".join(lines) + "\n"


def input_hashes(plan: p.Plan, inputs: DraftInputs) -> dict[str, str]:
    """Every drafted section's input hash, from the plan as it stands."""
    return {
        section.name: section_inputs(
            section,
            inputs,
            tagged_ids(getattr(plan, section.name)),
            {dep: getattr(plan, dep) for dep in section.depends_on},
        )
        for section in SECTIONS
    }


def trailer_meta(
    body: str, plan: p.Plan, inputs: DraftInputs, previous: Previous | None, kept: set[str]
) -> dict[str, Any]:
    """The per-section part of the trailer: kept sections keep their recorded hashes, so they
    stay recognisably edited (and stale) on the next run."""
    outs = {name: text_hash(text) for name, text in span_texts(body).items()}
    ins = input_hashes(plan, inputs)
    sections: dict[str, dict[str, str]] = {}
    for name, out in outs.items():
        if previous is not None and name in kept and name in previous.recorded:
            sections[name] = dict(previous.recorded[name])
        else:
            sections[name] = {"out": out, **({"in": ins[name]} if name in ins else {})}
    return {
        "version": TRAILER_VERSION,
        "sections": sections,
        "requirements": requirement_hashes(inputs.spec),
        "spec": inputs.spec.path.name,
    }
