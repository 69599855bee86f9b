"""`drafter check` as a library call: read a PLAN.md back, check it, locate every finding.

Findings land on the line of the file where the fault is: the plan line for what the plan
lacks or gets wrong, the constitution line when a rule's own declared check is broken. Where a
second file explains a finding (the spec line that defines an untraced requirement, the
constitution line that states a failed rule) it is attached as a related location.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from drafter.checks import compliance, grounding
from drafter.checks.report import Finding, Report, Verdict
from drafter.core import config
from drafter.core.errors import InputError
from drafter.document import layout as document
from drafter.document import readback, trailer
from drafter.document.trailer import Trailer
from drafter.engine.update import changed_requirements, inputs_digest
from drafter.inputs.constitution import Constitution
from drafter.inputs.spec import Spec
from drafter.model.plan import Plan

SPEC_NAMES = ("SPEC.md", "spec.md", "requirements.md", "proposal.md")
STALE_RULE = "DR-STALE"
STALE_RULE_TITLE = "the spec or constitution changed since the plan was drafted"

# Rule IDs drafter itself reports, with their short descriptions (for SARIF and the docs).
DRAFTER_RULES: dict[str, str] = {
    **{rule.id: rule.title for rule in compliance.RULES.values()},
    readback.READ_RULE: readback.READ_RULE_TITLE,
    STALE_RULE: STALE_RULE_TITLE,
    grounding.RULE_ID: grounding.RULE_TITLE,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Location(_Model):
    file: Path
    line: int
    col: int = 1
    message: str


class Diagnostic(_Model):
    """A located finding and the other places that explain it."""

    finding: Finding
    related: tuple[Location, ...] = ()


class TracedStep(_Model):
    number: int  # as numbered in the plan
    phase: str
    text: str


class TracedTest(_Model):
    level: str
    file: str
    case: str


class TraceRow(_Model):
    """One requirement and what in the plan serves it."""

    id: str
    kind: str
    priority: str
    components: tuple[str, ...]
    files: tuple[str, ...]
    steps: tuple[TracedStep, ...]
    tests: tuple[TracedTest, ...]
    checks: tuple[str, ...]

    @property
    def traced(self) -> bool:
        return bool(self.steps and self.tests)


class CheckResult(_Model):
    plan_path: Path
    spec_path: Path
    constitution_path: Path | None
    plan: Plan | None  # None when the file could not be read back as a plan
    report: Report | None  # None with it
    diagnostics: tuple[Diagnostic, ...]
    traceability: tuple[TraceRow, ...]
    spans: dict[str, readback.Span]
    warnings: tuple[str, ...]

    @property
    def failed(self) -> bool:
        """True when a MUST rule (any rule reported as an error) fails."""
        return any(d.finding.severity == "error" for d in self.diagnostics)


def shown(path: Path) -> Path:
    """`path` relative to the working directory when it lies under it (as editors list it)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def find_spec(plan_path: Path) -> Path | None:
    """The spec beside a plan, by the names drafter reads."""
    directory = plan_path.parent
    return next((directory / n for n in SPEC_NAMES if (directory / n).is_file()), None)


def _read_text(path: Path, what: str) -> str:
    if not path.exists():
        raise InputError(f"{what} not found: {path}")
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory; give a file")
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{what} {path} is not UTF-8 text (byte {error.start})") from error
    except OSError as error:
        raise InputError(f"cannot read {what} {path}: {error.strerror}") from error


def check_plan(
    plan_path: Path, spec_path: Path | None = None, constitution_path: Path | None = None
) -> CheckResult:
    """Read back and check one PLAN.md. Bad input raises `InputError` (exit 2)."""
    from drafter.app.workflow import load_inputs

    text = _read_text(plan_path, "plan")
    body, stamp = trailer.split(text)
    if spec_path is None and stamp is not None:
        spec_path = stamp.spec_path(plan_path)
        if constitution_path is None:
            constitution_path = stamp.constitution_path(plan_path)
    if spec_path is None or not spec_path.is_file():
        spec_path = find_spec(plan_path)
        if spec_path is None:
            raise InputError(
                f"no spec recorded in {plan_path} or beside it (looked for "
                f"{', '.join(SPEC_NAMES)}); give one with --spec"
            )
    settings = config.load(spec_path.parent, {})
    inputs, warnings = load_inputs(spec_path, constitution_path, settings)
    spec, rules = inputs.spec, inputs.constitution
    read = readback.read(body)
    findings = [f.model_copy(update={"file": plan_path}) for f in read.findings]
    report = None
    rows: tuple[TraceRow, ...] = ()
    if read.plan is not None:
        report = compliance.check(read.plan, spec, rules)
        placed = document.place(report.findings, body, plan_path)
        compliance_lines = read.spans["compliance"]
        skip = range(compliance_lines.start, compliance_lines.end + 1)
        verdicts = {v.rule.id: v for v in report.verdicts}
        findings.extend(
            _locate_verdict(f, verdicts[f.rule_id], read.plan, body, skip)
            if f.rule_id in verdicts
            else f
            for f in placed
        )
        grounded = grounding.missing_paths(read.plan, inputs.repository)
        findings.extend(document.place(grounded, body, plan_path))
        rows = traceability(read.plan, spec)
    if stamp is not None and stamp.inputs != inputs_digest(inputs):
        findings.extend(_stale(plan_path, text, body, stamp, spec))
    diagnostics = tuple(
        Diagnostic(
            finding=f.model_copy(update={"file": shown(f.file or plan_path)}),
            related=tuple(
                r.model_copy(update={"file": shown(r.file)}) for r in _related(f, spec, rules)
            ),
        )
        for f in findings
    )
    return CheckResult(
        plan_path=plan_path,
        spec_path=spec_path,
        constitution_path=rules.path if rules else None,
        plan=read.plan,
        report=report,
        diagnostics=diagnostics,
        traceability=rows,
        spans=read.spans,
        warnings=tuple(warnings),
    )


def as_json(result: CheckResult) -> dict[str, Any]:
    """What `drafter check --format json` prints (and the MCP tool check_plan returns)."""
    verdicts = result.report.verdicts if result.report else ()
    return {
        "plan": str(result.plan_path),
        "spec": str(result.spec_path),
        "constitution": str(result.constitution_path) if result.constitution_path else None,
        "read_back": result.plan is not None,
        "must_failed": result.failed,
        "findings": [
            {
                **d.finding.model_dump(mode="json", exclude={"anchor"}),
                "text": d.finding.format(),
                "related": [r.model_dump(mode="json") for r in d.related],
            }
            for d in result.diagnostics
        ],
        "verdicts": [
            {
                "rule": v.rule.id,
                "level": v.rule.level,
                "category": v.rule.category,
                "value": v.value,
                "method": v.method,
                "evidence": v.evidence,
            }
            for v in verdicts
        ],
        "traceability": [
            {**row.model_dump(mode="json"), "traced": row.traced} for row in result.traceability
        ],
        "sections": {name: span.model_dump() for name, span in result.spans.items()},
        "warnings": list(result.warnings),
    }


def _stale(plan_path: Path, text: str, body: str, stamp: Trailer, spec: Spec) -> list[Finding]:
    """DR-STALE: one warning per requirement added, removed or reworded since drafting (at
    the first plan line tagged with it), or one for the whole plan when the trailer records
    no requirements or the change lies elsewhere (spec prose, the constitution)."""
    last_line = len(text.splitlines())
    recorded = stamp.requirements
    changed = changed_requirements(recorded, spec) if recorded else []
    if not changed:
        return [
            Finding(
                rule_id=STALE_RULE,
                severity="warning",
                message=(
                    f"{spec.path.name} or the constitution changed since this plan was drafted; "
                    "review the plan against the changes or re-draft it with drafter spec-to-plan"
                ),
                file=plan_path,
                line=last_line,
            )
        ]
    before = set(recorded)
    now = {r.id for r in spec.requirements}
    lines = body.splitlines()
    findings = []
    for rid in changed:
        since = "since this plan was drafted"
        if rid not in before:
            what = f"{rid} is new in {spec.path.name} {since}; plan steps and tests for it"
        elif rid not in now:
            what = f"{rid} was removed from {spec.path.name} {since}; drop or retag its items"
        else:
            what = f"{rid} was reworded in {spec.path.name} {since}; review the items tagged {rid}"
        tag = re.compile(rf"[\[ ]{re.escape(rid)}[\],]")
        line, col = next(
            ((n, m.start() + 2) for n, row in enumerate(lines, 1) if (m := tag.search(row))),
            (last_line, 1),
        )
        findings.append(
            Finding(
                rule_id=STALE_RULE,
                severity="warning",
                message=what,
                file=plan_path,
                line=line,
                col=col,
            )
        )
    return findings


# --- locating ------------------------------------------------------------------------------------

_QUOTED = re.compile(r"'([^']{4,}?)(?:\.\.\.)?'|\"([^\"]{4,}?)(?:\.\.\.)?\"")


def _locate_verdict(
    finding: Finding,
    verdict: Verdict,
    plan: Plan,
    body: str,
    skip: range,
) -> Finding:
    """Move a constitution rule's finding from the rule's row in the (computed) Compliance
    Check to what its evidence names: a quoted plan text, or an endpoint."""
    needles = [a or b for a, b in _QUOTED.findall(verdict.evidence)]
    needles += [
        f"**{e.method} {e.path}**"
        for e in plan.api.endpoints
        if f"{e.method} {e.path}" in verdict.evidence
    ]
    lines = body.splitlines()
    for needle in needles:
        for number, line in enumerate(lines, 1):
            column = line.find(needle)
            if column >= 0 and number not in skip:
                return finding.model_copy(update={"line": number, "col": column + 1})
    if finding.rule_id not in lines[finding.line - 1]:
        # The plan's Compliance Check predates this rule: point at the section itself.
        return finding.model_copy(update={"line": skip.start, "col": 1})
    return finding


_SPEC_LINE = re.compile(r"\bspec line (\d+)\b")
_ID_TOKEN = re.compile(r"[^\s,;:()\[\]]+")


def _related(finding: Finding, spec: Spec, rules: Constitution | None) -> tuple[Location, ...]:
    related: list[Location] = []
    if rules is not None:
        rule = next((r for r in rules.rules if r.id == finding.rule_id), None)
        if rule is not None:
            related.append(
                Location(
                    file=rule.source or rules.path,
                    line=rule.line,
                    message="the rule is stated here",
                )
            )
    if finding.rule_id in ("DR003", "DR008", STALE_RULE):
        defined = _definitions(spec)
        for token in dict.fromkeys(_ID_TOKEN.findall(finding.message)):
            if token in defined:
                file, line = defined[token]
                related.append(Location(file=file, line=line, message=f"{token} is defined here"))
    if finding.rule_id == "DR009" and (marker := _SPEC_LINE.search(finding.message)):
        related.append(
            Location(file=spec.path, line=int(marker.group(1)), message="the clarification is here")
        )
    return tuple(related)


def _definitions(spec: Spec) -> dict[str, tuple[Path, int]]:
    """Where each ID the spec defines is defined."""
    places: dict[str, tuple[Path, int]] = {}
    for story in spec.stories:
        places[story.id] = (spec.path, story.line)
    for edge in spec.edge_cases:
        places[edge.id] = (spec.path, edge.line)
    for scenario in spec.scenarios:
        places[scenario.id] = (scenario.source or spec.path, scenario.line)
    for requirement in spec.requirements:
        places[requirement.id] = (requirement.source or spec.path, requirement.line)
    return places


# --- traceability --------------------------------------------------------------------------------


def traceability(plan: Plan, spec: Spec) -> tuple[TraceRow, ...]:
    """Requirement → components, files, steps, tests and verification checks, from the
    requirement IDs the plan's items carry (the same tags as the rendered coverage table)."""
    priority = compliance.priorities(plan, spec)
    numbered = [
        (number, phase.name, step)
        for number, (phase, step) in enumerate(
            ((phase, step) for phase in plan.steps.phases for step in phase.steps), 1
        )
    ]
    checks = [
        *plan.verification.success_criteria,
        *(check for group in plan.verification.manual for check in group.checks),
    ]
    rows = []
    for requirement in spec.requirements:
        rid = requirement.id
        components: list[str] = []
        files: list[str] = []
        for component in plan.components.components:
            paths = [f.path for f in component.new_files if rid in f.requirement_ids] + [
                f.path
                for f in component.modified_files
                if any(rid in change.requirement_ids for change in f.changes)
            ]
            if paths:
                components.append(component.name)
                files.extend(paths)
        rows.append(
            TraceRow(
                id=rid,
                kind=requirement.kind.replace("_", "-"),
                priority=priority.get(rid, "unranked"),
                components=tuple(components),
                files=tuple(dict.fromkeys(files)),
                steps=tuple(
                    TracedStep(number=n, phase=name, text=step.description)
                    for n, name, step in numbered
                    if rid in step.requirement_ids
                ),
                tests=tuple(
                    TracedTest(level=suite.level, file=suite.file, case=case.description)
                    for suite in plan.testing.suites
                    for case in suite.cases
                    if rid in case.requirement_ids
                ),
                checks=tuple(check.text for check in checks if rid in check.requirement_ids),
            )
        )
    return tuple(rows)
