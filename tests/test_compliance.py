"""Structural rules (DR###): each one fires on the fault it names, and only then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

from drafter.app.workflow import DraftRequest, spec_to_plan
from drafter.checks.compliance import RULES, check, coverage, structural_findings, validate_section
from drafter.inputs.spec import Spec, load
from drafter.model import plan as p

EXAMPLE_SPEC = EXAMPLES / "csv-export" / "SPEC.md"


@pytest.fixture(scope="module")
def drafted() -> tuple[p.Plan, Spec]:
    result = spec_to_plan(DraftRequest(spec_path=EXAMPLE_SPEC, to_stdout=True))
    return result.plan, load(EXAMPLE_SPEC)


def _ids(plan: p.Plan, spec: Spec) -> set[str]:
    return {f.rule_id for f in structural_findings(plan, spec)}


def _with(plan: p.Plan, **sections: Any) -> p.Plan:
    return plan.model_copy(update=sections)


def test_the_offline_plan_is_clean(drafted: tuple[p.Plan, Spec]) -> None:
    assert _ids(*drafted) == set()


def test_placeholder_left_in(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    goal = plan.goal.model_copy(update={"goal": "Build [Component Name] in [X hours/days]."})
    assert _ids(_with(plan, goal=goal), spec) == {"DR002"}


@pytest.mark.parametrize("residue", ["ERR_001", "src/[path]/file.js", "a TODO", "or similar"])
def test_template_example_content(drafted: tuple[p.Plan, Spec], residue: str) -> None:
    plan, spec = drafted
    goal = plan.goal.model_copy(update={"summary": f"Plan with {residue} inside"})
    assert "DR002" in _ids(_with(plan, goal=goal), spec)


def test_untraced_requirement(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    phases = [
        phase.model_copy(
            update={"steps": [s for s in phase.steps if "FR-004" not in s.requirement_ids]}
        )
        for phase in plan.steps.phases
    ]
    findings = structural_findings(
        _with(plan, steps=plan.steps.model_copy(update={"phases": phases})), spec
    )
    assert [(f.rule_id, f.anchor) for f in findings] == [("DR003", "FR-004")]


def test_unknown_requirement_id(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    items = [*plan.security.items, p.SecurityItem(text="Audit", requirement_ids=["FR-999"])]
    messages = validate_section("security", plan.security.model_copy(update={"items": items}), spec)
    assert len(messages) == 1 and "FR-999" in messages[0]


def test_irreversible_migration(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    assert plan.database.database is not None
    migrations = [
        m.model_copy(update={"down": "-- irreversible"}) for m in plan.database.database.migrations
    ]
    database = plan.database.database.model_copy(update={"migrations": migrations})
    section = plan.database.model_copy(update={"database": database})
    assert _ids(_with(plan, database=section), spec) == {"DR005"}


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside/file.py", "C:\\code\\x.py", "~/x"])
def test_absolute_or_escaping_path(drafted: tuple[p.Plan, Spec], path: str) -> None:
    plan, spec = drafted
    component = plan.components.components[0]
    changed = component.model_copy(
        update={"new_files": [component.new_files[0].model_copy(update={"path": path})]}
    )
    components = plan.components.model_copy(
        update={"components": [changed, *plan.components.components[1:]]}
    )
    assert "DR006" in _ids(_with(plan, components=components), spec)


def test_broken_diagram(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    edges = [*plan.architecture.edges, p.DiagramEdge(source="comp1", target="ghost", label=None)]
    architecture = plan.architecture.model_copy(update={"edges": edges})
    assert _ids(_with(plan, architecture=architecture), spec) == {"DR007"}
    unlinked = plan.architecture.model_copy(update={"edges": []})
    assert _ids(_with(plan, architecture=unlinked), spec) == {"DR007"}


def test_success_criterion_without_check(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    verification = plan.verification.model_copy(
        update={
            "success_criteria": [
                c for c in plan.verification.success_criteria if "SC-001" not in c.requirement_ids
            ]
        }
    )
    assert _ids(_with(plan, verification=verification), spec) == {"DR008"}


def test_dropped_clarification(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    open_issues = plan.open_issues.model_copy(update={"issues": []})
    assert _ids(_with(plan, open_issues=open_issues), spec) == {"DR009"}


def test_secret_in_plan(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    goal = plan.goal.model_copy(update={"goal": "Use key sk-abcdefghijklmnopqrstuvwxyz123456"})
    assert _ids(_with(plan, goal=goal), spec) == {"DR010"}


def test_missing_estimate(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    phases = [plan.steps.phases[0].model_copy(update={"estimate": " "}), *plan.steps.phases[1:]]
    steps = plan.steps.model_copy(update={"phases": phases})
    assert _ids(_with(plan, steps=steps), spec) == {"DR011"}


def test_negation_dropped() -> None:
    spec_path = Path(__file__).parent / "fixtures" / "quality" / "negation" / "SPEC.md"
    plan = spec_to_plan(DraftRequest(spec_path=spec_path, to_stdout=True)).plan
    spec = load(spec_path)
    assert _ids(plan, spec) == set()
    inverted = p.Step(
        description="Store tracker credentials in the workflow payload", requirement_ids=["FR-003"]
    )
    phases = [plan.steps.phases[0].model_copy(update={"steps": [inverted]}), *plan.steps.phases[1:]]
    steps = plan.steps.model_copy(update={"phases": phases})
    assert _ids(_with(plan, steps=steps), spec) == {"DR012"}
    kept = inverted.model_copy(
        update={"description": "Never store tracker credentials in the workflow payload"}
    )
    phases[0] = phases[0].model_copy(update={"steps": [kept]})
    assert _ids(_with(plan, steps=plan.steps.model_copy(update={"phases": phases})), spec) == set()


def test_empty_error_table(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted  # the example spec has three edge cases
    errors = plan.error_handling.model_copy(update={"errors": []})
    assert _ids(_with(plan, error_handling=errors), spec) == {"DR013"}


def test_identifier_listed_twice(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    symbol = p.CodeSymbol(name="export_csv()", kind="function", description="Exports")
    first = plan.components.components[0]
    new_file = first.new_files[0].model_copy(update={"symbols": [symbol, symbol]})
    component = first.model_copy(update={"new_files": [new_file]})
    components = plan.components.model_copy(
        update={"components": [component, *plan.components.components[1:]]}
    )
    assert _ids(_with(plan, components=components), spec) == {"DR014"}


def test_dependency_and_system_without_evidence(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    made_up = p.ExternalDependency(name="left-pad", version=None, justification="useful")
    cited = p.ExternalDependency(name="zipstream", version=None, justification="C-II.1 says so")
    dependencies = plan.dependencies.model_copy(update={"external": [made_up, cited]})
    findings = structural_findings(_with(plan, dependencies=dependencies), spec)
    assert [(f.rule_id, f.anchor) for f in findings] == [("DR015", "left-pad")]
    jira = p.DiagramNode(id="ext9", label="Jira", kind="external")
    nodes = [*plan.architecture.nodes, jira]
    edges = [*plan.architecture.edges, p.DiagramEdge(source="comp1", target="ext9", label=None)]
    architecture = plan.architecture.model_copy(update={"nodes": nodes, "edges": edges})
    findings = structural_findings(_with(plan, architecture=architecture), spec)
    assert [(f.rule_id, f.anchor) for f in findings] == [("DR015", "Jira")]


def test_every_rule_has_a_test_here() -> None:
    tested = {"DR002", "DR003", "DR004", "DR005", "DR006", "DR007", "DR008", "DR009", "DR010"}
    tested |= {
        "DR011",
        "DR012",
        "DR013",
        "DR014",
        "DR015",
        "DR001",
    }  # DR001: tests/test_check.py (outline) and below
    assert tested == set(RULES)


def test_api_without_endpoints_or_reason(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    api = p.ApiSection(endpoints=[], not_applicable_reason=None, reviews=[])
    assert _ids(_with(plan, api=api), spec) == {"DR001"}


def test_boxes_are_computed_from_verdicts(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    from drafter.inputs import constitution

    rules = constitution.load(EXAMPLES / "csv-export" / "constitution.md")
    report = check(plan, spec, rules)
    ticked, open_ids = report.box("testing")
    testing_verdicts = [v for v in report.verdicts if v.rule.category == "testing"]
    must = [v for v in testing_verdicts if v.rule.mandatory]
    assert ticked == all(v.value in ("pass", "not_applicable") for v in must)
    assert set(open_ids) == {v.rule.id for v in must if v.value not in ("pass", "not_applicable")}
    assert report.box("coding") == (False, ())  # no MUST rule: nothing verified, no tick


def test_coverage_counts_tags(drafted: tuple[p.Plan, Spec]) -> None:
    plan, spec = drafted
    rows = {row.id: row for row in coverage(plan, spec)}
    assert set(rows) == {r.id for r in spec.requirements}
    assert all(int(row.steps) >= 1 and int(row.tests) >= 1 for row in rows.values())
    assert int(rows["SC-001"].checks) >= 1
