"""Repair with rules: redraft the sections a plan's MUST failures concern, with the failures
as feedback (LLM runs, after every section is drafted; see `engine.pipeline.adraft_plan`).

Structural findings carry their section. A failed constitution rule is routed by the built-in
check that decided it, else by the sections its evidence names (a plan path such as
`components.components`, or a parenthesised section name: how the checks and the judge cite
where they looked). A failure that names no section is reported, not repaired.
"""

from __future__ import annotations

import re
import time

from pydantic import BaseModel

from drafter.checks.compliance import acheck
from drafter.checks.report import Report, Verdict
from drafter.checks.verdicts import BUILT_IN
from drafter.core.errors import DrafterError
from drafter.drafting import Drafter, DraftInputs
from drafter.engine.assembly import assemble
from drafter.engine.dag import PipelineOptions, Redo, draft_sections
from drafter.inputs.spec import Spec
from drafter.model.plan import Plan
from drafter.model.sections import BY_NAME, downstream
from drafter.providers.usage import CallUsage, SectionUsage


async def repair(
    inputs: DraftInputs,
    drafter: Drafter,
    options: PipelineOptions,
    drafted: dict[str, BaseModel],
    records: dict[str, SectionUsage],
    rounds: int,
) -> Report:
    """Check the plan; while MUST failures name sections (at most `rounds` times), redraft
    those sections and the ones downstream of them, and check again.

    Updates `drafted` and the usage `records` (plus a "judge" row when `options.judge` is
    set); returns the check of the final plan. A section whose redraft fails keeps its
    previous version (so do the sections after it), and the rounds stop there.
    """
    judged = SectionUsage(section="judge")
    if options.judge is not None:
        records["judge"] = judged
    report = await _check(assemble(inputs, drafted, options.plan_dir), inputs, options, judged)
    for _ in range(rounds):
        feedback = feedback_for(report, assemble(inputs, drafted, options.plan_dir), inputs.spec)
        if not feedback:
            break
        redo = Redo(drafted=dict(drafted), feedback=feedback, sections=downstream(set(feedback)))
        results = await draft_sections(inputs, drafter, options, records, redo)
        drafted.update({n: r for n, r in results.items() if not isinstance(r, DrafterError)})
        report = await _check(assemble(inputs, drafted, options.plan_dir), inputs, options, judged)
        if any(isinstance(r, DrafterError) for r in results.values()):
            break
    return report


async def _check(
    plan: Plan, inputs: DraftInputs, options: PipelineOptions, record: SectionUsage
) -> Report:
    """Check `plan`; the judge's calls (if any) are counted in `record`."""
    judge = options.judge
    before = judge.usage if judge is not None else CallUsage()
    started = time.perf_counter()
    try:
        return await acheck(plan, inputs.spec, inputs.constitution, judge)
    finally:
        record.wall_s += time.perf_counter() - started
        if judge is not None:
            record.add(judge.usage - before)
            if judge.split > 1:
                record.note = f"split in {judge.split} calls: output limit"


# The section a failing built-in check (checks/verdicts.py, by function name) asks to change.
# Every check has an entry (a test keeps it so); an empty one routes by the evidence.
SECTIONS_BY_CHECK: dict[str, tuple[str, ...]] = {
    "_test_first": ("steps",),
    "_endpoint_tests": ("testing",),
    "_requirements_tested": ("testing",),
    "_test_level": ("testing",),
    "_logging": ("error_handling",),
    "_component_limit": ("components",),
    "_size_limit": (),  # never fails: a plan does not fix sizes
    "_required_tool": ("architecture",),
}

_NAMES = "|".join(sorted(BY_NAME, key=len, reverse=True))
_PLAN_PATH = re.compile(rf"(?<![\w.])({_NAMES})\.[a-z_]")
_PARENTHESISED = re.compile(r"\(([^()]*)\)")
_LEADING_NAME = re.compile(rf"^({_NAMES})(?![\w-])")


def feedback_for(report: Report, plan: Plan, spec: Spec | None) -> dict[str, list[str]]:
    """Section name → what its redraft must fix, for every MUST failure that names a section."""
    feedback: dict[str, list[str]] = {}
    for finding in report.findings:
        if finding.severity == "error" and finding.section in BY_NAME:
            feedback.setdefault(finding.section, []).append(f"{finding.rule_id}: {finding.message}")
    for verdict in report.verdicts:
        if verdict.value == "fail" and verdict.rule.mandatory:
            rule = verdict.rule
            line = (
                f"{rule.id} ({rule.level} rule of the constitution: {rule.text}) is not met: "
                f"{verdict.evidence}"
            )
            for name in sections_for(verdict, plan, spec):
                feedback.setdefault(name, []).append(line)
    return feedback


def sections_for(verdict: Verdict, plan: Plan, spec: Spec | None) -> tuple[str, ...]:
    """The sections a failed rule's redraft should change; () when nothing says which."""
    if verdict.method == "deterministic":
        # The first built-in check with an opinion is the one that decided the verdict.
        for check in BUILT_IN:
            if check(verdict.rule, plan, spec) is not None:
                routed = SECTIONS_BY_CHECK.get(check.__name__, ())
                return routed or named_sections(verdict.evidence)
    return named_sections(verdict.evidence)


def named_sections(evidence: str) -> tuple[str, ...]:
    """Sections the evidence names: plan paths (`steps.phases`) and parenthesised names
    (`(api, testing)`, `(error_handling.logging is empty)`), in order of appearance."""
    found = [match.group(1) for match in _PLAN_PATH.finditer(evidence)]
    for group in _PARENTHESISED.findall(evidence):
        for part in re.split(r"[,/]", group):
            if match := _LEADING_NAME.match(part.strip()):
                found.append(match.group(1))
    return tuple(dict.fromkeys(found))
