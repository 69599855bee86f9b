"""Start-up and offline drafting speed, as ratios to baselines measured in the same run.

Targets (issue 3): offline spec-to-plan on the largest corpus spec <= 2x the import of
pydantic+jinja2+typer+markdown_it; `drafter --help` <= 1.5x `import typer`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
RUNS = 9


def wall(command: list[str]) -> float:
    """Median wall time of `command` over RUNS runs (after one warm-up run)."""
    subprocess.run(command, capture_output=True, check=False)
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def largest_spec() -> Path:
    specs = sorted(CORPUS.glob("*/spec.md"), key=lambda p: p.stat().st_size)
    return specs[-1] if specs else REPO / "examples" / "csv-export" / "SPEC.md"


def main() -> None:
    python = sys.executable
    spec = largest_spec()
    with tempfile.TemporaryDirectory() as scratch:
        output = str(Path(scratch) / "PLAN.md")
        imports = wall([python, "-c", "import pydantic, jinja2, typer, markdown_it"])
        draft = wall([python, "-m", "drafter", "spec-to-plan", str(spec), "-o", output, "--force"])
        typer_only = wall([python, "-c", "import typer"])
        help_time = wall([python, "-m", "drafter", "--help"])
    print(f"spec: {spec} ({spec.stat().st_size} bytes), median of {RUNS} runs")
    print(f"baseline import pydantic+jinja2+typer+markdown_it: {imports * 1000:7.1f} ms")
    print(f"drafter spec-to-plan (offline, whole process):     {draft * 1000:7.1f} ms")
    print(f"  ratio: {draft / imports:.2f}x   (target <= 2.00x)")
    print(f"baseline import typer:                             {typer_only * 1000:7.1f} ms")
    print(f"drafter --help:                                    {help_time * 1000:7.1f} ms")
    print(f"  ratio: {help_time / typer_only:.2f}x   (target <= 1.50x)")


if __name__ == "__main__":
    main()
