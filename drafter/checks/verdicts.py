"""Verdicts for constitution rules: declared conditions, then built-in checks, else review.

Every rule gets exactly one verdict. A rule no program can decide is `needs_review` — never
silently passed. The built-in checks are keyed by what a rule says (its words), and each one
names in its evidence what it looked at, so a reader can see why a box is ticked. What each
check does is documented for users in docs/rules.md; keep the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from drafter.checks.report import Verdict, VerdictValue
from drafter.inputs.constitution import (
    Constitution,
    DeclaredCheck,
    Rule,
    asks_tests_first,
    find_modal,
    main_clause,
)
from drafter.inputs.spec import Spec
from drafter.model.plan import Plan
from drafter.model.selector import SelectorError, compile_selector

NO_CHECK = "no deterministic check; needs a reviewer or --model"

Outcome = tuple[VerdictValue, str]
Check = Callable[[Rule, Plan, Spec | None], Outcome | None]


def judge(constitution: Constitution | None, plan: Plan, spec: Spec | None) -> list[Verdict]:
    """One verdict per rule of `constitution`, in rule order (none without a constitution)."""
    if constitution is None:
        return []
    verdicts: list[Verdict] = []
    for rule in constitution.rules:
        declared = constitution.check_for(rule.id)
        if declared is not None:
            value, evidence = _declared(declared, plan)
            verdicts.append(Verdict(rule=rule, value=value, evidence=evidence, method="declared"))
            continue
        for check in BUILT_IN:
            outcome = check(rule, plan, spec)
            if outcome is not None:
                value, evidence = outcome
                method = "none" if value == "needs_review" else "deterministic"
                verdicts.append(Verdict(rule=rule, value=value, evidence=evidence, method=method))
                break
        else:
            verdicts.append(
                Verdict(rule=rule, value="needs_review", evidence=NO_CHECK, method="none")
            )
    return verdicts


def _declared(check: DeclaredCheck, plan: Plan) -> Outcome:
    try:
        selector = compile_selector(check.require)
    except SelectorError as error:
        return "needs_review", f"drafter-rules line {check.line}: bad require condition: {error}"
    holds, evidence = selector.evaluate(plan)
    return ("pass" if holds else "fail"), f"require {check.require}: {evidence}"


# --- helpers -------------------------------------------------------------------------------------


def _says(rule: Rule, pattern: re.Pattern[str]) -> re.Match[str] | None:
    return pattern.search(main_clause(rule.text))


def _negative(rule: Rule) -> bool:
    return rule.level in ("MUST NOT", "SHOULD NOT")


def _listing(items: list[str], limit: int = 3) -> str:
    shown = "; ".join(items[:limit])
    return f"{shown}; and {len(items) - limit} more" if len(items) > limit else shown


def _quote(text: str, width: int = 60) -> str:
    return repr(text if len(text) <= width else text[: width - 3] + "...")


# --- test-first ----------------------------------------------------------------------------------

_TEST_PHASE = re.compile(r"\btest(?:s|ing)?\b", re.I)
_TEST_STEP = re.compile(
    r"^\W*(?:(?:write|add|create|extend|update|define|draft|author)\b[^.;:]{0,40}?"
    r"\b(?:tests?|test cases?|specs?)\b"
    r"|(?:(?:unit|integration|e2e|end-to-end|contract|failing|regression|acceptance)\s+)?"
    r"tests?\b)",
    re.I,
)


def is_test_step(phase_name: str, description: str) -> bool:
    """A step that writes tests: in a phase named for tests, or worded "Write … tests …"."""
    return bool(_TEST_PHASE.search(phase_name) or _TEST_STEP.match(description))


def _test_first(rule: Rule, plan: Plan, spec: Spec | None) -> Outcome | None:
    if not asks_tests_first(rule):
        return None
    first_test: dict[str, int] = {}
    first_code: dict[str, tuple[int, str]] = {}
    number = 0
    for phase in plan.steps.phases:
        for step in phase.steps:
            number += 1
            testing = is_test_step(phase.name, step.description)
            for requirement in step.requirement_ids:
                if testing:
                    first_test.setdefault(requirement, number)
                else:
                    first_code.setdefault(requirement, (number, step.description))
    if not first_code:
        return "needs_review", "no implementation step carries requirement IDs; order unknown"
    late = [
        f"{requirement}: step {number} {_quote(text)} comes before "
        + (
            f"its first test step ({first_test[requirement]})"
            if requirement in first_test
            else "any test step for it"
        )
        for requirement, (number, text) in first_code.items()
        if first_test.get(requirement, number + 1) > number
    ]
    if late:
        return "fail", f"implementation before tests: {_listing(late)}"
    return "pass", (
        f"for all {len(first_code)} requirement IDs with implementation steps, a test step "
        f"comes first (steps.phases)"
    )


# --- endpoints have integration tests ------------------------------------------------------------

_ENDPOINT_TESTS = re.compile(
    r"\b(?:endpoints?|api|apis|routes?|contracts?)\b.*\b(?:contract|integration) tests?\b"
    r"|\b(?:contract|integration) tests?\b.*\b(?:endpoints?|api|apis|routes?)\b",
    re.I,
)


def _endpoint_tests(rule: Rule, plan: Plan, spec: Spec | None) -> Outcome | None:
    if _negative(rule) or not _says(rule, _ENDPOINT_TESTS):
        return None
    endpoints = plan.api.endpoints
    if not endpoints:
        reason = plan.api.not_applicable_reason or "the plan has no endpoints"
        return "not_applicable", f"api: {reason}"
    tested = {
        requirement
        for suite in plan.testing.suites
        if suite.level == "integration"
        for case in suite.cases
        for requirement in case.requirement_ids
    }
    missing = [
        f"{e.method} {e.path}"
        + (f" ({', '.join(e.requirement_ids)})" if e.requirement_ids else " (no requirement IDs)")
        for e in endpoints
        if not tested.intersection(e.requirement_ids)
    ]
    if missing:
        return "fail", f"endpoints without an integration test case: {_listing(missing)}"
    return "pass", f"all {len(endpoints)} endpoints have an integration test case (api, testing)"


# --- a test level is present ---------------------------------------------------------------------

_TEST_LEVEL = re.compile(
    r"\b(?:MUST|SHALL|SHOULD|REQUIRED)\s+(?:have|include|ship with|be covered by|add)\s+"
    r"(?:[\w-]+\s+){0,2}?(unit|integration|contract|e2e|end-to-end|end to end)\s+tests?\b"
)
_LEVEL_NAMES = {"unit": "unit", "integration": "integration", "contract": "integration"}


def _test_level(rule: Rule, plan: Plan, spec: Spec | None) -> Outcome | None:
    match = _says(rule, _TEST_LEVEL)
    if _negative(rule) or not match:
        return None
    level = _LEVEL_NAMES.get(match.group(1).lower(), "e2e")
    suites = [s for s in plan.testing.suites if s.level == level and s.cases]
    if not suites:
        return "fail", f"the plan has no {level} test suite with cases (testing)"
    cases = sum(len(s.cases) for s in suites)
    files = ", ".join(s.file for s in suites[:3])
    return "pass", f"{len(suites)} {level} suite(s), {cases} case(s): {files}"


# --- every requirement is tested -----------------------------------------------------------------

_ALL_REQUIREMENTS_TESTED = re.compile(
    r"\b(?:every|each|all)\s+(?:functional\s+)?requirements?\b.*\btest", re.I
)


def _requirements_tested(rule: Rule, plan: Plan, spec: Spec | None) -> Outcome | None:
    if _negative(rule) or not _says(rule, _ALL_REQUIREMENTS_TESTED):
        return None
    if spec is not None:
        wanted = [r.id for r in spec.requirements if r.kind == "functional"]
        source = "the spec's functional requirements"
    else:
        wanted = list(
            dict.fromkeys(_ids(s.requirement_ids for p in plan.steps.phases for s in p.steps))
        )
        source = "requirement IDs of the implementation steps"
    if not wanted:
        return "needs_review", f"no requirement IDs to check ({source} are empty)"
    tested = set(_ids(c.requirement_ids for suite in plan.testing.suites for c in suite.cases))
    untested = [r for r in wanted if r not in tested]
    if untested:
        return "fail", f"requirements without a test case: {_listing(untested, 8)}"
    return "pass", f"all {len(wanted)} of {source} have a test case (testing)"


def _ids(groups: Iterable[list[str]]) -> list[str]:
    return [requirement for group in groups for requirement in group]


# --- logging strategy ----------------------------------------------------------------------------

_LOGGING = re.compile(r"\b(?:observability|logging|structured logs?)\b", re.I)


def _logging(rule: Rule, plan: Plan, spec: Spec | None) -> Outcome | None:
    # Only a stated requirement ("… MUST use structured logging"), not a convention that
    # merely mentions a logger.
    if _negative(rule) or not _says(rule, _LOGGING) or find_modal(rule.text) is None:
        return None
    levels = plan.error_handling.logging
    if not levels:
        return "fail", "the plan states no logging strategy (error_handling.logging is empty)"
    shown = ", ".join(f"{entry.level}: {entry.events}" for entry in levels[:3])
    return "pass", f"logging strategy with {len(levels)} level(s): {_quote(shown, 100)}"


# --- component limit -----------------------------------------------------------------------------

_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_LIMIT = re.compile(
    r"(?:no more than|at most|maximum(?: of)?|max\.?|up to|not exceed|≤|<=)\s*"
    r"(\d+|" + "|".join(_NUMBERS) + r")\s+(?:[\w-]+\s+)?"
    r"(projects?|components?|modules?|packages?|services?)\b",
    re.I,
)


def _component_limit(rule: Rule, plan: Plan, spec: Spec | None) -> Outcome | None:
    match = _says(rule, _LIMIT)
    if match is None:
        return None
    word = match.group(1).lower()
    limit = int(word) if word.isdigit() else _NUMBERS[word]
    components = plan.components.components
    names = ", ".join(c.name for c in components)
    if len(components) > limit:
        return "fail", f"{len(components)} components, limit {limit}: {names}"
    return "pass", f"{len(components)} component(s), limit {limit} (components)"


# --- size limits ---------------------------------------------------------------------------------

_SIZE = re.compile(r"\b(\d+)\s*(?:lines|loc)\b", re.I)


def _size_limit(rule: Rule, plan: Plan, spec: Spec | None) -> Outcome | None:
    match = _says(rule, _SIZE)
    if match is None:
        return None
    # A plan names files, not their lengths: the limit can only be checked on the code.
    return "needs_review", (
        f"a plan does not fix sizes (limit {match.group(1)} lines); check it in code review"
    )


# --- required tools and versions -----------------------------------------------------------------

_KNOWN_TOOLS_TEXT = """
    python pytest ruff mypy pyright black poetry uv pip typescript javascript node node.js deno
    bun npm pnpm yarn vitest jest mocha eslint prettier go golang ginkgo rust cargo java kotlin
    gradle maven junit ruby rails rspec php composer swift c# .net dotnet kubernetes docker
    helm terraform postgres postgresql mysql sqlite redis mongodb neo4j kafka rabbitmq celery
    temporal react vue angular svelte next.js django flask fastapi pydantic typer click graphql
    grpc openapi prometheus opentelemetry playwright cypress selenium
"""
_KNOWN_TOOLS = frozenset(_KNOWN_TOOLS_TEXT.split())
_TOOL_RULE = re.compile(
    r"\b(?:MUST|SHALL|SHOULD)(?:\s+NOT)?\s+(?:be\s+)?"
    r"(?:use|using|written in|implemented in|built (?:with|using|on)|run on|target|targets)\s+"
    r"(?P<tool>`[^`]+`|[A-Za-z][\w.+#-]*)"
    r"(?:\s*(?:v|version|>=|≥|==)?\s*(?P<version>\d+(?:\.\d+)*))?",
)


def _required_tool(rule: Rule, plan: Plan, spec: Spec | None) -> Outcome | None:
    match = _says(rule, _TOOL_RULE)
    if match is None:
        return None
    tool = match.group("tool").strip("`").rstrip(".,;:")
    if not match.group("tool").startswith("`") and tool.lower() not in _KNOWN_TOOLS:
        return None
    version = match.group("version")
    named = re.compile(rf"(?<![\w.-]){re.escape(tool)}(?![\w-])", re.I)
    places = [f"{row.technology} {row.component}" for row in plan.architecture.stack] + [
        f"{dep.name} {dep.version or ''}" for dep in plan.dependencies.external
    ]
    found = [place for place in places if named.search(place)]
    where = "architecture.stack / dependencies.external"
    if _negative(rule):
        if found:
            return "fail", f"{tool} appears in the plan: {_quote(found[0])} ({where})"
        return "pass", f"{tool} is not named in {where}"
    if not found:
        return "fail", f"{tool} is not named in {where}"
    if version and not any(version in place for place in found):
        return "fail", f"{tool} is named ({_quote(found[0])}) but not version {version}"
    return "pass", f"{tool}{' ' + version if version else ''} named: {_quote(found[0])}"


BUILT_IN: tuple[Check, ...] = (
    _test_first,
    _endpoint_tests,
    _requirements_tested,
    _test_level,
    _logging,
    _component_limit,
    _size_limit,
    _required_tool,
)
