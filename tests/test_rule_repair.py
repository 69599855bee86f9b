"""Repair with rules: MUST failures of the drafted plan are fed back to the sections they
concern. End to end against the fake server (script mode), and routing without one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from conftest import fake_settings as settings
from pydantic import BaseModel
from typer.testing import CliRunner

from drafter.app.workflow import drafter_for
from drafter.checks.compliance import check
from drafter.checks.report import Finding, Report, Verdict
from drafter.checks.verdicts import BUILT_IN
from drafter.core.errors import ProviderError
from drafter.drafting import Drafted, DraftInputs, llm
from drafter.drafting.offline import OfflineDrafter
from drafter.engine.pipeline import PipelineOptions, draft_plan
from drafter.engine.rule_repair import SECTIONS_BY_CHECK, feedback_for, named_sections
from drafter.inputs import constitution, spec
from drafter.inputs.constitution import Rule
from drafter.model import plan
from drafter.model.sections import SECTIONS, Section, downstream
from drafter.providers.usage import CallUsage
from drafter.testing.fake_openai import FakeOpenAI

EXAMPLE = EXAMPLES / "csv-export"


@pytest.fixture(scope="module")
def inputs() -> DraftInputs:
    return DraftInputs(
        spec=spec.load(EXAMPLE / "SPEC.md"),
        constitution=constitution.load(EXAMPLE / "constitution.md"),
    )


@pytest.fixture(scope="module")
def good(inputs: DraftInputs) -> plan.Plan:
    """A plan that breaks no MUST rule the checks decide (the offline draft of the example)."""
    drafted = draft_plan(inputs, OfflineDrafter()).plan
    assert not check(drafted, inputs.spec, inputs.constitution).must_failed
    return drafted


@pytest.fixture(scope="module")
def untested_first(good: plan.Plan, inputs: DraftInputs) -> plan.StepsSection:
    """The good plan's steps with every phase's test steps moved after its other steps."""
    phases = [
        phase.model_copy(
            update={"steps": sorted(phase.steps, key=lambda s: s.description.startswith("Write"))}
        )
        for phase in good.steps.phases
    ]
    steps = good.steps.model_copy(update={"phases": phases})
    report = check(good.model_copy(update={"steps": steps}), inputs.spec, inputs.constitution)
    assert [v.value for v in report.verdicts if v.rule.id == "C-I.1"] == ["fail"]
    return steps


@pytest.fixture
def fake(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, good: plan.Plan) -> FakeOpenAI:
    server.reset()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for section in SECTIONS:
        if section.name != "steps":
            server.enqueue(section.model.__name__, getattr(good, section.name).model_dump())
    return server


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(section, request message text) of every drafting request, in order."""
    sent: list[tuple[str, str]] = []
    real = llm._request

    def spy(section: Section, upstream: Mapping[str, BaseModel], feedback: Sequence[str]) -> Any:
        message = real(section, upstream, feedback)
        sent.append((section.name, str(message.content)))
        return message

    monkeypatch.setattr(llm, "_request", spy)
    return sent


def test_a_test_first_failure_redrafts_the_steps_with_the_rule_in_its_feedback(
    fake: FakeOpenAI,
    inputs: DraftInputs,
    good: plan.Plan,
    untested_first: plan.StepsSection,
    requests: list[tuple[str, str]],
    tmp_path: Path,
) -> None:
    fake.enqueue("StepsSection", untested_first.model_dump(), good.steps.model_dump())
    config = settings(fake, tmp_path)
    drafter, options = drafter_for(config, inputs)

    outcome = draft_plan(inputs, drafter, options)

    assert [name for name, _ in requests].count("steps") == 2
    assert len(requests) == len(SECTIONS) + 1  # steps has no downstream section
    first, repair = [text for name, text in requests if name == "steps"]
    assert "C-I.1" not in first.split("# Your task")[1]
    assert "Your answer above has these problems" in repair
    assert "C-I.1 (MUST rule of the constitution: Tests MUST be written before" in repair
    assert "implementation before tests" in repair
    assert outcome.report is not None and not outcome.report.must_failed
    assert outcome.plan.steps == good.steps
    rows = {row.section: row for row in outcome.usage.sections}
    assert (rows["steps"].calls, rows["steps"].repairs) == (2, 1)
    assert outcome.usage.total.repairs == 1
    assert rows["judge"].calls == fake.stats.by_schema["RuleVerdicts"] == 2  # two checks


def test_exhausted_repairs_write_the_plan_and_exit_1(
    fake: FakeOpenAI, untested_first: plan.StepsSection, tmp_path: Path
) -> None:
    from drafter.cli import app

    fake.enqueue("StepsSection", *[untested_first.model_dump()] * 3)
    for name in ("SPEC.md", "constitution.md"):
        (tmp_path / name).write_bytes((EXAMPLE / name).read_bytes())
    args = ["spec-to-plan", str(tmp_path / "SPEC.md"), "--model", "openai:fake"]
    args += ["--base-url", fake.base_url, "--no-cache", "--repair-attempts", "2"]

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 1, result.output
    assert fake.stats.by_schema["StepsSection"] == 3  # the draft and two rule repairs
    written = (tmp_path / "PLAN.md").read_text("utf-8")
    assert "C-I.1" in written
    errors = [line for line in result.stderr.splitlines() if ": error: C-I.1 " in line]
    assert len(errors) == 1 and "implementation before tests" in errors[0]
    assert errors[0].startswith(f"{tmp_path / 'PLAN.md'}:")


# --- the repair loop with an in-process drafter ----------------------------------------------


class CountingDrafter:
    """The offline drafter, recording each call's section and feedback."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.offline = OfflineDrafter()

    async def draft_section(
        self,
        section: Section,
        inputs: DraftInputs,
        upstream: Mapping[str, BaseModel],
        feedback: Sequence[str],
    ) -> Drafted:
        self.calls.append((section.name, tuple(feedback)))
        return await self.offline.draft_section(section, inputs, upstream, feedback)


class FailingJudge:
    """Fails rule `rule_id` with `evidence` the first `times` checks, then passes it."""

    def __init__(self, rule_id: str, evidence: str, times: int) -> None:
        self.rule_id, self.evidence, self.times = rule_id, evidence, times
        self.checks = 0
        self.usage = CallUsage()
        self.split = 1

    async def __call__(self, verdicts: list[Verdict], plan: plan.Plan) -> list[Verdict]:
        self.checks += 1
        value = "fail" if self.checks <= self.times else "pass"
        return [
            Verdict(rule=v.rule, value=value, evidence=self.evidence, method="judge")
            if v.rule.id == self.rule_id
            else v
            for v in verdicts
        ]


def repaired(inputs: DraftInputs, judge: FailingJudge, attempts: int = 2) -> Any:
    drafter = CountingDrafter()
    options = PipelineOptions(repair_attempts=attempts, repair_rules=True, judge=judge)
    return drafter, draft_plan(inputs, drafter, options)


def test_a_failure_redrafts_its_section_and_the_ones_downstream(inputs: DraftInputs) -> None:
    judge = FailingJudge("C-II.1", '"GET /api/lists" (testing) — no ownership test', times=1)
    drafter, outcome = repaired(inputs, judge)

    redrafted = drafter.calls[len(SECTIONS) :]
    assert {name for name, _ in redrafted} == downstream({"testing"})
    assert len(redrafted) == len(downstream({"testing"}))
    feedback = {name: lines for name, lines in redrafted}
    assert feedback["testing"][0].startswith("C-II.1 (MUST rule of the constitution: Endpoints")
    assert feedback["steps"] == feedback["verification"] == ()  # redrafted on the new testing
    assert judge.checks == 2 and not outcome.report.must_failed
    repairs = {row.section: row.repairs for row in outcome.usage.sections}
    assert repairs == {name: int(name == "testing") for name in repairs}


def test_a_failure_that_names_no_section_is_reported_not_repaired(inputs: DraftInputs) -> None:
    judge = FailingJudge("C-II.1", '"Reading Lists" — ownership is never mentioned', times=9)
    drafter, outcome = repaired(inputs, judge)
    assert len(drafter.calls) == len(SECTIONS)
    assert judge.checks == 1
    assert outcome.report is not None and outcome.report.must_failed


def test_rounds_stop_at_repair_attempts_and_the_last_check_is_final(
    inputs: DraftInputs,
) -> None:
    judge = FailingJudge("C-II.1", '"x" (open_issues) — still missing', times=9)
    drafter, outcome = repaired(inputs, judge, attempts=3)
    assert [name for name, _ in drafter.calls].count("open_issues") == 1 + 3
    assert judge.checks == 1 + 3
    assert outcome.report is not None and outcome.report.must_failed


def test_a_failed_redraft_keeps_the_previous_sections_and_stops(inputs: DraftInputs) -> None:
    class FailingOnRepair(CountingDrafter):
        async def draft_section(
            self,
            section: Section,
            inputs: DraftInputs,
            upstream: Mapping[str, BaseModel],
            feedback: Sequence[str],
        ) -> BaseModel:
            if feedback:
                self.calls.append((section.name, tuple(feedback)))
                raise ProviderError("refused", section.name)
            return await super().draft_section(section, inputs, upstream, feedback)

    judge = FailingJudge("C-II.1", '"x" (testing) — still missing', times=9)
    drafter = FailingOnRepair()
    options = PipelineOptions(repair_attempts=2, repair_rules=True, judge=judge, validate=False)
    outcome = draft_plan(inputs, drafter, options)
    first = draft_plan(inputs, OfflineDrafter()).plan
    assert [name for name, _ in drafter.calls].count("testing") == 2  # no second round
    assert judge.checks == 2
    assert (outcome.plan.testing, outcome.plan.steps) == (first.testing, first.steps)
    assert outcome.report is not None and outcome.report.must_failed


def test_without_rule_repair_the_pipeline_does_not_check() -> None:
    assert PipelineOptions().repair_rules is False
    assert PipelineOptions().judge is None


# --- routing ---------------------------------------------------------------------------------


def rule(text: str, level: Any = "MUST") -> Rule:
    return Rule(id="C-I.1", level=level, category="coding", text=text, principle="I", line=1)


def test_every_built_in_check_has_a_route() -> None:
    assert {check.__name__ for check in BUILT_IN} == set(SECTIONS_BY_CHECK)


@pytest.mark.parametrize(
    ("text", "section"),
    [
        ("Tests MUST be written before the code they cover.", "steps"),
        ("Every HTTP endpoint MUST have an integration test.", "testing"),
        ("Services MUST use structured logging.", "error_handling"),
        ("The service MUST have no more than 1 component.", "components"),
        ("All code MUST use Go 1.22.", "architecture"),
    ],
)
def test_a_failing_check_routes_to_its_section(
    text: str, section: str, good: plan.Plan, inputs: DraftInputs
) -> None:
    failing = good.model_copy(
        update={
            "error_handling": good.error_handling.model_copy(update={"logging": []}),
            "testing": good.testing.model_copy(
                update={"suites": [s for s in good.testing.suites if s.level != "integration"]}
            ),
        }
    )
    if section == "steps":
        phases = [p.model_copy(update={"steps": p.steps[::-1]}) for p in good.steps.phases]
        failing = failing.model_copy(
            update={"steps": good.steps.model_copy(update={"phases": phases})}
        )
    from drafter.checks.verdicts import judge

    constitution_ = inputs.constitution.model_copy(  # type: ignore[union-attr]
        update={"rules": (rule(text),), "checks": ()}
    )
    (verdict,) = judge(constitution_, failing, inputs.spec)
    assert verdict.value == "fail", verdict.evidence
    report = Report(findings=(), verdicts=(verdict,), constitution_found=True, warnings=())
    assert set(feedback_for(report, failing, inputs.spec)) == {section}


def test_structural_findings_route_by_their_section(good: plan.Plan) -> None:
    findings = (
        Finding(
            rule_id="DR003", severity="error", message="FR-001 needs a test", section="testing"
        ),
        Finding(rule_id="DR009", severity="error", message="carry it", section="open_issues"),
        Finding(rule_id="DR011", severity="warning", message="an estimate", section="steps"),
        Finding(rule_id="C-I.1", severity="error", message="MUST rule not met"),  # a verdict's
    )
    report = Report(findings=findings, verdicts=(), constitution_found=True, warnings=())
    assert feedback_for(report, good, None) == {
        "testing": ["DR003: FR-001 needs a test"],
        "open_issues": ["DR009: carry it"],
    }


def test_should_failures_are_not_repaired(good: plan.Plan) -> None:
    verdict = Verdict(rule=rule("x", "SHOULD"), value="fail", evidence="(steps)", method="judge")
    report = Report(findings=(), verdicts=(verdict,), constitution_found=True, warnings=())
    assert feedback_for(report, good, None) == {}


@pytest.mark.parametrize(
    ("evidence", "sections"),
    [
        ("require count(components.components) <= 3: count is 4", ("components",)),
        ("all 2 endpoints have an integration test case (api, testing)", ("api", "testing")),
        (
            "the plan states no logging strategy (error_handling.logging is empty)",
            ("error_handling",),
        ),
        ('"Phase 1" (steps) — tests come late', ("steps",)),
        ("the security of the api (the testing suite)", ()),
        ("no section here", ()),
    ],
)
def test_sections_named_by_evidence(evidence: str, sections: tuple[str, ...]) -> None:
    assert named_sections(evidence) == sections
