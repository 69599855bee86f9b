"""Rule verdicts: built-in checks, declared `drafter-rules` conditions, the selector language."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import corpus_case, corpus_params
from planfactory import (
    api_section,
    case,
    component,
    components_section,
    dependency,
    endpoint,
    make_plan,
    phase,
    stack_row,
    step,
    steps_section,
    suite,
    suites_section,
)

from drafter.checks.report import Verdict
from drafter.checks.verdicts import NO_CHECK, is_test_step, judge
from drafter.inputs.constitution import Constitution, Rule, load, main_clause, parse
from drafter.model.plan import Plan
from drafter.model.selector import SelectorError, compile_selector

FIXTURES = Path(__file__).parent / "fixtures" / "constitutions"


def constitution(body: str) -> Constitution:
    return parse(f"# T\n\n## Core Principles\n\n### I. Rules\n\n{body}\n", Path("c.md"))


def verdict(body: str, plan: Plan) -> Verdict:
    verdicts = judge(constitution(body), plan, None)
    assert len(verdicts) == 1, [v.rule.text for v in verdicts]
    return verdicts[0]


# --- test-first ----------------------------------------------------------------------------------

TEST_FIRST = "Tests MUST be written before the implementation (TDD)."


def test_implementation_before_its_test_fails_and_reordering_passes() -> None:
    late = make_plan(
        steps=steps_section(
            phase("Build", step("Implement the CSV writer", "FR-001"),
                  step("Write failing tests for the CSV writer", "FR-001")),
        )
    )  # fmt: skip
    result = verdict(TEST_FIRST, late)
    assert (result.value, result.method) == ("fail", "deterministic")
    assert "FR-001: step 1 'Implement the CSV writer' comes before its first test step (2)" in (
        result.evidence
    )
    fixed = make_plan(
        steps=steps_section(
            phase("Build", step("Write failing tests for the CSV writer", "FR-001"),
                  step("Implement the CSV writer", "FR-001")),
        )
    )  # fmt: skip
    assert verdict(TEST_FIRST, fixed).value == "pass"


def test_requirement_with_no_test_step_fails_and_a_test_phase_counts() -> None:
    untested = make_plan(steps=steps_section(phase("Build", step("Implement export", "FR-002"))))
    result = verdict(TEST_FIRST, untested)
    assert result.value == "fail" and "FR-002" in result.evidence
    assert "any test step" in result.evidence
    phased = make_plan(
        steps=steps_section(
            phase("Tests first", step("Cover the export", "FR-002")),
            phase("Build", step("Implement export", "FR-002")),
        )
    )
    assert verdict(TEST_FIRST, phased).value == "pass"


def test_steps_without_requirement_ids_need_review() -> None:
    plan = make_plan(steps=steps_section(phase("Build", step("Implement everything"))))
    result = verdict(TEST_FIRST, plan)
    assert result.value == "needs_review"


def test_test_step_wording() -> None:
    assert is_test_step("Build", "Write the tests for FR-001")
    assert is_test_step("Build", "Add integration tests for /export")
    assert is_test_step("Build", "Unit tests for the parser")
    assert is_test_step("Testing", "Cover edge cases")
    assert not is_test_step("Build", "Implement the parser so the tests pass")


# --- endpoints, test levels, requirements ---------------------------------------------------------

ENDPOINT_RULE = "Every API endpoint MUST have integration tests."


def test_every_endpoint_needs_an_integration_test_case() -> None:
    api = api_section(endpoint("GET", "/export", "FR-001"), endpoint("POST", "/import", "FR-002"))
    half = make_plan(
        api=api,
        testing=suites_section(suite("integration", case("exports", "FR-001"))),
    )
    result = verdict(ENDPOINT_RULE, half)
    assert result.value == "fail"
    assert "POST /import (FR-002)" in result.evidence and "/export" not in result.evidence
    full = make_plan(
        api=api,
        testing=suites_section(
            suite("integration", case("exports", "FR-001"), case("imports", "FR-002"))
        ),
    )
    assert verdict(ENDPOINT_RULE, full).value == "pass"
    # A unit test of the endpoint's requirement is not an integration test.
    unit_only = make_plan(api=api, testing=suites_section(suite("unit", case("x", "FR-001"))))
    assert verdict(ENDPOINT_RULE, unit_only).value == "fail"


def test_no_endpoints_is_not_applicable() -> None:
    result = verdict(ENDPOINT_RULE, make_plan())
    assert result.value == "not_applicable"
    assert "The feature adds no API." in result.evidence


def test_stated_test_level_must_be_present() -> None:
    rule = "Critical user journeys MUST have end-to-end tests."
    assert verdict(rule, make_plan()).value == "fail"
    with_e2e = make_plan(testing=suites_section(suite("e2e", case("journey", "FR-001"))))
    assert verdict(rule, with_e2e).value == "pass"


def test_every_requirement_tested() -> None:
    rule = "Every requirement MUST have a test."
    plan = make_plan(
        steps=steps_section(phase("Build", step("Implement a", "FR-001"), step("b", "FR-002")))
    )
    result = verdict(rule, plan)
    assert (
        result.value == "fail" and "FR-002" in result.evidence and "FR-001" not in (result.evidence)
    )


# --- logging, component limit, tools, sizes ----------------------------------------------------


def test_logging_required() -> None:
    rule = "Every service MUST use structured logging."
    assert verdict(rule, make_plan()).value == "pass"
    result = verdict(rule, make_plan(logging=[]))
    assert result.value == "fail" and "error_handling.logging" in result.evidence


def test_component_limit() -> None:
    rule = "Plans MUST have no more than two components."
    three = make_plan(components=components_section(component("a"), component("b"), component("c")))
    result = verdict(rule, three)
    assert result.value == "fail" and "3 components, limit 2" in result.evidence
    assert verdict(rule, make_plan()).value == "pass"


def test_required_tool_and_version() -> None:
    assert verdict("Tests MUST use `pytest`.", make_plan()).value == "fail"
    with_pytest = make_plan(external=[dependency("pytest", ">=8")])
    assert verdict("Tests MUST use `pytest`.", with_pytest).value == "pass"
    assert verdict("Code MUST be written in Python 3.11.", make_plan()).value == "pass"
    old = make_plan(stack=[stack_row("Backend", "Python 3.9")])
    result = verdict("Code MUST be written in Python 3.11.", old)
    assert result.value == "fail" and "3.11" in result.evidence


def test_forbidden_tool() -> None:
    rule = "Services MUST NOT use Django."
    assert verdict(rule, make_plan()).value == "pass"
    assert verdict(rule, make_plan(stack=[stack_row("Web", "Django 5")])).value == "fail"


def test_unknown_lowercase_word_is_not_taken_for_a_tool() -> None:
    result = verdict("Keywords MUST use colons.", make_plan())
    assert (result.value, result.evidence, result.method) == ("needs_review", NO_CHECK, "none")


def test_size_limits_need_review_with_a_reason() -> None:
    result = verdict("Files over 200 lines MUST be split.", make_plan())
    assert result.value == "needs_review" and "200 lines" in result.evidence


def test_main_clause_drops_labels_and_appended_details() -> None:
    text = "Observability: All components MUST support visibility: Structured Logging; Metrics"
    assert main_clause(text) == "All components MUST support visibility"
    # So the logging check does not decide a rule on one word of its details.
    assert verdict(text.replace("Observability: ", ""), make_plan()).value == "needs_review"


# --- declared conditions -------------------------------------------------------------------------


def test_declared_checks_from_the_fixture() -> None:
    parsed = load(FIXTURES / "checks.md")
    plan = make_plan(api=api_section(endpoint("GET", "/x", "FR-001")))
    results = {v.rule.id: v for v in judge(parsed, plan, None)}
    assert len(results) == len(parsed.rules)
    assert (results["C-B.2"].value, results["C-B.2"].method) == ("pass", "declared")
    assert results["C-X.1"].value == "pass" and "/x" in results["C-X.1"].evidence
    no_api = {v.rule.id: v for v in judge(parsed, make_plan(), None)}
    assert no_api["C-X.1"].value == "fail"
    assert no_api["C-X.1"].evidence.startswith("require exists(api.endpoints[*].path):")
    blank = make_plan(steps=steps_section(phase("Build", step("x", "FR-001"), estimate="soon")))
    assert {v.rule.id: v for v in judge(parsed, blank, None)}["C-B.2"].value == "fail"


def test_broken_declared_condition_needs_review_not_a_builtin_pass() -> None:
    parsed = load(FIXTURES / "broken-rules.md")
    (result,) = judge(parsed, make_plan(), None)
    assert result.value == "needs_review"
    assert "drafter-rules line 12: bad require condition" in result.evidence


def test_no_constitution_no_verdicts() -> None:
    assert judge(None, make_plan(), None) == []


@corpus_params
def test_every_corpus_rule_gets_one_honest_verdict(case: str) -> None:
    path = corpus_case(case) / "constitution.md"
    if not path.is_file():
        pytest.skip(f"{case} has no constitution.md")
    parsed = load(path)
    verdicts = judge(parsed, make_plan(), None)
    assert [v.rule for v in verdicts] == list(parsed.rules)
    for result in verdicts:
        assert result.evidence
        if result.value == "pass":
            assert result.method in ("deterministic", "declared")
        if result.method == "none":
            assert result.value == "needs_review"


# --- the selector language --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ("exists(api.endpoints[*].path)", False),
        ("exists(steps.phases[*].steps[*].description)", True),
        ("count(components.components) <= 1", True),
        ("count(components.components) > 1", False),
        ('all(steps.phases[*].estimate) matches "\\d"', True),
        ('any(architecture.stack[*].technology) contains "python"', True),
        ('none(dependencies.external[*].name) == "left-pad"', True),
        ("any(components.components.new_files.proposed) == false", True),
        ("exists(database.database) or exists(database.not_applicable_reason)", True),
        ("not exists(api.endpoints) and count(testing.suites) == 1", True),
        ('all(api.endpoints[*].path) contains "/"', False),  # all() of nothing is false
    ],
)
def test_selector_evaluation(condition: str, holds: bool) -> None:
    ok, evidence = compile_selector(condition).evaluate(make_plan())
    assert ok is holds, evidence
    assert evidence


@pytest.mark.parametrize(
    ("condition", "column", "words"),
    [
        ("exists(api.endpoints[*].path", 29, "expected ')'"),
        ("count(components.componets) < 2", 7, "no field 'componets'"),
        ("count(components.components)", 29, "must be compared"),
        ('any(goal.summary) > "x"', 19, "needs a number"),
        ('any(goal.summary) matches "("', 27, "bad regular expression"),
        ("exists(goal.summary) and", 25, "expected one of exists"),
        ("exists(goal.summary[*])", 8, "not a list"),
        ('__import__("os")', 1, "expected one of exists"),
        ("__import__('os')", 12, "unexpected character"),
        ("exists(goal.summary) ; rm", 22, "unexpected character ';'"),
    ],
)
def test_selector_errors_name_the_column(condition: str, column: int, words: str) -> None:
    with pytest.raises(SelectorError) as error:
        compile_selector(condition)
    assert error.value.column == column
    assert words in str(error.value)


def test_declared_rule_text_defaults_to_the_condition() -> None:
    text = (
        '# T\n\n## Rules\n\n```drafter-rules\n[[rule]]\nid = "C-Z.1"\n'
        'require = "count(components.components) <= 3"\n```\n'
    )
    parsed = parse(text, Path("c.md"))
    assert parsed.rules == (
        Rule(
            id="C-Z.1",
            level="MUST",
            category="architecture",
            text="count(components.components) <= 3",
            principle="drafter-rules",
            line=6,
        ),
    )
