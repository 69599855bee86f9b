"""The pre-commit hooks in .pre-commit-hooks.yaml, run by pre-commit itself (`try-repo`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, REPO

HOOKS = REPO / ".pre-commit-hooks.yaml"


def test_hooks_file_declares_both_hooks() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load(HOOKS.read_text("utf-8"))}
    assert set(hooks) == {"drafter-check", "drafter-drift"}
    for hook in hooks.values():
        assert hook["language"] == "python"  # pre-commit installs drafter from this repository
        assert {"name", "entry", "files"} <= set(hook)
    plan_files = re.compile(hooks["drafter-check"]["files"])
    spec_files = re.compile(hooks["drafter-drift"]["files"])
    assert plan_files.search("specs/001-x/PLAN.md") and not plan_files.search("specs/SPEC.md")
    for spec in ("specs/001-x/spec.md", "SPEC.md", ".kiro/specs/x/requirements.md"):
        assert spec_files.search(spec), spec
    assert not spec_files.search("docs/PLAN.md")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def test_try_repo_runs_both_hooks(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed; pre-commit needs it")
    if not (REPO / ".git").exists():
        pytest.skip(f"{REPO} is not a git checkout; pre-commit try-repo needs one")
    project = tmp_path / "project"
    for name in ("good", "stale"):
        shutil.copytree(EXAMPLES / "csv-export", project / name)
    spec = project / "stale" / "SPEC.md"
    text = spec.read_text("utf-8")
    assert "- **FR-005**:" in text
    # A requirement added after the plan was drafted: no step or test serves it (a MUST
    # failure for drafter-check) and a re-draft differs from the committed plan (drift).
    spec.write_text(
        text.replace("- **FR-005**:", "- **FR-099**: System MUST email the link.\n- **FR-005**:"),
        "utf-8",
    )
    git(project, "init", "-q")
    git(project, "add", "-A")

    # pre-commit installs the hooks' repository (this checkout) into a fresh virtualenv with
    # pip. No test reaches the network: pip gets no index and installs drafter alone, and the
    # hook environment imports drafter's dependencies from this test's environment.
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PIP_NO_INDEX": "1",
        "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip's spelling for "build without isolation"
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
    }
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "--all-files", "--color=never"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    if "- hook id:" not in output and "Passed" not in output:
        pytest.skip(f"pre-commit could not install the hooks here: {output.strip()[-400:]}")
    assert done.returncode == 1, output
    check = output[output.index("- hook id: drafter-check") : output.index("drafter drift")]
    drift = output[output.index("- hook id: drafter-drift") :]
    # drafter-check got the plans (not the specs) and failed on the stale one only.
    assert "stale/PLAN.md: 1 error(s)" in check and "DR003 FR-099" in check
    assert "good/PLAN.md: 0 error(s)" in check
    summaries = re.findall(r"^(\S+): \d+ error\(s\)", check, re.MULTILINE)
    assert sorted(summaries) == ["good/PLAN.md", "stale/PLAN.md"]
    # drafter-drift re-drafted the specs and showed the stale plan's diff.
    assert "good/SPEC.md: ok" in drift and "stale/SPEC.md: drifted" in drift
    assert "+++ stale/PLAN.md (drafted now)" in drift
