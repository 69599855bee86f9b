"""The LLM judge for prose rules, against the in-process fake server (script mode)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from conftest import fake_settings as settings

from drafter.app.workflow import DraftRequest, drafter_for, spec_to_plan
from drafter.checks.compliance import check
from drafter.checks.report import Report, Verdict
from drafter.checks.verdicts import NO_CHECK
from drafter.core.config import Settings
from drafter.drafting import DraftInputs, prompts
from drafter.drafting.llm import context_text
from drafter.drafting.offline import OfflineDrafter
from drafter.engine.judge import (
    TOKENS_PER_VERDICT,
    JudgedRule,
    LLMJudge,
    PlanText,
    RuleVerdicts,
    undecided,
    verdicts_from,
)
from drafter.engine.pipeline import draft_plan
from drafter.inputs import constitution, spec
from drafter.model.plan import Plan
from drafter.providers.stack import build
from drafter.testing.fake_openai import FakeOpenAI

EXAMPLE = EXAMPLES / "csv-export"
SCHEMA = RuleVerdicts.__name__  # the fake's script key: the json_schema name LangChain sends
OWNERSHIP = "Comply with C-II.1: Endpoints MUST check that the caller owns the resource"


@pytest.fixture(scope="module")
def inputs() -> DraftInputs:
    return DraftInputs(
        spec=spec.load(EXAMPLE / "SPEC.md"),
        constitution=constitution.load(EXAMPLE / "constitution.md"),
    )


@pytest.fixture(scope="module")
def plan(inputs: DraftInputs) -> Plan:
    return draft_plan(inputs, OfflineDrafter()).plan


def judged(report: Report, rule_id: str) -> Verdict:
    return next(v for v in report.verdicts if v.rule.id == rule_id)


def answer(*items: tuple[str, str, str, str]) -> dict[str, Any]:
    keys = ("rule_id", "verdict", "quote", "reason")
    return {"verdicts": [dict(zip(keys, item, strict=True)) for item in items]}


def test_the_example_leaves_prose_rules_to_the_judge(inputs: DraftInputs, plan: Plan) -> None:
    report = check(plan, inputs.spec, inputs.constitution)
    assert judged(report, "C-II.1").evidence == NO_CHECK
    assert undecided(judged(report, "C-II.1"))
    assert not undecided(judged(report, "C-I.1"))  # decided by the test-first check
    assert OWNERSHIP in PlanText.of(plan, inputs).text


def test_a_quoted_pass_passes_and_a_misquote_needs_review(
    fake: FakeOpenAI, inputs: DraftInputs, plan: Plan, tmp_path: Path
) -> None:
    fake.enqueue(
        SCHEMA,
        answer(
            ("C-II.1", "pass", OWNERSHIP, "The security section makes ownership a check."),
            ("C-II.2", "pass", "Secrets are stored in the vault", "It says where secrets go."),
        ),
    )
    report = check(
        plan, inputs.spec, inputs.constitution, LLMJudge(build(settings(fake, tmp_path)), inputs)
    )

    assert fake.stats.by_schema[SCHEMA] == 1
    ownership = judged(report, "C-II.1")
    assert (ownership.value, ownership.method) == ("pass", "judge")
    assert ownership.evidence == (
        f'"{OWNERSHIP}" (security) — The security section makes ownership a check.'
    )
    secrets = judged(report, "C-II.2")
    assert (secrets.value, secrets.method) == ("needs_review", "judge")
    assert "quote is not in the plan" in secrets.evidence
    assert "Secrets are stored in the vault" in secrets.evidence
    # The rules the checks decided were not asked about, and keep their verdicts.
    assert judged(report, "C-I.1").method == "deterministic"
    assert report.box("security") == (False, ("C-II.2",))


def test_verdicts_for_rules_not_asked_about_are_ignored(
    fake: FakeOpenAI, inputs: DraftInputs, plan: Plan, tmp_path: Path
) -> None:
    quote = "Create the module layout listed under Proposed Changes"
    fake.enqueue(
        SCHEMA,
        answer(
            ("C-I.1", "fail", quote, "Implementation comes first."),  # decided by a check
            ("C-IX.9", "fail", quote, "A rule the constitution does not have."),
            ("C-III.1", "pass", "### Component 1: Export one reading list", "Few components."),
        ),
    )
    before = check(plan, inputs.spec, inputs.constitution)
    report = check(
        plan, inputs.spec, inputs.constitution, LLMJudge(build(settings(fake, tmp_path)), inputs)
    )

    assert judged(report, "C-I.1") == judged(before, "C-I.1")
    assert "C-IX.9" not in {v.rule.id for v in report.verdicts}
    assert not report.must_failed
    assert judged(report, "C-III.1").value == "pass"
    left_out = judged(report, "C-IV.2")  # asked, but the answer has no entry for it
    assert (left_out.value, left_out.method) == ("needs_review", "none")
    assert left_out.evidence.endswith("the judge gave no verdict for it")


def _reviewers(tmp_path: Path, count: int) -> DraftInputs:
    rules = "\n".join(f"- Reviewer {n} MUST sign off on the change." for n in range(count))
    path = tmp_path / "constitution.md"
    path.write_text(f"# Team\n\n## Core Principles\n\n### I. Review\n\n{rules}\n", "utf-8")
    return DraftInputs(spec=spec.load(EXAMPLE / "SPEC.md"), constitution=constitution.load(path))


def test_one_call_judges_every_rule_after_the_drafting_prefix(
    fake: FakeOpenAI, plan: Plan, tmp_path: Path
) -> None:
    inputs = _reviewers(tmp_path, 12)
    judge = LLMJudge(build(settings(fake, tmp_path)), inputs)

    report = check(plan, inputs.spec, inputs.constitution, judge)

    assert fake.stats.by_schema[SCHEMA] == 1 and judge.split == 1
    prefix = prompts.render("system.md.j2") + context_text(inputs)
    assert fake.stats.shared_prefix_chars >= len(prefix)  # the prompt cache can serve it
    # The fake's own answers quote nothing from this plan: nothing may pass on them.
    assert {v.value for v in report.verdicts} == {"needs_review"}


def test_the_judge_splits_only_past_the_output_limit(
    fake: FakeOpenAI, plan: Plan, tmp_path: Path
) -> None:
    inputs = _reviewers(tmp_path, 12)
    per_call = 5
    judge = LLMJudge(build(settings(fake, tmp_path)), inputs, TOKENS_PER_VERDICT * per_call)

    check(plan, inputs.spec, inputs.constitution, judge)

    assert fake.stats.by_schema[SCHEMA] == judge.split == 3  # 5 + 5 + 2


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        ({"fault": "status", "status": 400, "message": "overloaded"}, "HTTP 400: overloaded"),
        ({"fault": "invalid"}, "the answer does not fit the schema"),
    ],
)
def test_a_failed_judge_call_leaves_the_rules_for_review(
    fake: FakeOpenAI,
    inputs: DraftInputs,
    plan: Plan,
    tmp_path: Path,
    fault: dict[str, Any],
    cause: str,
) -> None:
    fake.enqueue(SCHEMA, fault)
    report = check(
        plan, inputs.spec, inputs.constitution, LLMJudge(build(settings(fake, tmp_path)), inputs)
    )
    ownership = judged(report, "C-II.1")
    assert ownership.value == "needs_review"
    assert ownership.method == "none"
    assert ownership.evidence.startswith(f"{NO_CHECK}; the judge failed: ")
    assert cause in ownership.evidence


def test_a_cached_answer_is_not_asked_again(
    fake: FakeOpenAI, inputs: DraftInputs, plan: Plan, tmp_path: Path
) -> None:
    fake.enqueue(SCHEMA, answer(("C-II.1", "pass", OWNERSHIP, "Ownership is checked.")))
    judge = LLMJudge(build(settings(fake, tmp_path)), inputs)
    first = check(plan, inputs.spec, inputs.constitution, judge)
    second = check(plan, inputs.spec, inputs.constitution, judge)
    assert fake.stats.by_schema[SCHEMA] == 1
    assert first == second
    assert judged(second, "C-II.1").value == "pass"


def test_offline_runs_never_call_the_judge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def forbidden(*args: object) -> list[Verdict]:
        raise AssertionError("the judge was called offline")

    monkeypatch.setattr(LLMJudge, "__call__", forbidden)
    for name in ("SPEC.md", "constitution.md"):
        (tmp_path / name).write_bytes((EXAMPLE / name).read_bytes())
    result = spec_to_plan(DraftRequest(spec_path=tmp_path / "SPEC.md", to_stdout=True))

    assert result.drafter_name == "offline"
    ownership = judged(result.report, "C-II.1")
    assert (ownership.value, ownership.method, ownership.evidence) == (
        "needs_review",
        "none",
        NO_CHECK,
    )
    assert "judge" not in {s.section for s in result.usage.sections}


def test_options_carry_a_judge_only_with_a_model(
    inputs: DraftInputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, offline = drafter_for(Settings(cache_dir=tmp_path), inputs)
    assert (offline.judge, offline.repair_rules) == (None, False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    _, llm = drafter_for(Settings(model="openai:x", cache_dir=tmp_path), inputs)
    assert isinstance(llm.judge, LLMJudge) and llm.repair_rules


# --- reading an answer, without a server ---------------------------------------------------


def undecided_verdicts(inputs: DraftInputs, plan: Plan) -> list[Verdict]:
    return [v for v in check(plan, inputs.spec, inputs.constitution).verdicts if undecided(v)]


@pytest.mark.parametrize(
    ("verdict", "quote", "value", "evidence"),
    [
        ("fail", "Keep   credentials\nout of", "fail", '"Keep credentials out of" (security)'),
        ("pass", "C-II.1", "needs_review", "without quoting the plan"),  # too short to prove
        ("pass", "", "needs_review", "without quoting the plan"),
        ("not_applicable", "| Rule | Level |", "needs_review", "not in the plan"),
        ("needs_review", "", "needs_review", "the judge could not decide: why"),
    ],
)
def test_reading_one_answer(
    inputs: DraftInputs, plan: Plan, verdict: Any, quote: str, value: str, evidence: str
) -> None:
    asked = [v for v in undecided_verdicts(inputs, plan) if v.rule.id == "C-II.2"]
    item = JudgedRule(rule_id=" C-II.2 ", verdict=verdict, quote=quote, reason="why")
    (result,) = verdicts_from(asked, RuleVerdicts(verdicts=[item]), PlanText.of(plan, inputs))
    assert (result.value, result.method) == (value, "judge")
    assert evidence in result.evidence


def test_the_compliance_check_is_not_evidence(inputs: DraftInputs, plan: Plan) -> None:
    text = PlanText.of(plan, inputs)
    assert "## Compliance Check" not in text.text
    assert text.locate("## Security Measures") == "security"
    assert text.locate("Let readers export their reading lists") == "goal"
    assert text.locate("this sentence is in no plan") is None


def test_first_entry_of_a_rule_counts(inputs: DraftInputs, plan: Plan) -> None:
    asked = [v for v in undecided_verdicts(inputs, plan) if v.rule.id == "C-II.1"]
    items = [
        JudgedRule(rule_id="C-II.1", verdict="pass", quote=OWNERSHIP, reason="first"),
        JudgedRule(rule_id="C-II.1", verdict="fail", quote=OWNERSHIP, reason="second"),
    ]
    (result,) = verdicts_from(asked, RuleVerdicts(verdicts=items), PlanText.of(plan, inputs))
    assert (result.value, result.evidence.endswith("first")) == ("pass", True)
