"""`drafter check`: exit codes, located findings in three formats, traceability, staleness.

tests/data/sarif-2.1.0.schema.json is the OASIS SARIF 2.1.0 schema (errata01), copied from
oasis-tcs/sarif-spec, Schemata/sarif-schema-2.1.0.json at commit 0a8091f7d4.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from drafter.app.checking import DRAFTER_RULES, check_plan
from drafter.checks.compliance import RULES, coverage
from drafter.inputs import spec as spec_module
from tests.conftest import EXAMPLES, REPO, corpus_case, corpus_params

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0.schema.json").read_text())
TEXT_LINE = re.compile(r"^(.+):(\d+):(\d+): (error|warning|note): (\S+) (.*)$")

TEST_STEP = "10. [ ] Write the tests for Export every list at once first, and see them fail"
CODE_STEP = "11. [ ] Implement: System MUST export all of a reader's lists as one ZIP archive"
ENDPOINT_TESTS = (
    "- Given a reader with two lists, when they call `POST /api/exports`",
    "- POST /api/exports answers as specified and rejects bad input",
)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example (spec, constitution, plan) to edit."""
    for name in ("SPEC.md", "constitution.md", "PLAN.md"):
        shutil.copy(EXAMPLES / "csv-export" / name, tmp_path / name)
    return tmp_path


def _drafter(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drafter", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )


def _edit(plan: Path, transform: Callable[[list[str]], list[str]]) -> list[str]:
    lines = transform(plan.read_text("utf-8").splitlines())
    plan.write_text("\n".join(lines) + "\n", "utf-8")
    return lines


def _swap_test_and_code_steps(lines: list[str]) -> list[str]:
    """Put the implementation step of FR-004 before the step that writes its tests."""
    test = next(i for i, line in enumerate(lines) if line.startswith(TEST_STEP))
    code = next(i for i, line in enumerate(lines) if line.startswith(CODE_STEP))
    assert code == test + 1
    lines[test], lines[code] = lines[code], lines[test]
    return lines


def _drop_endpoint_tests(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith(ENDPOINT_TESTS)]


def _findings(stdout: str) -> list[re.Match[str]]:
    matches = [TEXT_LINE.match(line) for line in stdout.splitlines()]
    assert all(matches), stdout
    return [m for m in matches if m]


def test_the_example_plan_passes(example: Path) -> None:
    run = _drafter("check", "PLAN.md", cwd=example)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    found = _findings(run.stdout)
    assert {m.group(4) for m in found} <= {"note"}  # needs-review MUST rules only
    assert "passes" in run.stderr.splitlines()[-1]


def test_implementation_before_its_test_fails_c_i_1_at_the_step_and_fixing_passes(
    example: Path,
) -> None:
    plan = example / "PLAN.md"
    original = plan.read_text("utf-8")
    lines = _edit(plan, _swap_test_and_code_steps)
    run = _drafter("check", "PLAN.md", cwd=example)
    assert run.returncode == 1, run.stderr
    errors = [m for m in _findings(run.stdout) if m.group(4) == "error"]
    assert [m.group(5) for m in errors] == ["C-I.1"]
    [error] = errors
    assert error.group(1) == "PLAN.md"
    assert lines[int(error.group(2)) - 1].startswith(CODE_STEP)  # the swapped step's line
    assert lines[int(error.group(2)) - 1][int(error.group(3)) - 1 :].startswith("Implement:")
    related = [m for m in _findings(run.stdout) if m.group(1) == "constitution.md"]
    assert [(m.group(5), m.group(2)) for m in related] == [("C-I.1", "7")]

    plan.write_text(original, "utf-8")
    assert _drafter("check", "PLAN.md", cwd=example).returncode == 0


def test_an_endpoint_without_integration_test_fails_c_i_2_at_the_endpoint(example: Path) -> None:
    lines = _edit(example / "PLAN.md", _drop_endpoint_tests)
    run = _drafter("check", "PLAN.md", cwd=example)
    assert run.returncode == 1
    errors = {m.group(5): m for m in _findings(run.stdout) if m.group(4) == "error"}
    assert "C-I.2" in errors
    assert lines[int(errors["C-I.2"].group(2)) - 1].startswith("**POST /api/exports**")
    # The scenario behind the endpoint (US2.1) lost its only test too: DR003, with a note at
    # the scenario's line in the spec.
    assert "US2.1" in errors["DR003"].group(6)
    spec_lines = (example / "SPEC.md").read_text("utf-8").splitlines()
    [note] = [m for m in _findings(run.stdout) if m.group(1) == "SPEC.md"]
    assert note.group(5) == "DR003" and "US2.1" in note.group(6)
    assert "they call `POST /api/exports`" in spec_lines[int(note.group(2)) - 1]


def test_sarif_validates_against_the_official_schema(example: Path) -> None:
    _edit(example / "PLAN.md", _swap_test_and_code_steps)
    run = _drafter("check", "PLAN.md", "--format", "sarif", cwd=example)
    assert run.returncode == 1
    log = json.loads(run.stdout)
    jsonschema.validate(log, SCHEMA, format_checker=jsonschema.FormatChecker())
    [sarif_run] = log["runs"]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "drafter"
    ids = [rule["id"] for rule in driver["rules"]]
    assert set(RULES) | {"DR-STALE", "DR-READ"} <= set(ids)
    assert "C-I.1" in ids  # a constitution rule with a result
    assert "C-IV.1" not in ids  # one without (it passes) is not listed
    failing = [r for r in sarif_run["results"] if r["level"] == "error"]
    [result] = failing
    assert result["ruleId"] == "C-I.1" and ids[result["ruleIndex"]] == "C-I.1"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "PLAN.md", "uriBaseId": "%SRCROOT%"}
    lines = (example / "PLAN.md").read_text("utf-8").splitlines()
    assert lines[location["region"]["startLine"] - 1].startswith(CODE_STEP)
    related = result["relatedLocations"][0]["physicalLocation"]
    assert related["artifactLocation"]["uri"] == "constitution.md"
    assert {r["level"] for r in sarif_run["results"]} <= {"error", "warning", "note"}


def test_sarif_of_a_foreign_plan_outside_the_working_directory_validates(tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("# My plan\n\n## Approach\n\nDo it.\n", "utf-8")
    shutil.copy(EXAMPLES / "csv-export" / "SPEC.md", tmp_path / "SPEC.md")
    run = _drafter("check", str(plan), "--format", "sarif", cwd=REPO)
    assert run.returncode == 1
    log = json.loads(run.stdout)
    jsonschema.validate(log, SCHEMA, format_checker=jsonschema.FormatChecker())
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert uris == {plan.resolve().as_uri()}


def test_json_carries_findings_verdicts_and_the_traceability_matrix(example: Path) -> None:
    run = _drafter("check", "PLAN.md", "--format", "json", cwd=example)
    assert run.returncode == 0
    report = json.loads(run.stdout)
    assert report["read_back"] is True and report["must_failed"] is False
    assert {v["rule"] for v in report["verdicts"]} >= {"C-I.1", "C-I.2"}
    assert all(TEXT_LINE.match(f["text"]) for f in report["findings"])
    spec = spec_module.load(example / "SPEC.md")
    result = check_plan(example / "PLAN.md")
    assert result.plan is not None
    counts = {row.id: row for row in coverage(result.plan, spec)}
    rows = report["traceability"]
    assert [row["id"] for row in rows] == [r.id for r in spec.requirements]
    for row in rows:
        # The matrix lists the items the rendered coverage table counts.
        assert len(row["steps"]) == int(counts[row["id"]].steps)
        assert len(row["tests"]) == int(counts[row["id"]].tests)
        assert len(row["checks"]) == int(counts[row["id"]].checks)
        assert row["traced"] is True
    fr4 = next(row for row in rows if row["id"] == "FR-004")
    assert [step["number"] for step in fr4["steps"]] == [10, 11]
    assert fr4["files"] == ["src/csv_export_reading/export_list_once.py"]


def test_a_spec_changed_outside_its_requirements_gives_one_dr_stale(example: Path) -> None:
    spec = example / "SPEC.md"
    spec.write_text(spec.read_text("utf-8") + "\nOne more line.\n", "utf-8")
    run = _drafter("check", "PLAN.md", cwd=example)
    assert run.returncode == 0  # a warning, not a failed MUST rule
    [stale] = [m for m in _findings(run.stdout) if m.group(5) == "DR-STALE"]
    assert stale.group(4) == "warning"
    plan_lines = (example / "PLAN.md").read_text("utf-8").splitlines()
    assert plan_lines[int(stale.group(2)) - 1].startswith("<!-- drafter:")
    assert "changed since this plan was drafted" in stale.group(6)


def test_a_reworded_requirement_is_stale_where_the_plan_first_cites_it(example: Path) -> None:
    spec = example / "SPEC.md"
    text = spec.read_text("utf-8")
    assert "after 7 days" in text
    spec.write_text(text.replace("after 7 days", "after 14 days"), "utf-8")
    result = check_plan(example / "PLAN.md")
    [stale] = [d for d in result.diagnostics if d.finding.rule_id == "DR-STALE"]
    assert stale.finding.message.startswith("FR-006 was reworded")
    plan_lines = (example / "PLAN.md").read_text("utf-8").splitlines()
    first_citing = next(
        i for i, line in enumerate(plan_lines, 1) if "FR-006]" in line or "FR-006," in line
    )
    assert stale.finding.line == first_citing
    assert plan_lines[first_citing - 1][stale.finding.col - 1 :].startswith("FR-006")
    [note] = stale.related
    assert "after 14 days" in spec.read_text("utf-8").splitlines()[note.line - 1]


def test_a_plan_without_trailer_is_not_stale(example: Path) -> None:
    plan = example / "PLAN.md"
    plan.write_text(plan.read_text("utf-8").split("\n<!-- drafter:")[0] + "\n", "utf-8")
    result = check_plan(plan)
    assert not any(d.finding.rule_id == "DR-STALE" for d in result.diagnostics)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "plan not found"),
        (lambda d: (d / "PLAN.md").mkdir(), "is a directory"),
        (lambda d: (d / "PLAN.md").write_bytes(b"\xff\xfe\x00bad"), "not UTF-8"),
        (lambda d: (d / "PLAN.md").write_text("# plan\n"), "no spec recorded in PLAN.md"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(
    tmp_path: Path, setup: Callable[[Path], object], message: str
) -> None:
    setup(tmp_path)
    run = _drafter("check", "PLAN.md", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert line.startswith("drafter: error: ") and message in line


def test_an_unknown_format_is_a_usage_error(example: Path) -> None:
    assert _drafter("check", "PLAN.md", "--format", "xml", cwd=example).returncode == 2


@corpus_params
def test_hand_written_corpus_plans_fail_with_dr001_and_do_not_crash(case: str) -> None:
    directory = corpus_case(case)
    if not (directory / "plan.md").is_file():
        pytest.skip(f"{case} has no plan.md")
    result = check_plan(directory / "plan.md")
    assert result.plan is None and result.failed
    assert result.traceability == ()
    assert {d.finding.rule_id for d in result.diagnostics} == {"DR001"}
    assert all(d.finding.file is not None for d in result.diagnostics)


def test_every_drafter_rule_has_a_description() -> None:
    assert set(RULES) < set(DRAFTER_RULES)
    assert all(DRAFTER_RULES.values())
