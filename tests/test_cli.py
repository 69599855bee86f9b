"""The command line as a user runs it: a real process, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES
from conftest import run_drafter as drafter

EXAMPLE_SPEC = EXAMPLES / "csv-export" / "SPEC.md"


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(error_lines) == 1, result.stderr
    for word in words:
        assert word in error_lines[0]


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "SPEC.md").write_bytes(EXAMPLE_SPEC.read_bytes())
    constitution = EXAMPLE_SPEC.parent / "constitution.md"
    (tmp_path / "constitution.md").write_bytes(constitution.read_bytes())
    return tmp_path


def test_writes_plan_beside_the_spec_and_says_it_drafted_offline(workdir: Path) -> None:
    result = drafter("spec-to-plan", str(workdir / "SPEC.md"))
    assert result.returncode == 0, result.stderr
    plan = (workdir / "PLAN.md").read_text("utf-8")
    assert plan.startswith("# Implementation Plan: CSV Export of Reading Lists")
    offline_lines = [line for line in result.stderr.splitlines() if "offline" in line]
    assert len(offline_lines) == 1 and "--model" in offline_lines[0]


def test_rerun_on_an_unedited_plan_overwrites_it(workdir: Path) -> None:
    assert drafter("spec-to-plan", str(workdir / "SPEC.md")).returncode == 0
    assert drafter("spec-to-plan", str(workdir / "SPEC.md")).returncode == 0


def test_hand_edits_survive_a_rerun_and_force_discards_them(workdir: Path) -> None:
    assert drafter("spec-to-plan", str(workdir / "SPEC.md")).returncode == 0
    plan = workdir / "PLAN.md"
    edited = plan.read_text("utf-8").replace("## Goal\n", "## Goal\n\nMy own words.\n", 1)
    plan.write_text(edited, "utf-8")
    result = drafter("spec-to-plan", str(workdir / "SPEC.md"))
    assert result.returncode == 0, result.stderr
    assert "kept (edited by hand): goal" in result.stderr
    assert "My own words." in plan.read_text("utf-8")
    assert drafter("spec-to-plan", str(workdir / "SPEC.md"), "--force").returncode == 0
    assert "My own words." not in plan.read_text("utf-8")


def test_plan_without_drafter_comment_is_never_overwritten(workdir: Path) -> None:
    plan = workdir / "PLAN.md"
    plan.write_text("# My plan\n\nWritten by a person.\n", "utf-8")
    result = drafter("spec-to-plan", str(workdir / "SPEC.md"))
    assert_one_line_error(result, 2, "--force")
    assert plan.read_text("utf-8") == "# My plan\n\nWritten by a person.\n"


def test_json_summary(workdir: Path) -> None:
    result = drafter("spec-to-plan", str(workdir / "SPEC.md"), "--json")
    summary = json.loads(result.stdout)
    assert summary["output"] == str(workdir / "PLAN.md")
    assert "steps" in summary["sections"] and summary["drafter"] == "offline"
    assert isinstance(summary["findings"], list) and summary["warnings"]
    matrix = {row["id"]: row for row in summary["traceability"]}
    assert set(matrix) >= {"FR-001", "SC-002"} and all(row["traced"] for row in matrix.values())
    assert matrix["FR-001"]["priority"] == "P1" and matrix["FR-001"]["tests"]


def test_stdout_writes_no_file(workdir: Path) -> None:
    result = drafter("spec-to-plan", str(workdir / "SPEC.md"), "--stdout")
    assert result.stdout.startswith("# Implementation Plan:")
    assert not (workdir / "PLAN.md").exists()


def test_bom_and_crlf_just_work(tmp_path: Path) -> None:
    text = EXAMPLE_SPEC.read_text("utf-8").replace("\n", "\r\n")
    (tmp_path / "SPEC.md").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = drafter("spec-to-plan", str(tmp_path / "SPEC.md"), "--stdout")
    assert result.returncode == 0, result.stderr
    assert "FR-006" in result.stdout and "\r" not in result.stdout


def test_spec_without_requirement_ids_drafts_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "SPEC.md").write_text("# Feature: Dark mode\n\nUsers want a dark theme.\n")
    result = drafter("spec-to-plan", str(tmp_path / "SPEC.md"))
    assert result.returncode == 0, result.stderr
    assert "no requirement IDs" in result.stderr
    assert "**Review**" in (tmp_path / "PLAN.md").read_text("utf-8")


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (lambda d: d / "missing.md", 2, ("missing.md",)),
        (lambda d: d, 2, ("directory",)),
        (lambda d: _write(d / "empty.md", b"  \n"), 2, ("empty",)),
        (lambda d: _write(d / "bin.md", b"# T\n\x00\xff\xfe binary"), 2, ("binary",)),
        (lambda d: _write(d / "latin1.md", "# Caf\xe9\n".encode("latin-1")), 2, ("UTF-8",)),
    ],
    ids=["missing", "directory", "empty", "binary", "non-utf8"],
)
def test_bad_spec_gives_one_line_and_writes_nothing(
    tmp_path: Path, make: object, code: int, words: tuple[str, ...]
) -> None:
    spec = make(tmp_path)  # type: ignore[operator]
    before = sorted(tmp_path.iterdir())
    result = drafter("spec-to-plan", str(spec))
    assert_one_line_error(result, code, *words)
    assert sorted(tmp_path.iterdir()) == before


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_output_equal_to_input_is_refused(workdir: Path) -> None:
    spec = workdir / "SPEC.md"
    before = spec.read_bytes()
    assert_one_line_error(drafter("spec-to-plan", str(spec), "-o", str(spec)), 2, "spec itself")
    assert spec.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only directories")
def test_unwritable_output_directory(workdir: Path) -> None:
    locked = workdir / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = drafter("spec-to-plan", str(workdir / "SPEC.md"), "-o", str(locked / "PLAN.md"))
        assert_one_line_error(result, 2, "not writable")
    finally:
        locked.chmod(0o700)


def test_missing_output_directory(workdir: Path) -> None:
    result = drafter("spec-to-plan", str(workdir / "SPEC.md"), "-o", str(workdir / "no" / "P.md"))
    assert_one_line_error(result, 2, "does not exist")


def test_unknown_flag_is_a_usage_error(workdir: Path) -> None:
    result = drafter("spec-to-plan", str(workdir / "SPEC.md"), "--frobnicate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--frobnicate" in result.stderr


def test_large_spec_is_refused_quickly(tmp_path: Path) -> None:
    big = tmp_path / "SPEC.md"
    line = "- **FR-001**: System MUST do a thing that is described at length here.\n"
    big.write_text("# Big\n\n" + line * (10 * 1024 * 1024 // len(line)), "utf-8")
    result = drafter("spec-to-plan", str(big))
    assert result.returncode in (0, 2)
    if result.returncode == 2:
        assert_one_line_error(result, 2, "MB")


def test_schema_prints_the_plan_model() -> None:
    result = drafter("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "Plan" and "steps" in schema["properties"]
    one = json.loads(drafter("schema", "goal").stdout)
    assert one["title"] == "GoalSection"
    assert_one_line_error(drafter("schema", "nope"), 2, "unknown section")


def test_help_and_offline_runs_do_not_import_langchain_or_mcp(workdir: Path) -> None:
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['drafter', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('drafter', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('langchain', 'langchain_core', 'langchain_openai', 'openai', 'vcr', 'mcp'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    for args in (
        ["--help"],
        ["mcp", "--help"],
        ["spec-to-plan", str(workdir / "SPEC.md"), "--stdout"],
    ):
        result = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60
        )
        assert "HEAVY []" in result.stderr, result.stderr[-500:]
