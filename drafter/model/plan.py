"""The plan model: one pydantic model per template section, strict-schema compatible.

Every model forbids extra keys and has only required fields; optional values are typed
`X | None` (OpenAI strict structured output needs exactly this). No dicts, no non-None defaults.
Diagrams and tables are structure, so the renderer makes them valid by construction.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


IdList = list[str]
_IDS = "Spec requirement / scenario / edge-case IDs this item serves, e.g. ['FR-003', 'US2.1']"


class ReviewItem(Model):
    """Something the drafter could not know; shown in its section and again under Open Issues."""

    text: str = Field(description="What a person must decide or confirm, in one sentence")


# `--allow-partial` fills a section it could not draft with an empty one carrying this review
# item; the template then writes nothing else in it (no "none found" sentence that would read
# as a finding), and the item is read back from the plan like any other.
_NOT_DRAFTED = re.compile(r"section [a-z_]+ could not be drafted: ")


def not_drafted_review(section: str, cause: str) -> ReviewItem:
    return ReviewItem(text=f"section {section} could not be drafted: {cause}")


def undrafted(section: object) -> bool:
    """True for a section that `--allow-partial` filled in because it could not be drafted."""
    return any(_NOT_DRAFTED.match(item.text) for item in getattr(section, "reviews", ()))


# --- Goal -------------------------------------------------------------------------------


class GoalSection(Model):
    feature_name: str = Field(description="Short feature name for the plan title")
    summary: str = Field(description="One line: what the plan implements")
    goal: str = Field(description="2-4 sentences: what exists, what changes, how it is proven")
    reviews: list[ReviewItem]


# --- Architecture -----------------------------------------------------------------------

NodeKind = Literal["actor", "component", "service", "external", "datastore"]


class DiagramNode(Model):
    id: str = Field(description="Mermaid-safe identifier: letters, digits, underscore")
    label: str
    kind: NodeKind


class DiagramEdge(Model):
    source: str = Field(description="id of a node")
    target: str = Field(description="id of a node")
    label: str | None


class StackRow(Model):
    component: str
    technology: str
    justification: str


class DesignPattern(Model):
    name: str
    usage: str = Field(description="Where and why it is used")


class ArchitectureSection(Model):
    nodes: list[DiagramNode]
    edges: list[DiagramEdge]
    stack: list[StackRow]
    patterns: list[DesignPattern]
    reviews: list[ReviewItem]


# --- Proposed changes: components ------------------------------------------------------

SymbolKind = Literal["function", "class", "method", "type", "constant", "module"]


# How a file's symbols are grouped under "**Key …**:" in PLAN.md (rendered and read back).
SYMBOL_HEADINGS: dict[SymbolKind, str] = {
    "function": "Functions",
    "class": "Classes",
    "method": "Methods",
    "type": "Types",
    "constant": "Constants",
    "module": "Modules",
}


class CodeSymbol(Model):
    name: str = Field(description="Identifier as it will appear in code, e.g. `parse_spec()`")
    kind: SymbolKind
    description: str


class NewFile(Model):
    path: str = Field(description="Repository-relative path")
    purpose: str
    symbols: list[CodeSymbol]
    requirement_ids: IdList = Field(description=_IDS)
    proposed: bool = Field(description="True when the path is a guess a person must confirm")


class FileChange(Model):
    description: str
    requirement_ids: IdList = Field(description=_IDS)


class ModifiedFile(Model):
    path: str = Field(description="Repository-relative path")
    changes: list[FileChange]
    proposed: bool


class Component(Model):
    name: str
    purpose: str
    new_files: list[NewFile]
    modified_files: list[ModifiedFile]


class ComponentsSection(Model):
    components: list[Component]
    reviews: list[ReviewItem]


# --- Proposed changes: database ----------------------------------------------------------


class Column(Model):
    name: str
    type: str = Field(description="SQL type, e.g. VARCHAR(255)")
    constraints: str | None = Field(description="e.g. NOT NULL, PRIMARY KEY; null for none")


class Table(Model):
    name: str
    columns: list[Column]
    requirement_ids: IdList = Field(description=_IDS)


class Migration(Model):
    name: str = Field(description="e.g. 001_add_feature_table")
    up: str = Field(description="SQL that applies the change")
    down: str = Field(description="SQL that reverts it exactly")


class Database(Model):
    tables: list[Table]
    migrations: list[Migration]


class DatabaseSection(Model):
    database: Database | None = Field(description="null when the feature stores nothing")
    not_applicable_reason: str | None = Field(description="Why there is no schema change")
    reviews: list[ReviewItem]


# --- Proposed changes: API layer ---------------------------------------------------------


class Endpoint(Model):
    method: str = Field(description="HTTP method, or TOOL for an MCP tool, CLI for a command")
    path: str = Field(description="Route, tool name or command")
    controller: str | None
    service: str | None
    validation: str | None
    requirement_ids: IdList = Field(description=_IDS)


class ApiSection(Model):
    endpoints: list[Endpoint]
    not_applicable_reason: str | None = Field(description="Why there is no API; null if any")
    reviews: list[ReviewItem]


# --- Proposed changes: testing ----------------------------------------------------------

TestLevel = Literal["unit", "integration", "e2e"]


class TestCase(Model):
    __test__ = False  # not a pytest class

    description: str
    requirement_ids: IdList = Field(description=_IDS)


class TestSuite(Model):
    __test__ = False

    level: TestLevel
    file: str = Field(description="Repository-relative path of the test file")
    cases: list[TestCase]


class TestingSection(Model):
    suites: list[TestSuite]
    reviews: list[ReviewItem]


# --- Implementation steps ----------------------------------------------------------------


class Step(Model):
    description: str
    requirement_ids: IdList = Field(description=_IDS)


class Phase(Model):
    name: str = Field(description="e.g. Setup & Foundation")
    steps: list[Step]
    estimate: str = Field(description="e.g. '1 day (size heuristic)'; never blank")


class StepsSection(Model):
    phases: list[Phase]
    reviews: list[ReviewItem]


# --- Dependencies --------------------------------------------------------------------------


class ExternalDependency(Model):
    name: str
    version: str | None = Field(description="Version constraint, null when unknown")
    justification: str


class InternalDependency(Model):
    module: str
    reason: str


class DependenciesSection(Model):
    external: list[ExternalDependency]
    internal: list[InternalDependency]
    prerequisites: list[str]
    reviews: list[ReviewItem]


# --- Data flow ----------------------------------------------------------------------------


class Participant(Model):
    id: str = Field(description="Mermaid-safe identifier")
    label: str


class Message(Model):
    source: str = Field(description="id of a participant")
    target: str = Field(description="id of a participant")
    text: str
    reply: bool = Field(description="True for a response arrow (-->>)")


class DataFlowSection(Model):
    participants: list[Participant]
    messages: list[Message]
    reviews: list[ReviewItem]


# --- Error handling ---------------------------------------------------------------------------


class ErrorType(Model):
    code: str = Field(description="e.g. E_WALLET_MISSING")
    description: str
    handling: str
    requirement_ids: IdList = Field(description=_IDS)


class LogLevel(Model):
    level: Literal["Debug", "Info", "Warn", "Error"]
    events: str


class ErrorHandlingSection(Model):
    errors: list[ErrorType]
    logging: list[LogLevel]
    reviews: list[ReviewItem]


# --- Security ---------------------------------------------------------------------------------


class SecurityItem(Model):
    text: str
    requirement_ids: IdList = Field(description=_IDS)


class SecuritySection(Model):
    items: list[SecurityItem]
    reviews: list[ReviewItem]


# --- Performance -------------------------------------------------------------------------------


class PerformanceTarget(Model):
    metric: str
    target: str
    requirement_ids: IdList = Field(description=_IDS)


class PerformanceSection(Model):
    targets: list[PerformanceTarget]
    techniques: list[str]
    reviews: list[ReviewItem]


# --- Rollback ----------------------------------------------------------------------------------


class RollbackStep(Model):
    title: str
    detail: str
    command: str | None = Field(description="Shell command, null when the step is manual")


class RollbackSection(Model):
    steps: list[RollbackStep]
    reviews: list[ReviewItem]


# --- Verification ------------------------------------------------------------------------------


class VerificationCommand(Model):
    comment: str
    command: str


class Check(Model):
    text: str
    requirement_ids: IdList = Field(description=_IDS)


class ManualGroup(Model):
    title: str
    checks: list[Check]


class VerificationSection(Model):
    commands: list[VerificationCommand]
    success_criteria: list[Check]
    manual: list[ManualGroup]
    deployment: list[str]
    reviews: list[ReviewItem]


# --- Open issues ---------------------------------------------------------------------------------


class OpenIssue(Model):
    text: str
    source: str | None = Field(description="Where it comes from, e.g. 'spec line 93, FR-011'")


class OpenIssuesSection(Model):
    issues: list[OpenIssue]
    reviews: list[ReviewItem]


# --- References and footer (deterministic, never drafted by a model) --------------------------


class Reference(Model):
    label: str
    target: str | None


class Footer(Model):
    status: Literal["Draft", "In Review", "Approved", "In Progress", "Completed"]
    author: str
    created: str
    last_updated: str
    reviewers: str
    estimated_effort: str


class Plan(Model):
    """A whole implementation plan. Section attribute names are the section registry's names."""

    goal: GoalSection
    architecture: ArchitectureSection
    components: ComponentsSection
    database: DatabaseSection
    api: ApiSection
    testing: TestingSection
    steps: StepsSection
    dependencies: DependenciesSection
    data_flow: DataFlowSection
    error_handling: ErrorHandlingSection
    security: SecuritySection
    performance: PerformanceSection
    rollback: RollbackSection
    verification: VerificationSection
    open_issues: OpenIssuesSection
    references: list[Reference]
    footer: Footer


def json_schema(model: type[BaseModel] = Plan) -> dict[str, Any]:
    """JSON Schema of `model` (the whole plan by default)."""
    return model.model_json_schema()


def schema_text(model: type[BaseModel] = Plan) -> str:
    return json.dumps(json_schema(model), indent=2, ensure_ascii=False) + "\n"
