"""What an offline plan must never do (issue 13), each shown by a fixture first: a diagram
that does not render, a requirement restated without its negation, an empty table, invented
identifiers and systems, prose in a language other than the spec's."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES

from drafter.app.checking import check_plan
from drafter.app.workflow import DraftRequest, spec_to_plan

FIXTURES = Path(__file__).parent / "fixtures" / "quality"


def _draft(spec: Path) -> str:
    return spec_to_plan(DraftRequest(spec_path=spec, to_stdout=True)).text


@pytest.fixture
def example(tmp_path: Path) -> Path:
    for name in ("SPEC.md", "constitution.md", "PLAN.md"):
        shutil.copy(EXAMPLES / "csv-export" / name, tmp_path / name)
    return tmp_path


def _rule_messages(plan: Path, rule_id: str) -> list[str]:
    return [d.finding.message for d in check_plan(plan).diagnostics if d.finding.rule_id == rule_id]


# --- diagrams ------------------------------------------------------------------------------


def test_offline_sequence_diagram_uses_no_mermaid_keyword() -> None:
    flow = _draft(EXAMPLES / "csv-export" / "SPEC.md").split("## Data Flow", 1)[1]
    flow = flow.split("## ", 1)[0]
    assert "participant actor1 as Reader" in flow  # the architecture diagram's IDs


def test_check_reports_a_keyword_used_as_a_diagram_id(example: Path) -> None:
    plan = example / "PLAN.md"
    text = plan.read_text("utf-8").split("## Data Flow", 1)
    flow = re.sub(r"\b(?:actor1|n_actor)\b", "actor", text[1].split("## ", 1)[0])
    edited = text[0] + "## Data Flow" + flow + "## " + text[1].split("## ", 1)[1]
    plan.write_text(edited, "utf-8")
    assert "participant actor as" in edited
    assert any("Mermaid keyword" in m for m in _rule_messages(plan, "DR007"))


# --- meaning: negations ---------------------------------------------------------------------

NEGATION_SPEC = FIXTURES / "negation" / "SPEC.md"


def test_no_negative_requirement_loses_its_negation() -> None:
    result = spec_to_plan(DraftRequest(spec_path=NEGATION_SPEC, to_stdout=True))
    assert [f.message for f in result.findings if f.rule_id == "DR012"] == []
    for line in result.text.splitlines():
        if "merely because" in line:
            assert re.search(r"\bmust not\b", line, re.IGNORECASE), line
        if "store tracker credentials" in line:
            assert re.search(r"\bshall not\b", line, re.IGNORECASE), line


def test_check_reports_a_requirement_restated_without_its_negation(tmp_path: Path) -> None:
    shutil.copy(NEGATION_SPEC, tmp_path / "SPEC.md")
    text = _draft(tmp_path / "SPEC.md")
    step = re.search(r"^\d+\. \[ \] .*FR-002\].*$", text, re.MULTILINE)
    assert step is not None
    inverted = "1. [ ] Run ticket completion merely because merge automation is enabled [FR-002]"
    (tmp_path / "PLAN.md").write_text(text.replace(step.group(0), inverted), "utf-8")
    messages = _rule_messages(tmp_path / "PLAN.md", "DR012")
    assert len(messages) == 1 and "FR-002" in messages[0]


# --- nothing invented ----------------------------------------------------------------------

IDENTIFIERS_SPEC = FIXTURES / "identifiers" / "SPEC.md"


def test_only_identifiers_the_spec_names_appear() -> None:
    text = _draft(IDENTIFIERS_SPEC)
    changes = text.split("## Proposed Changes", 1)[1].split("Database Schema", 1)[0]
    named = re.findall(r"^- `([^`]+)`:", changes, re.MULTILINE)
    assert named == ["releaseJobs()", "GerritInstance"]  # a function, the entity's type
    assert "GerritInstance" in changes and "Gerritinstance" not in changes
    assert "Name the functions and types for FR-002, FR-003" in text
    source_files = re.findall(r"^##### `([^`]+)`", changes, re.MULTILINE)
    assert not any(path.rsplit("/", 1)[-1].startswith("test") for path in source_files)
    assert "Controller:" not in text  # no handler name made up from a route
