"""Read back: drafter's own PLAN.md parses back into the model it was rendered from, exactly;
plans in another layout give located findings, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from drafter.app.workflow import DraftRequest, spec_to_plan
from drafter.checks.compliance import check, coverage, structural_findings
from drafter.document.readback import READ_RULE, read
from drafter.document.render import render
from drafter.document.trailer import split as split_trailer
from drafter.inputs import spec as spec_module
from drafter.model import plan as p
from tests.conftest import EXAMPLES, corpus_case, corpus_params
from tests.planfactory import (
    api_section,
    case,
    component,
    components_section,
    endpoint,
    make_plan,
    phase,
    step,
    steps_section,
    suite,
    suites_section,
)

EXAMPLE = EXAMPLES / "csv-export"


def _round_trip(spec_path: Path) -> None:
    drafted = spec_to_plan(DraftRequest(spec_path=spec_path, to_stdout=True))
    body, trailer = split_trailer(drafted.text)
    assert trailer is not None
    spec = spec_module.load(spec_path)
    result = read(drafted.text)
    assert result.findings == ()
    assert result.plan is not None
    assert render(result.plan, drafted.report, spec) == body
    # What `check` decides rests on the tags and structure read back, not only on the text.
    assert coverage(result.plan, spec) == coverage(drafted.plan, spec)
    assert structural_findings(result.plan, spec) == structural_findings(drafted.plan, spec)


@corpus_params
def test_round_trip_on_every_corpus_case(case: str) -> None:
    _round_trip(corpus_case(case) / "spec.md")


def test_round_trip_on_the_example() -> None:
    _round_trip(EXAMPLE / "SPEC.md")


def test_the_committed_example_plan_reads_back_to_its_own_text() -> None:
    text = (EXAMPLE / "PLAN.md").read_text("utf-8")
    body, _ = split_trailer(text)
    spec = spec_module.load(EXAMPLE / "SPEC.md")
    result = read(text)
    assert result.plan is not None and result.findings == ()
    drafted = spec_to_plan(DraftRequest(spec_path=EXAMPLE / "SPEC.md", to_stdout=True))
    assert render(result.plan, drafted.report, spec) == body


def _tricky_plan() -> p.Plan:
    """Values that collide with the markup: pipes, quotes, semicolons, brackets, parentheses,
    colons, `**` in a route, blank lines in SQL, empty strings, "None" reasons."""
    core = component("Parser | core", "src/demo/core.py")
    core.new_files[0].symbols = [
        p.CodeSymbol(name="parse()", kind="function", description="reads [raw] input"),
        p.CodeSymbol(name="Token", kind="class", description=""),
    ]
    core.new_files[0].requirement_ids = ["FR-001"]
    core.modified_files = [
        p.ModifiedFile(
            path="src/demo/cli.py",
            changes=[p.FileChange(description="add a flag (see notes)", requirement_ids=[])],
            proposed=True,
        )
    ]
    named_testing = component("Testing", "src/demo/testing_helpers.py")
    return make_plan(
        architecture=p.ArchitectureSection(
            nodes=[
                p.DiagramNode(id="user", label='The "user"; a person', kind="actor"),
                p.DiagramNode(id="svc", label="Service", kind="service"),
                p.DiagramNode(id="db", label="Store", kind="datastore"),
                p.DiagramNode(id="ext", label="GitHub", kind="external"),
            ],
            edges=[
                p.DiagramEdge(source="user", target="svc", label="calls | asks"),
                p.DiagramEdge(source="svc", target="db", label=None),
            ],
            stack=[p.StackRow(component="A | B", technology="Python 3.11", justification="")],
            patterns=[p.DesignPattern(name="Retry", usage="on 5xx: back off")],
            reviews=[p.ReviewItem(text="Check the diagram.")],
        ),
        components=components_section(core, named_testing),
        database=p.DatabaseSection(
            database=p.Database(
                tables=[
                    p.Table(
                        name="items",
                        columns=[
                            p.Column(name="id", type="BIGINT", constraints="PRIMARY KEY"),
                            p.Column(name="at", type="TIMESTAMP WITH TIME ZONE", constraints=None),
                        ],
                        requirement_ids=["FR-001"],
                    )
                ],
                migrations=[
                    p.Migration(
                        name="001_items",
                        up="CREATE TABLE items (id BIGINT);\n\nCREATE INDEX i ON items (id);",
                        down="DROP TABLE items;",
                    )
                ],
            ),
            not_applicable_reason=None,
            reviews=[],
        ),
        api=api_section(endpoint("GET", "/files/**", "FR-001")),
        testing=suites_section(
            suite("unit", case("parses [raw] input", "FR-001"), case("", "FR-001")),
            suite("integration", case("GET /files/** works", "FR-001")),
        ),
        steps=steps_section(
            phase("Build", step("Write failing tests", "FR-001"), step("Implement it", "FR-001")),
            phase("Ship", step("Release"), estimate=""),
        ),
        performance=p.PerformanceSection(
            targets=[
                p.PerformanceTarget(metric="p95: latency", target="200 ms", requirement_ids=[])
            ],
            techniques=["caching"],
            reviews=[],
        ),
        rollback=p.RollbackSection(
            steps=[
                p.RollbackStep(title="Revert", detail="revert the merge", command="git revert X"),
                p.RollbackStep(title="Tell people", detail="", command=None),
            ],
            reviews=[],
        ),
        verification=p.VerificationSection(
            commands=[
                p.VerificationCommand(comment="all", command="pytest"),
                p.VerificationCommand(comment="", command="# not a comment"),
            ],
            success_criteria=[p.Check(text="all pass", requirement_ids=["FR-001"])],
            manual=[
                p.ManualGroup(title="By hand", checks=[p.Check(text="look", requirement_ids=[])])
            ],
            deployment=["deploy"],
            reviews=[],
        ),
        open_issues=p.OpenIssuesSection(
            issues=[
                p.OpenIssue(text="Decide the limit", source="spec line 3, FR-001"),
                p.OpenIssue(text="Plain issue", source=None),
            ],
            reviews=[p.ReviewItem(text="Owner of this list?")],
        ),
        references=[
            p.Reference(label="Spec", target="./SPEC.md"),
            p.Reference(label="Notes", target=None),
        ],
    )


def test_values_that_collide_with_the_markup_read_back_exactly() -> None:
    spec = spec_module.load(EXAMPLE / "SPEC.md")
    original = _tricky_plan()
    report = check(original, spec, None)
    text = render(original, report, spec)
    result = read(text)
    assert result.findings == ()
    assert result.plan is not None
    assert render(result.plan, report, spec) == text
    database = result.plan.database.database
    assert database is not None
    migration = database.migrations[0]
    assert migration.up == "CREATE TABLE items (id BIGINT);\n\nCREATE INDEX i ON items (id);"
    assert result.plan.architecture.nodes[0].label == 'The "user"; a person'
    assert result.plan.architecture.stack[0].component == "A | B"
    assert result.plan.api.endpoints[0].path == "/files/**"
    assert [c.name for c in result.plan.components.components] == ["Parser | core", "Testing"]
    assert result.plan.open_issues.reviews == original.open_issues.reviews


def test_spans_point_at_the_section_headings() -> None:
    text = (EXAMPLE / "PLAN.md").read_text("utf-8")
    lines = text.splitlines()
    spans = read(text).spans
    assert spans["goal"].start == 1
    assert lines[spans["steps"].start - 1] == "## Implementation Steps"
    assert lines[spans["testing"].start - 1].endswith(": Testing")
    assert spans["testing"].end == spans["steps"].start - 1
    assert read(text).section_at(spans["api"].start + 1) == "api"


@corpus_params
def test_hand_written_corpus_plans_give_located_dr001_findings(case: str) -> None:
    path = corpus_case(case) / "plan.md"
    if not path.is_file():
        pytest.skip(f"{case} has no plan.md")
    text = path.read_text("utf-8")
    result = read(text)
    assert result.plan is None
    assert result.findings
    line_count = len(text.splitlines())
    for finding in result.findings:
        assert finding.rule_id == "DR001" and finding.severity == "error"
        assert "missing or out of order" in finding.message
        assert 1 <= finding.line <= line_count


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\ufeff",
        "# Title only\n",
        "## Goal\n## Goal\n## References\n",
        "```\n## Goal\n",  # an unclosed fence swallows the rest
        "\x00\x01 binary-ish \udcff text",
    ],
)
def test_odd_input_gives_findings_not_a_crash(text: str) -> None:
    result = read(text)
    assert result.plan is None
    assert any(f.rule_id == "DR001" for f in result.findings)


def test_a_line_outside_the_layout_is_reported_and_the_plan_still_read() -> None:
    lines = (EXAMPLE / "PLAN.md").read_text("utf-8").splitlines()
    at = lines.index("## Data Flow") + 1
    lines.insert(at, "Some prose a person added.")
    result = read("\n".join(lines) + "\n")
    assert result.plan is not None
    [finding] = result.findings
    assert finding.rule_id == READ_RULE and finding.severity == "warning"
    assert finding.line == at + 1 and finding.section == "data_flow"
    assert "Some prose a person added." in finding.message


def test_a_footer_status_outside_the_model_is_reported() -> None:
    text = (EXAMPLE / "PLAN.md").read_text("utf-8").replace("**Status**: Draft", "**Status**: Done")
    result = read(text)
    assert result.plan is not None and result.plan.footer.status == "Draft"
    [finding] = result.findings
    assert "'Done'" in finding.message
    assert text.splitlines()[finding.line - 1] == "**Status**: Done  "
