"""Spec parser: every corpus spec, heading variants, OpenSpec layouts and each bad input."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from conftest import corpus_case, corpus_params

from drafter.core.errors import InputError
from drafter.inputs.spec import MAX_SPEC_BYTES, Requirement, Spec, load, parse

FIXTURES = Path(__file__).parent / "fixtures" / "specs"


def _ids(spec: Spec, prefix: str = "") -> list[str]:
    return [r.id for r in spec.requirements if r.id.startswith(prefix)]


def _req(spec: Spec, requirement_id: str) -> Requirement:
    found = spec.requirement(requirement_id)
    assert found is not None, requirement_id
    return found


def _numbered(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{n:03d}" for n in range(1, count + 1)]


def _source_line(path: Path, line: int) -> str:
    return path.read_text(encoding="utf-8").splitlines()[line - 1]


# --- every corpus case ---------------------------------------------------------------------


@corpus_params
def test_corpus_case_parses_with_lines_that_point_at_the_source(case: str) -> None:
    spec = load(corpus_case(case) / "spec.md")
    assert spec.title and spec.summary
    assert spec.requirements, "every corpus spec has requirements"
    assert len({r.id for r in spec.requirements}) == len(spec.requirements)
    for requirement in spec.requirements:
        line = _source_line(requirement.source or spec.path, requirement.line)
        if re.fullmatch(r"R\d+\.\d+", requirement.id):  # Kiro criterion: a numbered item
            assert re.match(r"\s*\d+\.", line), (requirement.id, line)
        elif ":" in requirement.id:  # OpenSpec: the `### Requirement: Name` heading
            assert line.startswith("### Requirement:"), (requirement.id, line)
        elif not requirement.id.startswith("NFR-") or spec.format != "kiro":
            assert requirement.id in line, (requirement.id, line)
    for story in spec.stories:
        line = _source_line(spec.path, story.line)
        assert line.startswith("#") and ("Story" in line or "Requirement" in line), line
    for scenario in spec.scenarios:
        line = _source_line(scenario.source or spec.path, scenario.line)
        assert re.search(r"Given|GIVEN|Scenario:", line), (scenario.id, line)
    for clarification in spec.clarifications:
        assert "[NEEDS CLARIFICATION" in _source_line(spec.path, clarification.line)


@corpus_params
def test_corpus_parse_is_deterministic(case: str) -> None:
    path = corpus_case(case) / "spec.md"
    assert load(path) == load(path)


def test_lem_toml_mode() -> None:
    spec = load(corpus_case("lem-toml-mode") / "spec.md")
    assert spec.format == "spec-kit"
    assert spec.language == "en"
    assert spec.title == "TOML Mode Extension"
    assert spec.created == "2025-12-30"
    assert spec.summary.startswith("Add a TOML mode extension to Lem editor")
    assert _ids(spec, "FR-") == _numbered("FR", 12)
    assert _ids(spec, "SC-") == _numbered("SC", 5)
    assert {r.kind for r in spec.requirements if r.id.startswith("SC-")} == {"success"}
    assert [(s.id, s.priority) for s in spec.stories] == [
        ("US1", "P1"),
        ("US2", "P2"),
        ("US3", "P3"),
    ]
    assert spec.stories[0].title == "Open and Edit TOML Files with Syntax Highlighting"
    assert [s.id for s in spec.scenarios if s.story_id == "US1"] == [
        f"US1.{n}" for n in range(1, 6)
    ]
    first = spec.scenarios[0]
    assert first.given == "a file named `Cargo.toml` exists"
    assert first.when == "I open it in Lem"
    assert first.then is not None and first.then.startswith("TOML mode activates automatically")
    assert [e.name for e in spec.entities] == [
        "TOML Document",
        "Table",
        "Key-Value Pair",
        "Value Types",
    ]
    assert [e.id for e in spec.edge_cases] == ["EC1", "EC2", "EC3", "EC4", "EC5"]
    assert len(spec.assumptions) == 4
    assert spec.clarifications == ()


def test_ambient_workflow_dashboard_clarifications_and_template_noise() -> None:
    spec = load(corpus_case("ambient-workflow-dashboard") / "spec.md")
    assert _ids(spec) == _numbered("FR", 14)
    # The template's guidance ("Mark with [NEEDS CLARIFICATION: specific question]") is not one.
    assert [c.requirement_id for c in spec.clarifications] == [
        "FR-011",
        "FR-012",
        "FR-013",
        "FR-014",
    ]
    assert spec.clarifications[2].text == "conflict resolution mechanism not specified"
    # "### Primary User Story" is the story; the top-level scenarios attach to it.
    assert [s.id for s in spec.stories] == ["US1"]
    assert [s.id for s in spec.scenarios] == ["US1.1", "US1.2", "US1.3", "US1.4"]
    assert {s.story_id for s in spec.scenarios} == {"US1"}
    assert len(spec.edge_cases) == 3
    assert len(spec.entities) == 6


def test_ambient_gerrit_integration() -> None:
    spec = load(corpus_case("ambient-gerrit-integration") / "spec.md")
    assert _ids(spec, "FR-") == _numbered("FR", 19)
    assert _ids(spec, "SC-") == _numbered("SC", 7)
    assert [s.priority for s in spec.stories] == ["P1", "P1", "P1", "P2", "P1", "P2"]
    assert spec.summary.startswith("Add Gerrit as a native integration")


def test_moonmind_celery_user_story_zero() -> None:
    spec = load(corpus_case("moonmind-celery-chain-workflow") / "spec.md")
    assert [s.id for s in spec.stories] == ["US0", "US1", "US2", "US3"]
    assert [s.id for s in spec.scenarios if s.story_id == "US0"] == ["US0.1", "US0.2", "US0.3"]
    assert _ids(spec, "FR-") == _numbered("FR", 16)
    # "## Assumptions & Dependencies" bullets, but not the "### Scope Boundaries" below it.
    assert len(spec.assumptions) == 9
    assert not any("does not modify workflow task authoring" in a for a in spec.assumptions)
    assert "tools/test_unit.sh" in spec.named_paths


def test_moonmind_agent_adapters_design_ids() -> None:
    spec = load(corpus_case("moonmind-agent-adapters-phase3") / "spec.md")
    design = [r for r in spec.requirements if r.kind == "design"]
    assert [r.id for r in design] == [
        "DOC-REQ-EXT-ADAPT",
        "DOC-REQ-EXT-RESP",
        "DOC-REQ-MNG-ADAPT",
        "DOC-REQ-MNG-RESP",
        "DOC-REQ-LIFECYCLE",
        "DOC-REQ-POLLING",
    ]
    assert _ids(spec, "SC-") == _numbered("SC", 3)
    assert spec.stories == ()


def test_moonmind_post_merge_jira() -> None:
    spec = load(corpus_case("moonmind-post-merge-jira") / "spec.md")
    # `**Input**:` is followed by a fenced block; its first paragraph is the summary.
    assert spec.summary == (
        "Use the Jira preset brief for MM-403 as the canonical Moon Spec orchestration input."
    )
    assert _ids(spec, "FR-") == _numbered("FR", 17)
    assert _ids(spec, "SC-") == _numbered("SC", 9)
    assert _ids(spec, "DESIGN-REQ-") == _numbered("DESIGN-REQ", 10)
    first = spec.requirement("DESIGN-REQ-001")
    assert first is not None and first.kind == "design"
    assert first.maps_to == ("FR-001", "FR-002", "FR-003", "FR-011")
    assert first.text.startswith("A Jira-backed merge-automation run MUST")
    # MoonSpec's single "## User Story - Title" is US1.
    assert [(s.id, s.title) for s in spec.stories] == [("US1", "Complete Jira After Merge")]
    assert spec.stories[0].text.startswith("As a Jira-backed workflow operator")
    assert [s.id for s in spec.scenarios] == [f"US1.{n}" for n in range(1, 7)]
    assert len(spec.edge_cases) == 8
    assert "artifacts/merge_automation/post_merge_jira_resolution.json" in spec.named_paths


def test_kiro_lockdrop_app() -> None:
    spec = load(corpus_case("kiro-lockdrop-app") / "spec.md")
    assert spec.format == "kiro"
    assert spec.title == "Lockdrop"
    assert [s.id for s in spec.stories] == [f"R{n}" for n in range(1, 14)]
    assert {s.priority for s in spec.stories} == {None}
    assert spec.stories[0].text.startswith("As a user, I want to connect my Talisman wallet")
    r12 = spec.requirement("R1.2")
    assert r12 is not None and r12.ears == "if" and r12.story_id == "R1"
    assert r12.text.startswith("IF the Talisman_Wallet extension is not installed")
    assert _req(spec, "R1.1").ears == "when"
    assert _req(spec, "R1.4").ears == "ubiquitous"
    assert _req(spec, "R2.2").ears == "while"
    assert _req(spec, "R12.4").ears == "where"
    assert len([r for r in spec.requirements if r.story_id == "R10"]) == 6
    assert _ids(spec, "NFR-") == [f"NFR-{n}" for n in range(1, 9)]
    assert {r.kind for r in spec.requirements if r.id.startswith("NFR-")} == {"non_functional"}
    assert len(spec.entities) == 11 and spec.entities[0].name == "Lockdrop_App"
    assert spec.summary.startswith("Lockdrop is a decentralized time-capsule application")


def test_kiro_prompt_practice_app() -> None:
    spec = load(corpus_case("kiro-prompt-practice-app") / "spec.md")
    assert spec.format == "kiro"
    assert spec.title == "Prompt Practice App"
    assert [s.id for s in spec.stories] == [f"R{n}" for n in range(1, 10)]
    # "WHEN I … THEN the system SHALL …": the older EARS form is still event-driven.
    assert {r.ears for r in spec.requirements} == {"when"}


def test_kiro_japanese() -> None:
    spec = load(corpus_case("kiro-task-orchestrator-mcp-ja") / "spec.md")
    assert spec.format == "kiro"
    assert spec.language == "ja"
    assert [s.id for s in spec.stories] == [f"R{n}" for n in range(1, 7)]
    assert len([r for r in spec.requirements if r.story_id == "R3"]) == 18
    # Japanese criteria carry no EARS keywords.
    assert {r.ears for r in spec.requirements} == {None}
    assert spec.title.endswith("MCPサーバー")


def test_openspec_reads_the_sibling_delta_spec() -> None:
    case = corpus_case("openspec-memento-job-lease-recovery")
    spec = load(case / "spec.md")
    assert spec.format == "openspec"
    assert spec.title == "Fix Job Lease Recovery and Rate Limit Handling"
    assert spec.summary.startswith("The embedding job processing system has a critical flaw")
    assert spec.extra_sources == (case / "delta-spec.md",)
    assert _ids(spec) == [
        "embedding-jobs:stale-job-recovery",
        "embedding-jobs:explicit-job-lease-release",
        "embedding-jobs:rate-limiting-and-resource-management",
        "embedding-jobs:job-lifecycle-management",
        "embedding-jobs:job-timeout-and-heartbeat",
    ]
    assert [r.delta for r in spec.requirements] == [
        "added",
        "added",
        "modified",
        "modified",
        "modified",
    ]
    assert {r.source for r in spec.requirements} == {case / "delta-spec.md"}
    stale = [s for s in spec.scenarios if s.id.startswith("embedding-jobs:stale-job-recovery#")]
    assert [s.id for s in stale] == [f"embedding-jobs:stale-job-recovery#{n}" for n in range(1, 5)]
    assert stale[0].text == "Expired processing jobs reset to pending"
    assert (
        stale[0].given == "a job is in `processing` status with `lock_until` timestamp in the past"
    )
    assert stale[0].then is not None and stale[0].then.startswith("the job is reset to `pending`")
    assert "the attempt counter is not reset" in stale[0].then
    assert "src/storage/neo4j/Neo4jJobStore.ts" in spec.named_paths
    assert "src/embeddings/Neo4jEmbeddingJobManager.ts" in spec.named_paths


# --- own fixtures --------------------------------------------------------------------------


def test_heading_variants() -> None:
    path = FIXTURES / "heading-variants.md"
    spec = load(path)
    assert spec.title == "Nightly Report Mailer"
    assert spec.summary == "Teams get a plain-text usage report every night at 02:00 local time."
    # Bold, colon-inside-bold, bare, paragraph-line and table-row forms; the repeated FR-001
    # is ignored and the first one kept.
    assert _ids(spec) == [
        "FR-001",
        "FR-002",
        "FR-003",
        "FR-004",
        "FR-005",
        "NFR-001",
        "FR-006",
        "SC-001",
    ]
    assert _req(spec, "FR-001").text == "The mailer MUST send one report per team member."
    fr5 = spec.requirement("FR-005")
    assert fr5 is not None and _source_line(path, fr5.line).startswith("**FR-005**")
    assert _req(spec, "NFR-001").kind == "non_functional"
    assert _req(spec, "SC-001").kind == "success"
    [clarification] = spec.clarifications
    assert clarification.requirement_id == "FR-004"
    assert _source_line(path, clarification.line).startswith("[NEEDS CLARIFICATION")
    [story] = spec.stories
    assert (story.id, story.title, story.priority) == ("US1", "Receive the report", "P2")
    assert [(s.given, s.when, s.then) for s in spec.scenarios] == [
        ("a team with two members", "the nightly job runs", "both members get one mail each"),
        ("a team with no members", "the nightly job runs", "no mail is sent"),
    ]
    assert [e.name for e in spec.entities] == ["Team", "Report"]
    assert [e.text for e in spec.edge_cases] == [
        "A member address bounces.",
        "The usage database is unreachable at 02:00.",
    ]
    assert spec.assumptions == ("The SMTP relay at mail.internal accepts 50 mails per second.",)
    # `/status` is absolute and `mail.internal` has no slash: neither is a repository path.
    assert spec.named_paths == ("logs/mailer/sends.log", "templates/report/nightly.txt")


def test_crlf_and_bom_keep_line_numbers(tmp_path: Path) -> None:
    source = FIXTURES / "heading-variants.md"
    crlf = tmp_path / "spec.md"
    crlf.write_bytes(b"\xef\xbb\xbf" + source.read_bytes().replace(b"\n", b"\r\n"))
    with_bom = load(crlf)
    plain = load(source)
    assert with_bom.title == "Nightly Report Mailer"
    assert [(r.id, r.line, r.text) for r in with_bom.requirements] == [
        (r.id, r.line, r.text) for r in plain.requirements
    ]
    assert [s.line for s in with_bom.scenarios] == [s.line for s in plain.scenarios]
    assert with_bom.clarifications[0].line == plain.clarifications[0].line


def test_spec_without_requirement_ids_parses_empty() -> None:
    spec = load(FIXTURES / "no-ids.md")
    assert spec.format == "generic"
    assert spec.title == "Dark mode toggle"
    assert spec.summary.startswith("Add a toggle to the settings page")
    assert spec.requirements == ()
    assert spec.stories == () and spec.scenarios == ()


def test_openspec_change_layout_reads_specs_folders() -> None:
    change = FIXTURES / "openspec-change"
    spec = load(change / "proposal.md")
    assert spec.format == "openspec"
    assert spec.title == "Export invoices as CSV and audit exports"
    assert spec.extra_sources == (
        change / "specs" / "audit-log" / "spec.md",
        change / "specs" / "billing-export" / "spec.md",
    )
    by_id = {r.id: r for r in spec.requirements}
    assert by_id["billing-export:csv-invoice-export"].delta == "added"
    assert by_id["billing-export:invoice-pdf-download"].delta == "renamed"
    assert by_id["audit-log:audit-entries"].delta == "modified"
    assert by_id["audit-log:weekly-audit-digest"].delta == "removed"
    assert by_id["audit-log:audit-entries"].source == change / "specs" / "audit-log" / "spec.md"
    export = [s for s in spec.scenarios if s.id.startswith("billing-export:csv-invoice-export#")]
    assert [s.id for s in export] == [
        "billing-export:csv-invoice-export#1",
        "billing-export:csv-invoice-export#2",
    ]
    assert export[0].then == (
        "the CSV has a header row and three data rows; amounts use a dot as decimal separator"
    )
    assert export[1].given == "no invoices dated April 2025"  # GIVEN without bold
    # Bare paths in the Impact section count as well as backticked ones.
    assert spec.named_paths == ("src/billing/export/csv_writer.py", "src/audit/log.py")


def test_parse_is_pure_and_ignores_siblings(tmp_path: Path) -> None:
    text = (FIXTURES / "openspec-change" / "proposal.md").read_text(encoding="utf-8")
    spec = parse(text, tmp_path / "proposal.md")
    assert spec.format == "openspec"
    assert spec.requirements == () and spec.extra_sources == ()


def test_heading_ids_need_a_requirement_context() -> None:
    text = "# T\n\n## Notes\n\n- **MM-403**: a Jira key, not a requirement\n- **REQ-7**: kept\n"
    assert _ids(parse(text, Path("spec.md"))) == ["REQ-7"]


# --- bad input -----------------------------------------------------------------------------


def _error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert _error(tmp_path / "nope.md") == f"spec {tmp_path / 'nope.md'} not found"


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in _error(tmp_path)


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n", b"\xef\xbb\xbf\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "spec.md"
    path.write_bytes(content)
    assert _error(path).endswith("is empty")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "spec.md"
    path.write_bytes(b"# Title\n\x00\x01\x02")
    assert "binary" in _error(path) and "offset 8" in _error(path)


def test_non_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "spec.md"
    path.write_bytes("# Café\n".encode("latin-1"))
    assert "not UTF-8" in _error(path) and "0xe9 at offset 5" in _error(path)
    path.write_bytes(b"\xef\xbb\xbf# Caf\xe9\n")  # the offset counts the BOM too
    assert "offset 8" in _error(path)


def test_ten_megabyte_spec_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "spec.md"
    block = "- **FR-001**: The system MUST do one thing.\n"
    path.write_text("# Huge\n\n" + block * (10 * 2**20 // len(block)), encoding="utf-8")
    started = time.perf_counter()
    message = _error(path)
    assert time.perf_counter() - started < 10
    assert "is 10.0 MB; drafter reads specs up to 2 MB" in message


def test_spec_just_under_the_limit_parses_within_budget(tmp_path: Path) -> None:
    path = tmp_path / "spec.md"
    story = (FIXTURES / "heading-variants.md").read_text(encoding="utf-8")
    path.write_text(story * (MAX_SPEC_BYTES // len(story.encode()) - 1), encoding="utf-8")
    started = time.perf_counter()
    spec = load(path)
    assert time.perf_counter() - started < 10
    assert spec.requirement("FR-001") is not None
    assert len(_ids(spec)) == 8  # repeats of the same IDs are ignored


def test_story_and_requirement_heading_variants() -> None:
    path = FIXTURES / "story-variants.md"
    spec = load(path)
    [story] = spec.stories  # "### User Story Mapping" has neither number nor separator
    assert (story.id, story.title, story.priority) == ("US1", "Download a CSV", "P1")
    assert story.text.startswith("As an analyst")
    [scenario] = spec.scenarios
    assert (scenario.id, scenario.given, scenario.when, scenario.then) == (
        "US1.1",
        "a finished report",
        "I click Download",
        "a CSV file is saved",
    )
    assert _ids(spec) == ["FR-010", "FR-011"]
    assert _req(spec, "FR-010").text == (
        "Streamed export: Exports MUST stream rows instead of building the file in memory."
    )
    assert _req(spec, "FR-011").text == "Exports MUST name the file after the report."
    assert _source_line(path, _req(spec, "FR-011").line) == "### FR-011"
    assert spec.summary == "Analysts export finished reports from one place."


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("Система должна сохранять отчёт каждую ночь и отправлять его владельцу.", "ru"),
        ("The system stores the report nightly; the Japanese label is 報告.", "en"),
        ("システムは毎晩レポートを保存し、所有者に送信すること。", "ja"),
    ],
)
def test_language_by_share_of_letters(body: str, language: str) -> None:
    assert parse(f"# Spec\n\n{body}\n", Path("spec.md")).language == language
