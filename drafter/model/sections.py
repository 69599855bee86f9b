"""The section registry: each drafted section's name, model, prompt file and dependencies.

The dependencies form a DAG; drafting runs it level by level (independent sections at once).
References and the footer are not here: they are derived from the inputs, never drafted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pydantic import BaseModel

from drafter.model import plan


@dataclass(frozen=True)
class Section:
    name: str
    title: str  # the template heading the section renders under
    model: type[BaseModel]
    depends_on: tuple[str, ...]

    @property
    def prompt_file(self) -> str:
        return f"{self.name}.md.j2"


SECTIONS: tuple[Section, ...] = (
    Section("goal", "Goal", plan.GoalSection, ()),
    Section("architecture", "Architecture Overview", plan.ArchitectureSection, ()),
    Section("open_issues", "Open Issues", plan.OpenIssuesSection, ()),
    Section("components", "Proposed Changes", plan.ComponentsSection, ("architecture",)),
    Section("database", "Database Schema", plan.DatabaseSection, ("architecture",)),
    Section("api", "API Layer", plan.ApiSection, ("architecture",)),
    Section("dependencies", "Dependencies", plan.DependenciesSection, ("architecture",)),
    Section("performance", "Performance Optimization", plan.PerformanceSection, ("architecture",)),
    Section("testing", "Testing", plan.TestingSection, ("components", "api")),
    Section("data_flow", "Data Flow", plan.DataFlowSection, ("architecture", "api")),
    Section("error_handling", "Error Handling", plan.ErrorHandlingSection, ("components",)),
    Section("security", "Security Measures", plan.SecuritySection, ("components", "api")),
    Section("rollback", "Rollback Plan", plan.RollbackSection, ("database", "dependencies")),
    Section(
        "steps",
        "Implementation Steps",
        plan.StepsSection,
        ("components", "database", "api", "testing"),
    ),
    Section("verification", "Verification Plan", plan.VerificationSection, ("testing",)),
)

BY_NAME: dict[str, Section] = {s.name: s for s in SECTIONS}


@cache
def levels() -> tuple[tuple[Section, ...], ...]:
    """Sections grouped by DAG depth: every section's dependencies are in earlier levels."""
    depth: dict[str, int] = {}
    for section in SECTIONS:  # SECTIONS is listed in topological order
        depth[section.name] = 1 + max((depth[d] for d in section.depends_on), default=-1)
    return tuple(
        tuple(s for s in SECTIONS if depth[s.name] == level)
        for level in range(max(depth.values()) + 1)
    )


def downstream(names: set[str]) -> set[str]:
    """`names` and every section that depends on them, directly or not."""
    result = set(names)
    for section in SECTIONS:
        if result.intersection(section.depends_on):
            result.add(section.name)
    return result
