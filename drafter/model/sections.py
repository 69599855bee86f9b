"""The section registry: one record per drafted section.

A record says everything drafter knows about a section: its name, the template heading it
renders under (and findings are placed at), its model, the sections it is drafted from, and
the facets of the inputs it reads (an incremental run redrafts it when one of them changes).
The offline drafter keeps its builders in a table typed by `SectionName`, checked complete
when it is imported. References and the footer are not here: they are derived from the inputs,
never drafted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal, get_args

from pydantic import BaseModel

from drafter.model import plan

SectionName = Literal[
    "goal",
    "architecture",
    "open_issues",
    "components",
    "database",
    "api",
    "dependencies",
    "performance",
    "testing",
    "data_flow",
    "error_handling",
    "security",
    "rollback",
    "steps",
    "verification",
]

# What of the inputs a section can read: spec fields by name, plus these two.
Facet = Literal[
    "title",
    "summary",
    "stories",
    "entities",
    "named_paths",
    "scenarios",
    "edge_cases",
    "assumptions",
    "clarifications",
    "constitution",
    "constitution_present",
]


@dataclass(frozen=True)
class Section:
    name: SectionName
    title: str  # the section's name in messages and prompts
    heading: str  # the template heading it renders under ("Component N: …" for numbered ones)
    model: type[BaseModel]
    depends_on: tuple[SectionName, ...]
    facets: tuple[Facet, ...]  # besides requirement IDs and the requirements it cites

    @property
    def prompt_file(self) -> str:
        return f"{self.name}.md.j2"


SECTIONS: tuple[Section, ...] = (  # in topological order: dependencies first
    Section("goal", "Goal", "Goal", plan.GoalSection, (), ("title", "summary", "stories")),
    Section(
        "architecture",
        "Architecture Overview",
        "Architecture Overview",
        plan.ArchitectureSection,
        (),
        ("stories", "entities", "named_paths", "constitution"),
    ),
    Section(
        "open_issues",
        "Open Issues",
        "Open Issues",
        plan.OpenIssuesSection,
        (),
        ("clarifications", "constitution_present"),
    ),
    Section(
        "components",
        "Proposed Changes",
        "Proposed Changes",
        plan.ComponentsSection,
        ("architecture",),
        ("stories", "entities", "named_paths"),
    ),
    Section(
        "database",
        "Database Schema",
        "Component N: Database Schema",
        plan.DatabaseSection,
        ("architecture",),
        ("entities",),
    ),
    Section(
        "api",
        "API Layer",
        "Component N: API Layer",
        plan.ApiSection,
        ("architecture",),
        ("scenarios",),
    ),
    Section(
        "dependencies",
        "Dependencies",
        "Dependencies",
        plan.DependenciesSection,
        ("architecture",),
        ("assumptions", "constitution"),
    ),
    Section(
        "performance",
        "Performance Optimization",
        "Performance Optimization",
        plan.PerformanceSection,
        ("architecture",),
        ("edge_cases",),
    ),
    Section(
        "testing",
        "Testing",
        "Component N: Testing",
        plan.TestingSection,
        ("components", "api"),
        ("scenarios", "edge_cases"),
    ),
    Section(
        "data_flow",
        "Data Flow",
        "Data Flow",
        plan.DataFlowSection,
        ("architecture", "api"),
        ("stories", "scenarios"),
    ),
    Section(
        "error_handling",
        "Error Handling",
        "Error Handling",
        plan.ErrorHandlingSection,
        ("components",),
        ("edge_cases",),
    ),
    Section(
        "security",
        "Security Measures",
        "Security Measures",
        plan.SecuritySection,
        ("components", "api"),
        ("constitution",),
    ),
    Section(
        "rollback",
        "Rollback Plan",
        "Rollback Plan",
        plan.RollbackSection,
        ("database", "dependencies"),
        (),
    ),
    Section(
        "steps",
        "Implementation Steps",
        "Implementation Steps",
        plan.StepsSection,
        ("components", "database", "api", "testing"),
        ("stories", "scenarios", "edge_cases", "constitution"),
    ),
    Section(
        "verification",
        "Verification Plan",
        "Verification Plan",
        plan.VerificationSection,
        ("testing", "security"),
        ("stories", "edge_cases"),
    ),
)

BY_NAME: dict[str, Section] = {s.name: s for s in SECTIONS}
NAMES: tuple[SectionName, ...] = get_args(SectionName)


class UndeclaredSection(LookupError):
    """A drafter read an upstream section its registry record does not declare (a bug)."""


class Upstream(Mapping[str, BaseModel]):
    """The drafted sections one section was declared to depend on, and nothing else."""

    def __init__(self, section: Section, drafted: Mapping[str, BaseModel]) -> None:
        self._section = section
        self._drafted = {name: drafted[name] for name in section.depends_on if name in drafted}

    def __getitem__(self, name: str) -> BaseModel:
        if name not in self._section.depends_on:
            raise UndeclaredSection(
                f"section {self._section.name} read section {name}, which it does not declare "
                f"in its registry record (depends_on={self._section.depends_on})"
            )
        return self._drafted[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._drafted)

    def __len__(self) -> int:
        return len(self._drafted)


@cache
def depth() -> int:
    """Levels of the section DAG: the least number of sequential drafting calls."""
    levels: dict[str, int] = {}
    for section in SECTIONS:
        levels[section.name] = 1 + max((levels[d] for d in section.depends_on), default=-1)
    return max(levels.values()) + 1


def downstream(names: set[str]) -> set[str]:
    """`names` and every section that depends on them, directly or not."""
    result = set(names)
    for section in SECTIONS:
        if result.intersection(section.depends_on):
            result.add(section.name)
    return result


def _check_registry() -> None:
    names = [s.name for s in SECTIONS]
    if tuple(names) != NAMES and sorted(names) != sorted(NAMES):
        raise AssertionError("SECTIONS and SectionName disagree")
    seen: set[str] = set()
    for section in SECTIONS:
        if not seen.issuperset(section.depends_on):
            raise AssertionError(f"{section.name} is listed before a section it depends on")
        seen.add(section.name)


_check_registry()
