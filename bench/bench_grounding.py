"""Grounding: does the plan name the files the feature really changed, in real folders?

usage: python bench/bench_grounding.py [TREES_DIR] [--skip-speed]

TREES_DIR (default ../trees, or $DRAFTER_TREES) holds one directory per corpus case, laid out
with ../shared/tools/before_tree.py (the repository at the commit before the feature, the
spec put back). Those trees are third-party code: they live outside this repository and are
never committed. For each case with a grounding/truth.json of high or medium confidence it
drafts offline inside the tree and prints the recall of the truly modified files, the recall
of the created files, and the share of named file paths that exist or sit in an existing
folder; then the medians. Speed: context build on a generated 50,000-file repository (cold
and warm) and spec-to-plan inside each tree against --no-repo, both as a re-run (context and
ranking cached) and as a first run (empty cache dir).

Targets (issue 11): median modified recall >= 0.5; >= 95% of named paths real or in a real
folder; context <= 2 s cold, <= 0.2 s warm; spec-to-plan in-repo <= 1.5x --no-repo.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath

from drafter.app.workflow import DraftRequest, spec_to_plan
from drafter.inputs import repository
from drafter.model.plan import Plan

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
RUNS = 5


def named_paths(plan: Plan) -> list[str]:
    """Every file path the plan names: new and modified files, test files."""
    paths = []
    for component in plan.components.components:
        paths += [f.path for f in component.new_files]
        paths += [f.path for f in component.modified_files]
    paths += [suite.file for suite in plan.testing.suites]
    return list(dict.fromkeys(p.removeprefix("./") for p in paths))


def real(path: str, files: set[str], folders: set[str]) -> bool:
    parent = str(PurePosixPath(path).parent)
    return path in files or parent == "." or parent in folders


def folders_of(files: set[str]) -> set[str]:
    result = set()
    for name in files:
        parent = PurePosixPath(name).parent
        while str(parent) != ".":
            result.add(str(parent))
            parent = parent.parent
    return result


def wall(command: list[str], cwd: Path, cold: bool = False) -> float:
    """Median wall time; `cold`: every run with an empty cache dir (a first run)."""
    subprocess.run(command, capture_output=True, check=False, cwd=cwd)  # warm-up (and cache)
    samples = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as cache:
            env = os.environ | ({"DRAFTER_CACHE_DIR": cache} if cold else {})
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, check=False, cwd=cwd, env=env)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def cases(trees: Path) -> list[tuple[str, dict[str, object], Path]]:
    found = []
    for case in sorted(CORPUS.glob("*/grounding/truth.json")):
        truth = json.loads(case.read_text("utf-8"))
        tree = trees / case.parent.parent.name
        if truth["confidence"] in ("high", "medium") and tree.is_dir():
            found.append((case.parent.parent.name, truth, tree))
    return found


def quality(trees: Path, speed: bool) -> None:
    rows = []
    print(f"{'case':38} {'modified':>9} {'created':>8} {'real':>6} {'named':>6}", end="")
    print(
        f" {'no-repo s':>9} {'re-run':>7} {'ratio':>6} {'1st run':>7} {'ratio':>6}" if speed else ""
    )
    for name, truth, tree in cases(trees):
        spec_path = tree / str(truth["spec_path_in_repo"])
        with tempfile.TemporaryDirectory() as scratch:
            result = spec_to_plan(
                DraftRequest(
                    spec_path=spec_path,
                    to_stdout=True,
                    settings_flags={"cache_dir": Path(scratch), "repo": tree},
                )
            )
        named = named_paths(result.plan)
        files = set(subprocess.run(
            ["git", "ls-files"], cwd=tree, capture_output=True, text=True, check=True
        ).stdout.splitlines())  # fmt: skip
        folders = folders_of(files)
        modified, created = set(truth["modified"]), set(truth["created"])  # type: ignore[call-overload]
        recall_m = len(modified & set(named)) / len(modified) if modified else float("nan")
        recall_c = len(created & set(named)) / len(created) if created else float("nan")
        share = sum(real(p, files, folders) for p in named) / len(named) if named else 1.0
        line = f"{name:38} {recall_m:9.2f} {recall_c:8.2f} {share:6.0%} {len(named):6d}"
        if speed:
            command = [sys.executable, "-m", "drafter", "spec-to-plan", str(spec_path), "--stdout"]
            without = wall([*command, "--no-repo"], tree)
            again = wall(command, tree)
            first = wall(command, tree, cold=True)
            line += f" {without:9.2f} {again:7.2f} {again / without:6.2f}"
            line += f" {first:7.2f} {first / without:6.2f}"
            shutil.rmtree(tree / ".drafter", ignore_errors=True)
        print(line)
        rows.append((recall_m, recall_c, share))
        hits = sorted(modified & set(named))
        print(f"    found: {', '.join(hits) or '-'}")
        print(f"    missed: {', '.join(sorted(modified - set(named))) or '-'}")
    if rows:
        print(
            f"median modified recall: {statistics.median(r[0] for r in rows):.2f} (target >= 0.5)"
        )
        print(f"median created recall:  {statistics.median(r[1] for r in rows):.2f}")
        shares = [r[2] for r in rows]
        print(f"paths real or in a real folder: median {statistics.median(shares):.0%}, "
              f"lowest {min(shares):.0%} (target >= 95%)")  # fmt: skip


def generated(root: Path, count: int = 50_000) -> None:
    """A repository of `count` small source files in a few hundred folders, committed."""
    for index in range(count):
        folder = root / f"pkg{index % 40}" / f"mod{index % 500}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file_{index}.py").write_text(f"def handler_{index}():\n    return {index}\n")
    (root / "pyproject.toml").write_text('[project]\nname = "big"\ndependencies = ["pytest"]\n')
    quiet = {"cwd": root, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q", "."], **quiet)  # type: ignore[call-overload]
    subprocess.run(["git", "add", "-A"], **quiet)  # type: ignore[call-overload]
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@localhost",
            "commit",
            "-qm",
            "big",
        ],
        **quiet,  # type: ignore[arg-type]
    )


def context_speed() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "big"
        root.mkdir()
        generated(root)
        cache = Path(scratch) / "cache"
        start = time.perf_counter()
        context = repository.load(root, cache)
        cold = time.perf_counter() - start
        warm_samples = []
        for _ in range(RUNS):
            start = time.perf_counter()
            repository.load(root, cache)
            warm_samples.append(time.perf_counter() - start)
        warm = statistics.median(warm_samples)
    print(f"context on a generated {len(context.files)}-file repository: "
          f"cold {cold:.2f} s (target <= 2), warm {warm:.3f} s (target <= 0.2)")  # fmt: skip


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    trees = Path(args[0]) if args else Path(os.environ.get("DRAFTER_TREES", REPO.parent / "trees"))
    speed = "--skip-speed" not in sys.argv
    if not CORPUS.is_dir() or not trees.is_dir():
        print(f"skipped: needs {CORPUS} and trees laid out in {trees} (see the docstring)")
    else:
        quality(trees, speed)
    if speed:
        context_speed()


if __name__ == "__main__":
    main()
