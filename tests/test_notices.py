"""What the reader of a plan must know is in the plan: a missing or unfilled constitution is an
Open Issue whatever drafted the sections, and a section that was not drafted says only that."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES, REPO
from typer.testing import CliRunner

from drafter.app.workflow import DraftRequest, spec_to_plan
from drafter.cli import app
from drafter.document.readback import read
from drafter.document.render import render
from drafter.document.trailer import split as split_trailer
from drafter.testing.fake_openai import FakeOpenAI

EXAMPLE = EXAMPLES / "csv-export"
TEMPLATE = REPO / "tests" / "fixtures" / "constitutions" / "template.md"
UNFILLED = (
    "- [ ] **Review** (Open Issues): The constitution constitution.md is still the unfilled "
    "template: no rule was taken from it"
)
NONE_FOUND = "- [ ] **Review** (Open Issues): No constitution was found: add one"


def _project(directory: Path, constitution: Path | None) -> Path:
    (directory / ".git").mkdir(parents=True)  # constitution discovery stops here
    shutil.copy(EXAMPLE / "SPEC.md", directory / "SPEC.md")
    if constitution is not None:
        shutil.copy(constitution, directory / "constitution.md")
    return directory / "SPEC.md"


def _open_issues(plan: str) -> str:
    return plan.split("## Open Issues", 1)[1].split("## References", 1)[0]


@pytest.mark.parametrize(("constitution", "line"), [(TEMPLATE, UNFILLED), (None, NONE_FOUND)])
def test_offline_plan_says_the_constitution_is_missing_or_unfilled(
    tmp_path: Path, constitution: Path | None, line: str
) -> None:
    spec = _project(tmp_path, constitution)
    result = spec_to_plan(DraftRequest(spec_path=spec, to_stdout=True))
    assert line in _open_issues(result.text)
    assert _open_issues(result.text).count("**Review** (Open Issues)") == 1


@pytest.mark.parametrize(("constitution", "line"), [(TEMPLATE, UNFILLED), (None, NONE_FOUND)])
def test_llm_plan_says_the_constitution_is_missing_or_unfilled(
    tmp_path: Path, fake: FakeOpenAI, constitution: Path | None, line: str
) -> None:
    spec = _project(tmp_path, constitution)
    flags = {"model": "openai:fake", "base_url": fake.base_url, "timeout_s": 5.0}
    result = spec_to_plan(DraftRequest(spec_path=spec, settings_flags=flags))
    written = (tmp_path / "PLAN.md").read_text("utf-8")
    assert line in _open_issues(written)
    # An update that reuses the Open Issues section does not say it twice.
    again = spec_to_plan(DraftRequest(spec_path=spec, settings_flags=flags))
    assert again.decisions is not None and "open_issues" in again.decisions.reused
    assert (tmp_path / "PLAN.md").read_text("utf-8") == written
    assert result.warnings  # and stderr still says it


def test_filling_in_the_constitution_drops_the_open_issue(tmp_path: Path) -> None:
    spec = _project(tmp_path, TEMPLATE)
    spec_to_plan(DraftRequest(spec_path=spec))
    assert UNFILLED in (tmp_path / "PLAN.md").read_text("utf-8")
    shutil.copy(EXAMPLE / "constitution.md", tmp_path / "constitution.md")
    spec_to_plan(DraftRequest(spec_path=spec))
    assert "unfilled template" not in (tmp_path / "PLAN.md").read_text("utf-8")


def test_batch_shows_each_specs_constitution_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path / "a", TEMPLATE)
    _project(tmp_path / "b", None)
    monkeypatch.chdir(tmp_path)
    for variable in [v for v in os.environ if v.startswith("DRAFTER_") and "CACHE" not in v]:
        monkeypatch.delenv(variable)
    result = CliRunner().invoke(app, ["batch", "*/SPEC.md"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert any(
        line.startswith("drafter: warning: a/SPEC.md: constitution ")
        and "unfilled template" in line
        for line in lines
    ), result.stderr
    assert any(
        line.startswith("drafter: warning: b/SPEC.md: no constitution found") for line in lines
    ), result.stderr
    assert not any("drafted offline" in line for line in lines)


# --- --allow-partial: a section that was not drafted ------------------------------------------


def test_a_section_not_drafted_says_only_that_and_reads_back(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    spec = _project(tmp_path, EXAMPLE / "constitution.md")
    fake.fault("refusal", schema="ComponentsSection")  # security, testing, steps… depend on it
    fake.fault("refusal", schema="ArchitectureSection")
    flags = {"model": "openai:fake", "base_url": fake.base_url, "timeout_s": 5.0}
    result = spec_to_plan(
        DraftRequest(spec_path=spec, to_stdout=True, allow_partial=True, settings_flags=flags)
    )
    assert {"architecture", "components", "security", "testing"} <= set(result.missing)
    security = result.text.split("## Security Measures\n", 1)[1].split("\n## ", 1)[0]
    assert security.strip() == (
        "> **Review:** section security could not be drafted: it depends on section "
        "components, which could not be drafted"
    )
    architecture = result.text.split("## Architecture Overview\n", 1)[1].split("\n## ", 1)[0]
    assert [line for line in architecture.splitlines() if line] == [
        "### High-Level Design",
        "### Technology Stack",
        "### Design Patterns",
        "> **Review:** section architecture could not be drafted: the model refused to answer: "
        "I can't help with that request.",
    ]
    for claim in ("No security-relevant", "No unit tests planned", "Not applicable", "Not drawn"):
        assert claim not in result.text
    # The plan reads back, and what is read renders to the same text.
    body, _ = split_trailer(result.text)
    read_back = read(result.text)
    assert read_back.plan is not None
    assert not [f for f in read_back.findings if f.rule_id == "DR-READ"]
    assert render(read_back.plan, result.report, result.spec) == body
