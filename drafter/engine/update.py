"""Incremental redrafting that keeps human edits.

PLAN.md's trailer (`drafter.document.trailer`) records, per section, the hash of the text
drafter wrote (`out`), the hash of the inputs it was drafted from (`in`) and the drafter that
wrote it. On a re-run:

- a section whose text no longer matches its `out` hash was edited by a person: it is kept
  byte for byte (and reported stale when its inputs changed since);
- a section whose inputs are unchanged and that the same drafter wrote is reused as it was
  (no model call); one another drafter or model wrote is drafted again;
- every other section is redrafted, and so, through the input hashes, is every section
  downstream of one whose output changed.

A run that records or replays a cassette drafts every section (the cassette must hold every
call), and still keeps the edited sections' text.

A section's inputs are: the spec facets it reads (below), the set of requirement IDs, the text
of the requirements its previous version cited, the constitution where it matters, and the
sections it depends on. Changing one requirement's text therefore redrafts the sections that
cite it and what depends on them — not the rest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from drafter.checks.compliance import tagged_ids
from drafter.checks.report import Finding
from drafter.core.errors import OverwriteRefused
from drafter.document import readback, trailer
from drafter.document.trailer import SectionStamp, Trailer
from drafter.drafting import Drafted, Drafter, DraftInputs
from drafter.inputs.spec import Spec
from drafter.model import plan as p
from drafter.model.sections import BY_NAME, SECTIONS, Section, Upstream


def _digest(*parts: object) -> str:
    payload = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _facet(inputs: DraftInputs, name: str) -> object:
    spec = inputs.spec
    if name == "constitution":
        rules = inputs.constitution.rules if inputs.constitution else ()
        return [(r.id, r.level, r.text) for r in rules]
    if name == "constitution_present":  # none, an unfilled template, or one with rules
        if inputs.constitution is None:
            return False
        return "unfilled" if inputs.constitution.unfilled else True
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
        [_facet(inputs, facet) for facet in section.facets],
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
    reused: list[str] = field(default_factory=list)  # inputs and drafter unchanged
    redrafted: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # kept although their inputs changed


class ReusingDrafter:
    """Wraps a drafter for a plan that exists: returns the previous version of a section when
    the same drafter wrote it from the same inputs, keeps edited sections, drafts the rest.

    With `draft_all` (record/replay runs) every section is drafted; edited ones are still
    reported kept, so their text is spliced back into the output.
    """

    def __init__(
        self, inner: Drafter, previous: Previous, forced: set[str], *, draft_all: bool = False
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.previous = previous
        self.forced = forced
        self.draft_all = draft_all
        self.decisions = Decisions()

    async def draft_section(
        self,
        section: Section,
        inputs: DraftInputs,
        upstream: Upstream,
        feedback: Sequence[str],
    ) -> Drafted:
        name = section.name
        old = self.previous.sections.get(name)
        stamp = self.previous.trailer.sections.get(name)
        if old is not None and stamp is not None and not feedback and name not in self.forced:
            cited = tagged_ids(old)
            unchanged = stamp.inputs == section_inputs(section, inputs, cited, upstream)
            if name in self.previous.edited:
                _once(self.decisions.kept, name)
                if not unchanged:
                    _once(self.decisions.stale, name)
                if not self.draft_all:
                    return Drafted(old)
            elif unchanged and stamp.drafter == self.name and not self.draft_all:
                _once(self.decisions.reused, name)
                return Drafted(old)
        drafted = await self.inner.draft_section(section, inputs, upstream, feedback)
        if name not in self.decisions.kept:
            _once(self.decisions.redrafted, name)
        return drafted


def _once(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)


def stale_findings(decisions: Decisions, changed_ids: list[str]) -> list[Finding]:
    """One DR-STALE warning per kept section whose inputs changed since it was drafted."""
    detail = f" (changed requirements: {', '.join(changed_ids)})" if changed_ids else ""
    return [
        Finding(
            rule_id="DR-STALE",
            severity="warning",
            message=f"section '{BY_NAME[name].title}' was edited by hand and kept, but its "
            f"inputs changed since it was drafted{detail}; review it, accept it as current "
            f"with `drafter update --accept {name}`, or redraft it (discarding the edits) "
            f"with --section {name}",
            section=name,
        )
        for name in decisions.stale
    ]


@dataclass(frozen=True)
class Previous:
    """The PLAN.md on disk, as drafter reads it before an incremental run."""

    lines: list[str]
    spans: dict[str, tuple[int, int]]  # section → (first line, last line), 1-based
    sections: dict[str, BaseModel]  # drafted sections, read back
    trailer: Trailer
    edited: set[str]  # sections whose text no longer matches what drafter wrote

    def text_of(self, name: str) -> str:
        start, end = self.spans[name]
        return "\n".join(self.lines[start - 1 : end])


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def span_texts(body: str) -> dict[str, str]:
    """Each section's text in a rendered plan body, by drafter's layout."""
    lines = body.splitlines()
    return {
        name: "\n".join(lines[span.start - 1 : span.end])
        for name, span in readback.section_spans(body).items()
    }


def load_previous(path: Path, text: str) -> Previous | None:
    """Read an existing PLAN.md (`text`, read from `path`) for an incremental run.

    Returns None when drafter may simply replace it: an empty file, or an unedited plan from
    a drafter whose trailer this one cannot use. Raises OverwriteRefused when replacing it
    could lose a person's work."""
    if not text.strip():
        return None  # an empty file is nobody's work
    body, recorded = trailer.split(text)
    if recorded is None:
        raise OverwriteRefused(
            f"{path} has no intact drafter comment at its end, so drafter cannot tell your "
            "edits from its own text; refusing to overwrite it — use --force to replace it"
        )
    if recorded.version < 2 or not recorded.sections:
        if trailer.edited_by_hand(text):
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
    edited = {
        name
        for name, (start, end) in spans.items()
        if (section := recorded.sections.get(name)) is None
        or section.out != text_hash("\n".join(lines[start - 1 : end]))
    }
    return Previous(
        lines=lines,
        spans=spans,
        sections={name: getattr(back.plan, name) for name in BY_NAME},
        trailer=recorded,
        edited=edited,
    )


def splice(body: str, previous: Previous, keep: set[str]) -> str:
    """`body` with the sections in `keep` replaced by their text in the previous plan."""
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


def inputs_digest(inputs: DraftInputs) -> str:
    """A hash of the bytes of everything the plan was drafted from."""
    digest = hashlib.sha256(inputs.spec.path.read_bytes())
    for extra in inputs.spec.extra_sources:
        digest.update(extra.read_bytes())
    if inputs.constitution is not None:
        for source in (inputs.constitution.path, *inputs.constitution.extra_sources):
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def stamp(
    body: str,
    plan: p.Plan,
    inputs: DraftInputs,
    plan_path: Path,
    drafter: str,
    previous: Previous | None = None,
    decisions: Decisions | None = None,
    accepted: AbstractSet[str] = frozenset(),
) -> Trailer:
    """The trailer for `body`, about to be written to `plan_path`.

    Kept (edited) sections keep their recorded stamp, so they stay recognisably edited (and
    stale) on the next run, unless `accepted`: then their stamp records the current inputs.
    Reused sections keep the drafter that wrote them.
    """
    outs = {name: text_hash(text) for name, text in span_texts(body).items()}
    ins = input_hashes(plan, inputs)
    kept = set(decisions.kept) if decisions else set()
    reused = set(decisions.reused) if decisions else set()
    sections: dict[str, SectionStamp] = {}
    for name, out in outs.items():
        before = previous.trailer.sections.get(name) if previous is not None else None
        if before is not None and name in kept and name not in accepted:
            sections[name] = before
        elif before is not None and name in kept | reused:
            sections[name] = SectionStamp(
                out=before.out if name in kept else out,
                inputs=ins.get(name),
                drafter=before.drafter,
            )
        else:
            sections[name] = SectionStamp(out=out, inputs=ins.get(name), drafter=drafter)
    rules = inputs.constitution
    return Trailer(
        version=trailer.VERSION,
        inputs=inputs_digest(inputs),
        spec=trailer.relative(inputs.spec.path, plan_path),
        constitution=None if rules is None else trailer.relative(rules.path, plan_path),
        sections=sections,
        requirements=requirement_hashes(inputs.spec),
    )
