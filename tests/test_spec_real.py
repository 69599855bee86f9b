"""The spec classes seen in real specs (issue 12), one fixture each, written for these tests.

Each fixture is read for the IDs a careful reader finds — no more (no invented IDs), no fewer
— and drafted offline into a plan that `drafter check` passes with every ID traced.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from drafter.app.checking import TraceRow, check_plan, traceability
from drafter.app.workflow import DraftRequest, DraftResult, spec_to_plan
from drafter.inputs import constitution
from drafter.inputs.spec import Spec, identifiers, load, parse

REAL = Path(__file__).parent / "fixtures" / "specs" / "real"
OPENSPEC = REAL / "openspec" / "changes"


def _ids(spec: Spec) -> list[str]:
    return [r.id for r in spec.requirements]


def _text(spec: Spec, requirement_id: str) -> str:
    found = spec.requirement(requirement_id)
    assert found is not None, requirement_id
    return found.text


def _line(path: Path, line: int) -> str:
    return path.read_text(encoding="utf-8").splitlines()[line - 1]


# --- Kiro: headings in the spec's language and other English words ---------------------------


@pytest.mark.parametrize(
    ("name", "language", "expected"),
    [
        ("kiro-zh.md", "zh", ["R1.1", "R1.2", "R1.3", "R2.1", "R2.2", "R2.3"]),
        ("kiro-ja.md", "ja", ["R1.1", "R1.2", "R1.3", "R2.1", "R2.2"]),
        ("kiro-ru.md", "ru", ["R1.1", "R1.2", "R2.1"]),
        ("kiro-es-ko.md", "ko", ["R1.1", "R1.2", "R2.1", "R2.2"]),
    ],
)
def test_kiro_requirement_headings_in_the_specs_language(
    name: str, language: str, expected: list[str]
) -> None:
    path = REAL / name
    spec = load(path)
    assert spec.format == "kiro"
    assert spec.language == language
    assert [s.id for s in spec.stories] == ["R1", "R2"]
    assert _ids(spec) == expected
    for requirement in spec.requirements:
        assert _line(path, requirement.line).startswith(requirement.id.split(".")[1] + ". ")
    assert spec.warnings == ()


def test_kiro_user_story_labels_and_glossary_in_the_specs_language() -> None:
    zh = load(REAL / "kiro-zh.md")
    assert zh.stories[0].title == "离线写入队列"
    assert zh.stories[0].text.startswith("作为经常出差的用户")
    assert [e.name for e in zh.entities] == ["Sync_Queue", "Sync_Client"]
    ja = load(REAL / "kiro-ja.md")
    assert ja.stories[0].text.startswith("利用者として")  # `**目的:**` (cc-sdd's Objective)


def test_kiro_r_headings_and_requirement_with_a_dash() -> None:
    spec = load(REAL / "kiro-r-headings.md")
    assert [(s.id, s.title) for s in spec.stories] == [
        ("R1", "Read the capture date"),
        ("R2", "Rename without collisions"),
        ("R3", "Dry run"),
    ]
    # R3 has no criteria: the requirement itself is traced, under its own ID.
    assert _ids(spec) == ["R1.1", "R1.2", "R2.1", "R3"]
    assert _text(spec, "R3").startswith("Dry run: As a careful user")


# --- Kiro: acceptance-criteria numbering ------------------------------------------------------


def test_kiro_criteria_numbering_variants() -> None:
    path = REAL / "kiro-criteria-numbering.md"
    spec = load(path)
    assert _ids(spec) == [
        "R1.1", "R1.2", "R1.3",  # `1.1 …`, `1.2. …` lines of one paragraph
        "R2.1", "R2.2",  # `**2.1** …`
        "AC-3.1", "AC-3.2",  # the author's own criterion IDs
        "R4.1", "R4.2", "R4.3",  # status marks before the text
        "R5.1", "R5.2", "R5.3",  # two `#####` groups, each numbered from 1
        "R5b.1",  # the second `Requirement 5`
    ]  # fmt: skip
    assert _text(spec, "R1.2") == (
        "IF the file is larger than 20 MB, THEN THE Chart_Service SHALL reject it with a "
        "size message"
    )
    assert _text(spec, "R2.1").startswith("WHEN the upload finishes")
    assert _text(spec, "R4.1") == "THE Chart_Service SHALL export the chart as PNG"
    assert _text(spec, "R4.3").startswith("WHEN the export finishes")
    assert spec.requirement("AC-3.1") is not None
    assert {r.story_id for r in spec.requirements if r.id.startswith("AC-")} == {"R3"}
    assert _text(spec, "R5.3") == "THE Chart_Service SHALL let only the chart's owner revoke a link"
    assert [s.id for s in spec.stories] == ["R1", "R2", "R3", "R4", "R5", "R5b"]
    assert spec.stories[-1].title == "Comments"
    assert spec.warnings == (
        f"{path}: requirement 5 appears twice (lines 49, 64); the repeats got their own IDs (R5b)",
    )
    for requirement in spec.requirements:
        assert requirement.line and _line(path, requirement.line).strip()


def test_kiro_criteria_as_headings() -> None:
    path = REAL / "kiro-criteria-headings.md"
    spec = load(path)
    assert _ids(spec) == ["R1.1", "R1.2", "R2.1"]
    assert _text(spec, "R1.2") == (
        "Retention: THE Backup_Job SHALL keep the last 30 nightly backups and delete older ones."
    )
    assert _line(path, spec.requirements[0].line) == "### 1.1 Schedule"


def test_kiro_file_with_its_own_ids() -> None:
    path = REAL / "kiro-own-ids.md"
    spec = load(path)
    assert spec.format == "kiro"
    assert _ids(spec) == [
        "FR-1",
        "AC-1",
        "AC-2",
        "FR-2",
        "FR-2.1",
        "FR-2.1.1",
        "FR-2.1.2",
        "FR-2/AC-1",  # AC-1 again, inside FR-2: named by its requirement
        "NFR-1",
        "NFR-2",
    ]
    assert _text(spec, "FR-2/AC-1").startswith("THE Webhook_Service SHALL sign")
    assert spec.requirement("NFR-1") is not None
    assert {r.kind for r in spec.requirements if r.id.startswith("NFR-")} == {"non_functional"}
    assert spec.stories == ()
    assert len(spec.warnings) == 1 and "FR-2/AC-1" in spec.warnings[0]


# --- spec-kit ID variants ---------------------------------------------------------------------


def test_spec_kit_id_variants() -> None:
    spec = load(REAL / "speckit-id-variants.md")
    assert _ids(spec) == [
        "FR-001",
        "FR-005",
        "FR-005b",
        "FR-010",
        "FR-010a",
        "SR-001",
        "SR-002",
        "DOC-REQ-001",
        "NFR-001",
        "AC-001",
        "SC-001",
        "SC-006",
    ]
    assert _text(spec, "FR-010a") == "Ticking an item MUST show who ticked it."
    assert _text(spec, "SR-002") == "Only the owner MUST be able to remove members. — owner only"
    assert _text(spec, "SC-006") == "Shared lists cut duplicate purchases by 20%. (deferred to v2)"
    kinds = {r.id: r.kind for r in spec.requirements}
    assert (kinds["SC-006"], kinds["NFR-001"], kinds["DOC-REQ-001"]) == (
        "success",
        "non_functional",
        "design",
    )


def test_spec_kit_with_stories_but_no_requirement_ids_traces_the_stories() -> None:
    path = REAL / "speckit-stories-only.md"
    spec = load(path)
    assert _ids(spec) == ["US1", "US2"]
    assert [s.id for s in spec.scenarios] == ["US1.1", "US1.2", "US2.1"]
    assert spec.warnings == (
        f"{path}: no requirement IDs to build from (FR-001…); traced the user stories US1, US2 "
        "and their scenarios instead",
    )


def test_no_ids_are_invented_from_plain_bullets() -> None:
    text = (
        "# Requirements Document\n\n## Requirements\n\n### FR-1: Export\n\n"
        "#### Acceptance Criteria\n\n- exports a CSV\n- names the file after the report\n"
    )
    spec = parse(text, Path("requirements.md"))
    assert _ids(spec) == ["FR-1"]


# --- OpenSpec by layout -----------------------------------------------------------------------


def test_openspec_change_found_by_layout_with_headings_in_another_language() -> None:
    change = OPENSPEC / "add-tags"
    spec = load(change / "proposal.md")
    assert spec.format == "openspec"
    assert spec.language == "zh"
    assert spec.title == "为笔记添加标签"
    assert spec.extra_sources == (change / "specs" / "notes" / "spec.md",)
    # The `### Requirement: Example Only` inside the fenced example is not one.
    assert [(r.id, r.delta) for r in spec.requirements] == [
        ("notes:note-tags", "added"),
        ("notes:notebooks", "renamed"),
        ("notes:starred-notes", "removed"),
    ]
    assert _text(spec, "notes:notebooks") == "Notebooks (was Folders)"
    assert [s.id for s in spec.scenarios] == ["notes:note-tags#1"]


def test_archived_openspec_change_without_change_headings() -> None:
    change = OPENSPEC / "archive" / "2026-01-10-pin-notes"
    spec = load(change / "proposal.md")
    assert spec.format == "openspec"
    assert [(r.id, r.delta) for r in spec.requirements] == [("notes:note-order", "modified")]


# --- CJK text and files -----------------------------------------------------------------------


def test_cjk_spec_kit_punctuation_line_breaks_and_title() -> None:
    spec = load(REAL / "speckit-zh.md")
    assert spec.format == "spec-kit"
    assert spec.language == "zh"
    assert spec.title == "报表导出"
    assert _ids(spec) == ["FR-001", "FR-002", "SC-001"]
    assert _text(spec, "FR-001") == "系统 MUST 支持把报表导出为 xlsx 文件，文件名包含报表月份。"
    assert _text(spec, "SC-001") == "95% 的导出在 5 秒内完成。"
    [story] = spec.stories
    assert (story.id, story.title, story.priority) == ("US1", "导出月度报表", "P1")
    assert story.text == "作为财务人员，我希望把月度报表导出为 Excel 文件，以便在本地做进一步分析。"


def test_kiro_cjk_soft_line_break_joins_without_a_space() -> None:
    spec = load(REAL / "kiro-zh.md")
    assert _text(spec, "R1.2") == (
        "THE Sync_Queue SHALL 在浏览器重启后保留全部未上传的变更，并保持它们写入时的顺序"
    )


def test_unclosed_fence_ends_at_the_next_heading_and_is_reported() -> None:
    path = REAL / "unclosed-fence.md"
    spec = load(path)
    assert _ids(spec) == ["FR-001", "SC-001"]
    assert _line(path, spec.requirements[1].line).startswith("- **SC-001**")
    assert spec.warnings == (
        f"{path}: line 9: code fence is never closed; read as closed before the heading at line 12",
    )


def test_bom_and_crlf_keep_ids_and_lines(tmp_path: Path) -> None:
    source = REAL / "kiro-criteria-numbering.md"
    copy = tmp_path / "requirements.md"
    copy.write_bytes(b"\xef\xbb\xbf" + source.read_bytes().replace(b"\n", b"\r\n"))
    assert [(r.id, r.line, r.text) for r in load(copy).requirements] == [
        (r.id, r.line, r.text) for r in load(source).requirements
    ]


# --- what drafter understood: ids, JSON, drafting and checking --------------------------------

FIXTURES = [
    *sorted(p.name for p in REAL.glob("*.md")),
    "openspec/changes/add-tags/proposal.md",
    "openspec/changes/archive/2026-01-10-pin-notes/proposal.md",
]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_drafts_offline_with_every_id_traced_and_check_passes(
    name: str, tmp_path: Path
) -> None:
    source = REAL / name
    work = tmp_path / "case"
    shutil.copytree(source.parent, work)
    spec_path = work / source.name
    result = spec_to_plan(DraftRequest(spec_path=spec_path, output=work / "PLAN.md"))
    assert result.spec.requirements, "every fixture has IDs"
    assert all(row.traced for row in _rows(result)), [r.id for r in _rows(result) if not r.traced]
    checked = check_plan(work / "PLAN.md", spec_path)
    errors = [d.finding.format() for d in checked.diagnostics if d.finding.severity == "error"]
    assert not errors
    assert not [d for d in checked.diagnostics if d.finding.rule_id in ("DR003", "DR004")]
    # Warnings about the spec are said once, not once per reader.
    assert len(result.warnings) == len(set(result.warnings))


def _rows(result: DraftResult) -> list[TraceRow]:
    return list(traceability(result.plan, result.spec))


def test_ids_command_lists_every_id_with_kind_and_line(capsys: pytest.CaptureFixture[str]) -> None:
    from drafter.cli import app

    path = REAL / "speckit-stories-only.md"
    with pytest.raises(SystemExit) as exit_info:
        app(["ids", str(path), "--json"])
    assert exit_info.value.code == 0
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert [(r["id"], r["kind"], r["line"]) for r in rows] == [
        ("US1", "functional", 8),
        ("US1.1", "scenario", 14),
        ("US1.2", "scenario", 15),
        ("US2", "functional", 17),
        ("US2.1", "scenario", 23),
        ("EC1", "edge_case", 27),
    ]
    assert "traced the user stories US1, US2" in err
    assert [i.id for i in identifiers(load(path))] == [r["id"] for r in rows]


def test_ids_command_text_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from drafter.cli import app

    monkeypatch.chdir(REAL)
    with pytest.raises(SystemExit) as exit_info:
        app(["ids", str(REAL / "kiro-criteria-headings.md")])
    assert exit_info.value.code == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["R1", "story"]
    assert lines[1].split()[:3] == ["R1.1", "functional", "kiro-criteria-headings.md:11"]
    assert err.strip() == "kiro spec, 5 IDs: 2 story, 3 functional"


# --- constitution sources of each format ------------------------------------------------------


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / ".git").mkdir()
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_openspec_project_md_is_the_constitution_of_a_change(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        {
            "openspec/project.md": "# Project Context\n\n## Conventions\n\n- Use pytest.\n",
            "openspec/changes/add-x/proposal.md": "# Change: X\n\n## Why\n\nBecause.\n",
        },
    )
    found = constitution.discover(repo / "openspec/changes/add-x/proposal.md", None, None)
    assert found == repo / "openspec" / "project.md"


def test_kiro_steering_files_are_read_together(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        {
            ".kiro/steering/tech.md": "# Tech\n\n## Stack\n\n- Code MUST be typed with mypy.\n",
            ".kiro/steering/product.md": "# Product\n\n## Users\n\n- The app MUST work offline.\n",
            ".kiro/steering/structure.md": "# Layout\n\n## Tests\n\n- Tests SHOULD be in tests/.\n",
            ".kiro/specs/sync/requirements.md": "# Requirements Document\n",
        },
    )
    steering = repo / ".kiro" / "steering"
    found = constitution.discover(repo / ".kiro/specs/sync/requirements.md", None, None)
    assert found == steering / "product.md"
    assert found is not None
    rules = constitution.load(found)
    assert [(r.id, r.level, r.source) for r in rules.rules] == [
        ("C-product-A.1", "MUST", None),
        ("C-tech-A.1", "MUST", steering / "tech.md"),
        ("C-structure-A.1", "SHOULD", steering / "structure.md"),
    ]
    assert rules.extra_sources == (steering / "tech.md", steering / "structure.md")


def test_spec_kit_memory_still_wins_over_the_other_sources(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        {
            ".specify/memory/constitution.md": "# Constitution\n",
            "openspec/project.md": "# Project\n",
            ".kiro/steering/tech.md": "# Tech\n",
            "specs/001-x/spec.md": "# Feature Specification: X\n",
        },
    )
    found = constitution.discover(repo / "specs/001-x/spec.md", None, None)
    assert found == repo / ".specify" / "memory" / "constitution.md"


def test_story_criteria_are_its_scenarios_and_ids_without_hyphen_are_ids() -> None:
    spec = load(REAL / "stories-criteria-zh.md")
    assert spec.title == "门店排班系统"
    assert [(s.id, s.title) for s in spec.stories] == [("US1", "按周排班"), ("US2", "申请换班")]
    # `#### 验收标准` under `### 故事1`: the story's acceptance scenarios; `- 1. …` too.
    assert [s.id for s in spec.scenarios] == ["US1.1", "US1.2", "US2.1", "US2.2"]
    assert spec.scenarios[2].text == "店员可以选择一个自己的班次和一位同事发起申请"
    assert _ids(spec) == ["FR1", "FR2", "NFR1"]
    assert _text(spec, "FR1") == "排班编辑: 店长在周视图中编辑排班，保存后通知相关店员。"
    assert spec.requirement("NFR1") is not None
    assert spec.requirements[2].kind == "non_functional"


def test_heading_that_names_its_id_last() -> None:
    text = (
        "# Preview fix\n\n## 3. Functional Requirements\n\n### 3.1 Data loading (FR-1)\n\n"
        "The page MUST load the storyboard once.\n\n### 3.2 图片显示（FR-2）\n\n"
        "系统 MUST 显示缩略图。\n\n"
        "### 3.3 Notes (see MM-12)\n\nNot a requirement.\n"
    )
    spec = parse(text, Path("requirements.md"))
    assert _ids(spec) == ["FR-1", "FR-2"]
    assert _text(spec, "FR-1") == "Data loading: The page MUST load the storyboard once."
    assert _text(spec, "FR-2") == "图片显示: 系统 MUST 显示缩略图。"


def test_spec_to_plan_json_lists_every_id_with_kind_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from drafter.cli import app

    shutil.copy(REAL / "kiro-own-ids.md", tmp_path / "requirements.md")
    with pytest.raises(SystemExit) as exit_info:
        app(["spec-to-plan", str(tmp_path / "requirements.md"), "--json"])
    assert exit_info.value.code == 0
    summary = json.loads(capsys.readouterr().out)
    ids = {row["id"]: row for row in summary["ids"]}
    assert list(ids) == [
        "FR-1",
        "AC-1",
        "AC-2",
        "FR-2",
        "FR-2.1",
        "FR-2.1.1",
        "FR-2.1.2",
        "FR-2/AC-1",
        "NFR-1",
        "NFR-2",
    ]
    assert ids["NFR-1"] == {
        "id": "NFR-1",
        "kind": "non_functional",
        "line": 31,
        "source": str(tmp_path / "requirements.md"),
    }
    assert sum("AC-1 is used in several requirements" in w for w in summary["warnings"]) == 1


def test_openspec_change_one_level_too_deep_and_a_delta_spec_given_directly(
    tmp_path: Path,
) -> None:
    change = tmp_path / "openspec" / "changes" / "archive" / "2026" / "2026-02-01-add-export"
    shutil.copytree(OPENSPEC / "add-tags", change)
    proposal = load(change / "proposal.md")
    assert proposal.format == "openspec"
    assert [r.id for r in proposal.requirements] == [
        "notes:note-tags",
        "notes:notebooks",
        "notes:starred-notes",
    ]
    delta = load(change / "specs" / "notes" / "spec.md")
    assert delta.format == "openspec"
    assert [r.id for r in delta.requirements] == [r.id for r in proposal.requirements]


def test_stories_are_traced_when_the_only_ids_are_success_criteria() -> None:
    text = (REAL / "speckit-stories-only.md").read_text(encoding="utf-8")
    text += "\n## Success Criteria\n\n- **SC-001**: 90% of readers keep the theme they chose.\n"
    spec = parse(text, Path("spec.md"))
    assert _ids(spec) == ["SC-001", "US1", "US2"]


def test_a_steering_rule_points_at_its_own_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from drafter.cli import app

    repo = _repo(
        tmp_path,
        {
            ".kiro/steering/product.md": "# Product\n\n## Users\n\n- The app MUST work offline.\n",
            ".kiro/steering/tech.md": "# Tech\n\n## Stack\n\n- Code MUST be typed with mypy.\n",
        },
    )
    spec_dir = repo / ".kiro" / "specs" / "numbering"
    spec_dir.mkdir(parents=True)
    shutil.copy(REAL / "kiro-criteria-numbering.md", spec_dir / "requirements.md")
    spec_to_plan(DraftRequest(spec_path=spec_dir / "requirements.md"))
    with pytest.raises(SystemExit):
        app(["check", str(spec_dir / "PLAN.md"), "--format", "sarif"])
    sarif = json.loads(capsys.readouterr().out)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["C-tech-A.1"]["properties"]["source"].endswith(".kiro/steering/tech.md:5")
    assert rules["C-product-A.1"]["properties"]["source"].endswith(".kiro/steering/product.md:5")
