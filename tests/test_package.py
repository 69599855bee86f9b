"""The built wheel carries prompts/ and templates/ and works from any directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import EXAMPLES, REPO


def test_wheel_works_outside_the_checkout(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(tmp_path / "dist"), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("drafter-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "drafter/_data/templates/plan.md.j2" in names
    assert any(n.startswith("drafter/_data/prompts/") and n.endswith(".md.j2") for n in names)

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "elsewhere"
    work.mkdir()
    for name in ("SPEC.md", "constitution.md"):
        shutil.copy(EXAMPLES / "csv-export" / name, work / name)
    probe = (
        "import runpy, sys, drafter; print(drafter.__file__, file=sys.stderr); "
        "sys.argv = ['drafter', 'spec-to-plan', 'SPEC.md']; "
        "runpy.run_module('drafter', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=work,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert str(site) in result.stderr.splitlines()[0]  # the wheel's drafter, not the checkout's
    assert (work / "PLAN.md").read_text("utf-8").startswith("# Implementation Plan: CSV Export")
