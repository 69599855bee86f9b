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
