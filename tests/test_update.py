"""Incremental redrafting: hand edits survive, only what changed is redrafted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES

from drafter.app.workflow import DraftRequest, DraftResult, spec_to_plan
from drafter.core.errors import OverwriteRefused
from drafter.engine import update
from drafter.model.sections import downstream

FR_002 = "- **FR-002**: System MUST quote fields that contain commas, quotes or line breaks"
FR_002_NEW = "- **FR-002**: System MUST quote fields that contain commas, tabs or line breaks"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    for name in ("SPEC.md", "constitution.md"):
        shutil.copy(EXAMPLES / "csv-export" / name, tmp_path / name)
    spec_to_plan(DraftRequest(spec_path=tmp_path / "SPEC.md"))
    return tmp_path


def _run(project: Path, **kwargs: object) -> DraftResult:
    return spec_to_plan(DraftRequest(spec_path=project / "SPEC.md", **kwargs))  # type: ignore[arg-type]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def _sections(plan_text: str) -> dict[str, str]:
    body = plan_text[: plan_text.rindex("<!-- drafter:")]
    return update.span_texts(body)


def test_edit_kept_changed_requirement_redrafted_rest_untouched(project: Path) -> None:
    plan = project / "PLAN.md"
    _edit(plan, "## Data Flow\n", "## Data Flow\n\nOur reviewer's note on the flow.\n")
    before = _sections(plan.read_text("utf-8"))
    _edit(project / "SPEC.md", FR_002, FR_002_NEW)

    result = _run(project)
    after = _sections(plan.read_text("utf-8"))
    decisions = result.decisions
    assert decisions is not None

    assert decisions.kept == ["data_flow"]
    assert after["data_flow"] == before["data_flow"]  # byte for byte
    citing_fr_002 = {"components", "testing", "steps"}
    assert citing_fr_002 <= set(decisions.redrafted) <= downstream(citing_fr_002)
    for name in citing_fr_002:
        assert "tabs or line breaks" in after[name] and after[name] != before[name]
    for name in decisions.reused:
        assert after[name] == before[name]
    assert {"goal", "architecture", "database", "api", "rollback"} <= set(decisions.reused)


def test_nothing_changed_means_nothing_redrafted(project: Path) -> None:
    before = (project / "PLAN.md").read_text("utf-8")
    result = _run(project)
    assert result.decisions is not None and result.decisions.redrafted == []
    assert (project / "PLAN.md").read_text("utf-8") == before


def test_edited_section_with_changed_inputs_is_stale(project: Path) -> None:
    _edit(project / "PLAN.md", "## Implementation Steps\n", "## Implementation Steps\n\nPair.\n")
    _edit(project / "SPEC.md", FR_002, FR_002_NEW)
    result = _run(project)
    stale = [f for f in result.findings if f.rule_id == "DR-STALE"]
    assert len(stale) == 1 and "FR-002" in stale[0].message
    assert stale[0].severity == "warning"
    text = (project / "PLAN.md").read_text("utf-8")
    assert stale[0].line == text.splitlines().index("## Implementation Steps") + 1
    assert "Pair." in text


def test_section_option_forces_a_redraft_even_of_an_edit(project: Path) -> None:
    _edit(project / "PLAN.md", "## Implementation Steps\n", "## Implementation Steps\n\nPair.\n")
    result = _run(project, sections=("steps",))
    assert result.decisions is not None and result.decisions.redrafted == ["steps"]
    assert "Pair." not in (project / "PLAN.md").read_text("utf-8")


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: text.rindex("<!-- drafter:")],  # comment removed
        lambda text: text.replace('"sections": {', '"sections": {{', 1),  # broken JSON
    ],
    ids=["removed", "damaged"],
)
def test_damaged_comment_blocks_overwriting(project: Path, damage: object) -> None:
    plan = project / "PLAN.md"
    damaged = damage(plan.read_text("utf-8"))  # type: ignore[operator]
    plan.write_text(damaged, "utf-8")
    with pytest.raises(OverwriteRefused, match="--force"):
        _run(project)
    assert plan.read_text("utf-8") == damaged
    _run(project, force=True)
    assert plan.read_text("utf-8") != damaged


def test_layout_broken_by_hand_blocks_overwriting(project: Path) -> None:
    plan = project / "PLAN.md"
    _edit(plan, "## Rollback Plan\n", "## Rollback\n")
    with pytest.raises(OverwriteRefused, match="layout"):
        _run(project)


def test_changed_requirements_lists_added_removed_and_reworded() -> None:
    from drafter.inputs.spec import load

    spec = load(EXAMPLES / "csv-export" / "SPEC.md")
    recorded = update.requirement_hashes(spec)
    recorded["FR-002"] = "00000000"
    recorded["FR-099"] = "11111111"
    del recorded["SC-001"]
    assert update.changed_requirements(recorded, spec) == ["FR-002", "FR-099", "SC-001"]


def test_llm_update_calls_the_model_only_for_redrafted_sections(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drafter.model.sections import SECTIONS
    from drafter.testing.fake_openai import FakeOpenAI

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    def drafted(fake: FakeOpenAI) -> int:
        return sum(fake.stats.by_schema.get(s.model.__name__, 0) for s in SECTIONS)

    with FakeOpenAI() as fake:
        # no response cache, no repair rounds; judge calls are not section drafts
        flags = {
            "model": "openai:fake",
            "base_url": fake.base_url,
            "cache": False,
            "repair_attempts": 0,
        }
        _run(project, settings_flags=flags, force=True)
        assert drafted(fake) == len(SECTIONS)

        fake.reset()
        unchanged = _run(project, settings_flags=flags)
        assert drafted(fake) == 0
        assert unchanged.decisions is not None and unchanged.decisions.redrafted == []

        _edit(project / "SPEC.md", FR_002, FR_002_NEW)
        fake.reset()
        changed = _run(project, settings_flags=flags)
        assert changed.decisions is not None
        assert 0 < drafted(fake) == len(changed.decisions.redrafted) < len(SECTIONS)
