"""Rendering: spec text is data, user templates are sandboxed, diagrams are valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import EXAMPLES

from drafter.app.workflow import DraftRequest, spec_to_plan
from drafter.core.errors import InputError
from drafter.document import layout as document
from drafter.document.render import mermaid_id, mermaid_text, render
from drafter.model import plan as p

EXAMPLE = EXAMPLES / "csv-export"


def _spec_with(tmp_path: Path, extra_requirement: str) -> Path:
    text = (EXAMPLE / "SPEC.md").read_text("utf-8")
    text = text.replace(
        "### Key Entities", f"- **FR-007**: {extra_requirement}\n\n### Key Entities", 1
    )
    (tmp_path / "SPEC.md").write_text(text, "utf-8")
    (tmp_path / "constitution.md").write_bytes((EXAMPLE / "constitution.md").read_bytes())
    return tmp_path / "SPEC.md"


def test_template_syntax_in_the_spec_comes_out_literally(tmp_path: Path) -> None:
    hostile = "System MUST show {{ 7*7 }} and {% raw %}x{% endraw %} and {# note #} as typed"
    result = spec_to_plan(DraftRequest(spec_path=_spec_with(tmp_path, hostile), to_stdout=True))
    assert "{{ 7*7 }}" in result.text and "{% raw %}x{% endraw %}" in result.text
    assert "{# note #}" in result.text and "show 49" not in result.text


def test_table_cells_escape_pipes(tmp_path: Path) -> None:
    result = spec_to_plan(
        DraftRequest(
            spec_path=_spec_with(tmp_path, "System MUST reject a | b inputs when invalid"),
            to_stdout=True,
        )
    )
    error_rows = [
        line for line in result.text.splitlines() if line.startswith("| E_") and "FR-007" in line
    ]
    assert error_rows and all("a \\| b" in row for row in error_rows)
    assert all(len(re.split(r"(?<!\\)\|", row)) == 5 for row in error_rows)  # 3 cells


def test_user_template_runs_sandboxed(tmp_path: Path) -> None:
    template = tmp_path / "mine.md.j2"
    template.write_text("# {{ plan.goal.feature_name }}\n{{ ''.__class__.__mro__ }}\n", "utf-8")
    with pytest.raises(InputError, match="template"):
        spec_to_plan(DraftRequest(spec_path=EXAMPLE / "SPEC.md", to_stdout=True, template=template))
    template.write_text(
        "# {{ plan.goal.feature_name }}\n{% for s in plan.steps.phases %}- {{ s.name }}\n"
        "{% endfor %}",
        "utf-8",
    )
    result = spec_to_plan(
        DraftRequest(spec_path=EXAMPLE / "SPEC.md", to_stdout=True, template=template)
    )
    assert result.text.startswith("# CSV Export of Reading Lists\n- Setup & Foundation\n")


def test_missing_or_broken_user_template_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="template not found"):
        spec_to_plan(
            DraftRequest(
                spec_path=EXAMPLE / "SPEC.md", to_stdout=True, template=tmp_path / "nope.j2"
            )
        )
    broken = tmp_path / "broken.j2"
    broken.write_text("{% for x in %}", "utf-8")
    with pytest.raises(InputError, match=r"broken\.j2"):
        spec_to_plan(DraftRequest(spec_path=EXAMPLE / "SPEC.md", to_stdout=True, template=broken))


@pytest.mark.parametrize(
    ("raw", "safe"),
    [("end", "n_end"), ("1st", "n_1st"), ("a-b c", "a_b_c"), ("ok_1", "ok_1"), ("", "node")],
)
def test_mermaid_ids_are_safe(raw: str, safe: str) -> None:
    assert mermaid_id(raw) == safe


def test_mermaid_text_cannot_break_out_of_a_label() -> None:
    assert mermaid_text('say "hi"; then\nstop') == "say #quot;hi#quot;#59; then stop"


def test_not_applicable_sections_keep_their_heading_and_say_why() -> None:
    result = spec_to_plan(DraftRequest(spec_path=EXAMPLE / "SPEC.md", to_stdout=True))
    plan = result.plan.model_copy(
        update={
            "database": p.DatabaseSection(
                database=None, not_applicable_reason="nothing is stored", reviews=[]
            ),
            "api": p.ApiSection(endpoints=[], not_applicable_reason="no HTTP surface", reviews=[]),
        }
    )
    from drafter.inputs.spec import load

    body = render(plan, result.report, load(EXAMPLE / "SPEC.md"))
    assert document.outline_problems(body) == []
    assert re.search(r"Database Schema\n\nNot applicable: nothing is stored\n", body)
    assert re.search(r"API Layer\n\nNot applicable: no HTTP surface\n", body)
    assert "CREATE TABLE" not in body
