"""Build small, valid `Plan` objects for tests: a minimal plan plus the parts tests vary.

plan = make_plan(
    steps=steps_section(phase("Build", step("Write failing tests", "FR-001"),
                                       step("Implement parsing", "FR-001"))),
)
"""

from __future__ import annotations

from typing import Any

from drafter.model import plan as p


def step(description: str, *requirement_ids: str) -> p.Step:
    return p.Step(description=description, requirement_ids=list(requirement_ids))


def phase(name: str, *steps: p.Step, estimate: str = "1 day") -> p.Phase:
    return p.Phase(name=name, steps=list(steps), estimate=estimate)


def steps_section(*phases: p.Phase) -> p.StepsSection:
    return p.StepsSection(phases=list(phases), reviews=[])


def case(description: str, *requirement_ids: str) -> p.TestCase:
    return p.TestCase(description=description, requirement_ids=list(requirement_ids))


def suite(level: p.TestLevel, *cases: p.TestCase, file: str | None = None) -> p.TestSuite:
    return p.TestSuite(
        level=level, file=file or f"tests/{level}/test_feature.py", cases=list(cases)
    )


def suites_section(*suites: p.TestSuite) -> p.TestingSection:
    return p.TestingSection(suites=list(suites), reviews=[])


def endpoint(method: str, path: str, *requirement_ids: str) -> p.Endpoint:
    return p.Endpoint(
        method=method,
        path=path,
        controller=None,
        service=None,
        validation=None,
        requirement_ids=list(requirement_ids),
    )


def api_section(*endpoints: p.Endpoint) -> p.ApiSection:
    reason = None if endpoints else "The feature adds no API."
    return p.ApiSection(endpoints=list(endpoints), not_applicable_reason=reason, reviews=[])


def component(name: str, *paths: str) -> p.Component:
    files = [
        p.NewFile(path=path, purpose=f"{name} code", symbols=[], requirement_ids=[], proposed=False)
        for path in paths
    ]
    return p.Component(name=name, purpose=f"The {name} part", new_files=files, modified_files=[])


def components_section(*components: p.Component) -> p.ComponentsSection:
    return p.ComponentsSection(components=list(components), reviews=[])


def stack_row(component: str, technology: str) -> p.StackRow:
    return p.StackRow(component=component, technology=technology, justification="chosen")


def dependency(name: str, version: str | None = None) -> p.ExternalDependency:
    return p.ExternalDependency(name=name, version=version, justification="needed")


def make_plan(**sections: Any) -> p.Plan:
    """A minimal valid plan for one requirement, FR-001; keyword arguments replace sections
    (`steps=steps_section(...)`) or, for architecture, take `stack=[stack_row(...)]`."""
    stack = sections.pop("stack", [stack_row("Backend", "Python 3.11")])
    logging = sections.pop("logging", [p.LogLevel(level="Error", events="failed requests")])
    external = sections.pop("external", [])
    base = p.Plan(
        goal=p.GoalSection(
            feature_name="Demo", summary="Adds a demo.", goal="A demo feature.", reviews=[]
        ),
        architecture=p.ArchitectureSection(
            nodes=[p.DiagramNode(id="app", label="App", kind="component")],
            edges=[],
            stack=stack,
            patterns=[],
            reviews=[],
        ),
        components=components_section(component("core", "src/demo/core.py")),
        database=p.DatabaseSection(
            database=None, not_applicable_reason="Nothing is stored.", reviews=[]
        ),
        api=api_section(),
        testing=suites_section(suite("unit", case("parses input", "FR-001"))),
        steps=steps_section(
            phase(
                "Build",
                step("Write failing tests for parsing", "FR-001"),
                step("Implement parsing", "FR-001"),
            )
        ),
        dependencies=p.DependenciesSection(
            external=external, internal=[], prerequisites=[], reviews=[]
        ),
        data_flow=p.DataFlowSection(participants=[], messages=[], reviews=[]),
        error_handling=p.ErrorHandlingSection(errors=[], logging=logging, reviews=[]),
        security=p.SecuritySection(items=[], reviews=[]),
        performance=p.PerformanceSection(targets=[], techniques=[], reviews=[]),
        rollback=p.RollbackSection(steps=[], reviews=[]),
        verification=p.VerificationSection(
            commands=[], success_criteria=[], manual=[], deployment=[], reviews=[]
        ),
        open_issues=p.OpenIssuesSection(issues=[], reviews=[]),
        references=[],
        footer=p.Footer(
            status="Draft",
            author="drafter",
            created="2025-01-01",
            last_updated="2025-01-01",
            reviewers="-",
            estimated_effort="1 day",
        ),
    )
    return base.model_copy(update=sections)
