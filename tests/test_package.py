"""The built wheel carries prompts/ and templates/, installs into a fresh virtual environment
with its `drafter` command (what `uv tool install` and `pipx install` make), and works from
any directory; the version is the same everywhere a release states it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

from conftest import EXAMPLES, REPO

import drafter


def test_wheel_installs_into_a_fresh_venv_and_works_outside_the_checkout(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(tmp_path / "dist"), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("drafter-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "drafter/_data/templates/plan.md.j2" in names
    assert "drafter/locale/ja/LC_MESSAGES/drafter.mo" in names  # the prose catalog
    assert "drafter/_data/templates/editors/mcp/claude.json" in names
    assert any(n.startswith("drafter/_data/prompts/") and n.endswith(".md.j2") for n in names)

    # A fresh venv with the wheel installed by pip, as uv tool / pipx do. No test reaches the
    # network, so pip installs drafter alone (--no-index --no-deps) and the venv sees the
    # dependencies of this test's environment through a .pth file placed after its own.
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    bin_dir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    python = bin_dir / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-index", "--no-deps", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    venv_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(venv_site, "zz-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"])

    work = tmp_path / "elsewhere"
    work.mkdir()
    for name in ("SPEC.md", "constitution.md"):
        shutil.copy(EXAMPLES / "csv-export" / name, work / name)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=work, env=env, capture_output=True, text=True, timeout=120
        )

    where = run(str(python), "-c", "import drafter; print(drafter.__file__)")
    assert where.stdout.startswith(venv_site), where  # the wheel's drafter, not the checkout's
    version = run("drafter", "--version")
    assert version.stdout == f"drafter {drafter.__version__}\n", version
    assert run("drafter", "mcp", "--help").returncode == 0
    drafted = run("drafter", "spec-to-plan", "SPEC.md")
    assert drafted.returncode == 0, drafted.stderr
    assert (work / "PLAN.md").read_text("utf-8").startswith("# Implementation Plan: CSV Export")


def test_version_is_the_same_in_package_metadata_and_changelog() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["version"] == drafter.__version__
    changelog = (REPO / "CHANGELOG.md").read_text("utf-8")
    headings = re.findall(r"^## (\S+)", changelog, re.MULTILINE)
    assert headings[0] == "Unreleased"  # where changes go until the release names them
    released = [h for h in headings[1:] if re.fullmatch(r"\d+\.\d+\.\d+", h)]
    assert released and released[0] == drafter.__version__, headings
