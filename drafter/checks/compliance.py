"""Check a plan: structural rules (DR###) and the constitution's rules, into a `Report`.

Structural rules hold for every plan whoever drafted it. Their messages are written for the
reader who must fix them: the model in the repair loop, the person in the editor.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from drafter.checks import content
from drafter.checks.report import Finding, Report, Verdict
from drafter.inputs.constitution import Constitution
from drafter.inputs.spec import Spec
from drafter.model import plan as p
from drafter.providers.usage import CallUsage

# Bracketed placeholders of the seed template, and its example content.
_SEED_PLACEHOLDERS = re.compile(
    r"\[(?:Feature Name|feature name|Component(?: \d+| Name)?|Technology|Why chosen|path|"
    r"What this (?:file contains|component does)|Description|Purpose|Reason|Name|Names|Date|"
    r"Where and why it's used|Brief description[^\]]*|new dependency|Total hours/days|"
    r"Issue \d[^\]]*|Communication plan|commit-hash|fields|data|resources|"
    r"Architecture Documentation|API Documentation|[XYN](?: [^\]]*)?)\]"
)
_RESIDUE = re.compile(
    r"src/\[|\bERR_00\d\b|\bor similar\b|\bTODO\b|\bTBD\b|\[NEEDS CLARIFICATION|"
    r"\bResourceController\b|\bfeature_table\b"
)
_SECRET = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{20,}|ghp_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16})\b"
)
_MERMAID_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Words Mermaid's flowchart and sequence lexers read as keywords (compared case-insensitively):
# as a node or participant ID each one breaks the diagram (`participant actor as …`).
MERMAID_KEYWORDS = frozenset(
    """
    end graph flowchart flowchart-elk subgraph direction style linkstyle classdef class click call
    href default interpolate tb bt rl lr td sequencediagram participant actor as create destroy box
    loop alt else opt par and critical option break rect note over left right of links link
    properties details activate deactivate autonumber off title acctitle accdescr
    """.split()
)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("DR001", "missing section"),
        Rule("DR002", "template placeholder or example content left in the plan"),
        Rule("DR003", "requirement not traced to an implementation step and a test"),
        Rule("DR004", "unknown requirement ID"),
        Rule("DR005", "irreversible migration"),
        Rule("DR006", "absolute or escaping path"),
        Rule("DR007", "empty or broken diagram"),
        Rule("DR008", "success criterion without a verification check"),
        Rule("DR009", "clarification marker not carried to Open Issues"),
        Rule("DR010", "secret-like token in the plan"),
        Rule("DR011", "phase without an estimate"),
        Rule("DR012", "requirement restated without its negation"),
        Rule("DR013", "empty table where the spec has rows for it"),
        Rule("DR014", "identifier listed twice in one file"),
        Rule("DR015", "external system or dependency without evidence"),
    )
}


def _finding(rule_id: str, message: str, section: str, anchor: str | None = None) -> Finding:
    return Finding(
        rule_id=rule_id, severity="error", message=message, section=section, anchor=anchor
    )


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            if name != "requirement_ids":
                yield from _strings(getattr(value, name))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def tagged_ids(value: object) -> set[str]:
    """Every requirement ID tagged anywhere inside `value`."""
    return set().union(*_tagged_items(value))


def known_ids(spec: Spec) -> set[str]:
    """IDs a plan may cite: requirements, stories, scenarios, edge cases."""
    return (
        {r.id for r in spec.requirements}
        | {s.id for s in spec.stories}
        | {s.id for s in spec.scenarios}
        | {e.id for e in spec.edge_cases}
    )


def _paths(section: BaseModel) -> Iterator[str]:
    if isinstance(section, p.ComponentsSection):
        for component in section.components:
            yield from (f.path for f in component.new_files)
            yield from (f.path for f in component.modified_files)
    elif isinstance(section, p.TestingSection):
        yield from (suite.file for suite in section.suites)


def validate_section(name: str, section: BaseModel, spec: Spec) -> list[str]:
    """Problems with one drafted section, phrased for whoever must fix them."""
    return [finding.message for finding in _section_findings(name, section, spec)]


def _section_findings(name: str, section: BaseModel, spec: Spec) -> Iterator[Finding]:
    for text in _strings(section):
        if match := _SEED_PLACEHOLDERS.search(text) or _RESIDUE.search(text):
            yield _finding(
                "DR002",
                f"replace the template residue {match.group(0)!r} with real content "
                f"(in {text[:60]!r})",
                name,
                match.group(0),
            )
        if match := _SECRET.search(text):
            yield _finding(
                "DR010", "remove the secret-like token (never put credentials in a plan)", name
            )
    unknown = sorted(tagged_ids(section) - known_ids(spec))
    if unknown:
        yield _finding(
            "DR004",
            f"cite only IDs the spec defines; unknown: {', '.join(unknown)}",
            name,
            unknown[0],
        )
    for path in _paths(section):
        if (
            path.startswith(("/", "~"))
            or re.match(r"^[A-Za-z]:[\\/]", path)
            or ".." in path.split("/")
        ):
            yield _finding(
                "DR006",
                f"use a repository-relative path inside the repository, not {path!r}",
                name,
                path,
            )
    yield from _structure_findings(name, section)
    yield from content.negation_findings(name, section, spec)
    yield from content.error_table_findings(name, section, spec)


def _structure_findings(name: str, section: BaseModel) -> Iterator[Finding]:
    if isinstance(section, p.DatabaseSection) and section.database is not None:
        for migration in section.database.migrations:
            down = migration.down.strip()
            if not down or re.search(r"irreversible|cannot be (?:undone|reverted)", down, re.I):
                yield _finding(
                    "DR005",
                    f"give migration {migration.name!r} a down migration that reverts its up",
                    name,
                    migration.name,
                )
    elif isinstance(section, p.DatabaseSection) and not section.not_applicable_reason:
        yield _finding("DR001", "either describe the schema or say why none is needed", name)
    if isinstance(section, p.ApiSection) and not (
        section.endpoints or section.not_applicable_reason
    ):
        yield _finding("DR001", "either list endpoints or say why there is no API", name)
    if isinstance(section, p.ArchitectureSection):
        ids = {node.id for node in section.nodes}
        yield from _diagram_findings(
            name, "high-level design", ids, [(e.source, e.target) for e in section.edges]
        )
        if section.nodes and not section.edges:
            yield _finding("DR007", "connect the high-level design's nodes with edges", name)
    if isinstance(section, p.DataFlowSection):
        ids = {participant.id for participant in section.participants}
        yield from _diagram_findings(
            name, "data flow", ids, [(m.source, m.target) for m in section.messages]
        )
    if isinstance(section, p.StepsSection):
        if not section.phases:
            yield _finding("DR001", "plan at least one phase of implementation steps", name)
        for phase in section.phases:
            if not phase.estimate.strip():
                yield _finding("DR011", f"give phase {phase.name!r} an estimate", name, phase.name)


def _diagram_findings(
    section: str, diagram: str, ids: set[str], links: list[tuple[str, str]]
) -> Iterator[Finding]:
    for node_id in sorted(ids):
        if not _MERMAID_ID.match(node_id):
            yield _finding(
                "DR007",
                f"{diagram}: use letters, digits and _ for the diagram id {node_id!r}",
                section,
            )
        elif node_id.lower() in MERMAID_KEYWORDS:
            yield _finding(
                "DR007",
                f"{diagram}: rename the diagram id {node_id!r}: it is a Mermaid keyword, "
                "so the diagram does not render",
                section,
                node_id,
            )
    for source, target in links:
        missing = [end for end in (source, target) if end not in ids]
        if missing:
            yield _finding(
                "DR007",
                f"{diagram}: the link {source} -> {target} names undeclared {', '.join(missing)}",
                section,
            )


def _plan_findings(plan: p.Plan, spec: Spec) -> Iterator[Finding]:
    """Rules that need the whole plan: traceability, success criteria, clarifications."""
    step_ids = tagged_ids(plan.steps)
    test_ids = tagged_ids(plan.testing)
    error_ids = tagged_ids(plan.error_handling)
    for requirement in spec.requirements:
        missing = [
            what
            for what, ids in (("step", step_ids), ("test", test_ids))
            if requirement.id not in ids
        ]
        if missing:
            yield _finding(
                "DR003",
                f"{requirement.id} needs at least one implementation {' and one '.join(missing)}",
                "steps" if "step" in missing else "testing",
                requirement.id,
            )
    for scenario in spec.scenarios:
        if scenario.id not in test_ids:
            yield _finding("DR003", f"scenario {scenario.id} needs a test case", "testing")
    for edge in spec.edge_cases:
        if edge.id not in test_ids | error_ids:
            yield _finding(
                "DR003", f"edge case {edge.id} needs a test case or an error row", "testing"
            )
    verification_ids = tagged_ids(plan.verification)
    for requirement in spec.requirements:
        if requirement.kind == "success" and requirement.id not in verification_ids:
            yield _finding(
                "DR008",
                f"{requirement.id} needs a line under Verification Plan that checks it",
                "verification",
                requirement.id,
            )
    open_text = " ".join(
        issue.text + " " + (issue.source or "") for issue in plan.open_issues.issues
    )
    for marker in spec.clarifications:
        cited = f"line {marker.line}" in open_text or (
            marker.requirement_id is not None and marker.requirement_id in open_text
        )
        if not cited:
            yield _finding(
                "DR009",
                f"carry the clarification at spec line {marker.line} to Open Issues",
                "open_issues",
            )


def structural_findings(plan: p.Plan, spec: Spec) -> list[Finding]:
    """Every structural (DR###) finding of a plan."""
    findings: list[Finding] = []
    for name in type(plan).model_fields:
        section = getattr(plan, name)
        if isinstance(section, BaseModel) and name != "footer":
            findings.extend(_section_findings(name, section, spec))
    findings.extend(_plan_findings(plan, spec))
    findings.extend(content.duplicate_symbol_findings(plan))
    findings.extend(content.evidence_findings(plan, spec))
    return findings


class RuleJudge(Protocol):
    """Decides the rules the checks left undecided (the LLM judge, drafter/engine/judge.py)."""

    usage: CallUsage  # what its calls have cost so far
    split: int  # calls its last judgement needed (more than one: the model's output limit)

    async def __call__(self, verdicts: list[Verdict], plan: p.Plan) -> list[Verdict]:
        """Every verdict, with the undecided rules judged."""
        ...


def check(
    plan: p.Plan,
    spec: Spec,
    constitution: Constitution | None,
    rule_judge: RuleJudge | None = None,
) -> Report:
    """Check a plan against the structural rules and the constitution's rules.

    Without `rule_judge`, a rule no check decides stays `needs_review`.
    """
    if rule_judge is not None:
        return asyncio.run(acheck(plan, spec, constitution, rule_judge))
    from drafter.checks.verdicts import judge

    return _report(plan, spec, constitution, judge(constitution, plan, spec))


async def acheck(
    plan: p.Plan,
    spec: Spec,
    constitution: Constitution | None,
    rule_judge: RuleJudge | None = None,
) -> Report:
    """`check` for callers that already run an event loop."""
    from drafter.checks.verdicts import judge

    verdicts = judge(constitution, plan, spec)
    if rule_judge is not None:
        verdicts = await rule_judge(verdicts, plan)
    return _report(plan, spec, constitution, verdicts)


def _report(
    plan: p.Plan, spec: Spec, constitution: Constitution | None, verdicts: list[Verdict]
) -> Report:
    findings = structural_findings(plan, spec)
    findings.extend(_verdict_findings(verdicts))
    warnings = list(constitution.warnings) if constitution else []
    return Report(
        findings=tuple(findings),
        verdicts=tuple(verdicts),
        constitution_found=constitution is not None,
        warnings=tuple(warnings),
    )


def _verdict_findings(verdicts: list[Verdict]) -> Iterator[Finding]:
    for verdict in verdicts:
        rule = verdict.rule
        if verdict.value == "fail":
            yield Finding(
                rule_id=rule.id,
                severity="error" if rule.mandatory else "warning",
                message=f"{rule.level} rule not met: {verdict.evidence}",
                anchor=rule.id,
            )
        elif verdict.value == "needs_review" and rule.mandatory:
            yield Finding(
                rule_id=rule.id,
                severity="note",
                message=f"{rule.level} rule needs review: {rule.text[:120]}",
                anchor=rule.id,
            )


@dataclass(frozen=True)
class CoverageRow:
    id: str
    kind: str
    priority: str
    files: str
    steps: str
    tests: str
    checks: str


def coverage(plan: p.Plan, spec: Spec) -> list[CoverageRow]:
    """The requirement → files / steps / tests / checks matrix, from the tags in the plan."""
    priority = priorities(plan, spec)
    counts = {
        name: Counter(i for ids in _tagged_items(section) for i in set(ids))
        for name, section in (
            ("files", plan.components),
            ("steps", plan.steps),
            ("tests", plan.testing),
            ("checks", plan.verification),
        )
    }
    return [
        CoverageRow(
            id=requirement.id,
            kind=requirement.kind.replace("_", "-"),
            priority=priority.get(requirement.id, "unranked"),
            **{name: str(counter[requirement.id]) for name, counter in counts.items()},
        )
        for requirement in spec.requirements
    ]


def priorities(plan: p.Plan, spec: Spec) -> dict[str, str]:
    """Each requirement's priority: that of its own story (Kiro), else the best priority of
    the stories whose scenarios are tagged together with it in the plan (spec-kit FRs are
    not tied to stories in the spec itself)."""
    story_of = {s.id: s.story_id for s in spec.scenarios} | {s.id: s.id for s in spec.stories}
    ranked = {s.id: s.priority for s in spec.stories if s.priority}
    best: dict[str, str] = {}

    def consider(requirement_id: str, story_id: str | None) -> None:
        rank = ranked.get(story_id or "")
        if rank and (requirement_id not in best or rank < best[requirement_id]):
            best[requirement_id] = rank

    for requirement in spec.requirements:
        consider(requirement.id, requirement.story_id)
    for section in (plan.steps, plan.testing):
        for ids in _tagged_items(section):
            stories = {story_of[i] for i in ids if i in story_of}
            for requirement_id in ids:
                for story_id in stories:
                    consider(requirement_id, story_id)
    return best


def _tagged_items(value: object) -> Iterator[list[str]]:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            attr = getattr(value, name)
            if name == "requirement_ids":
                yield attr
            else:
                yield from _tagged_items(attr)
    elif isinstance(value, list):
        for item in value:
            yield from _tagged_items(item)
