"""Start-up and offline drafting speed, as ratios to baselines measured in the same run.

Targets (issue 3): offline spec-to-plan on the largest corpus spec <= 2x the import of
pydantic+jinja2+typer+markdown_it; `drafter --help` <= 1.5x `import typer`. Issue 12: a
generated 90 KB Kiro spec (130+ requirements, 690 criteria) drafts offline in under 1 s.
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


def large_spec(target: int = 90_000) -> str:
    """A Kiro requirements.md of about `target` bytes: many requirements, five criteria each."""
    parts = [
        "# Requirements Document\n\n## Introduction\n\n"
        "A generated spec to time the offline drafter on a large file.\n\n## Requirements\n"
    ]
    size, n = len(parts[0]), 0
    while size < target:
        n += 1
        criteria = "".join(
            f"{k}. WHEN event {k} of area {n} happens, THE Service SHALL record it in "
            f"`logs/area{n}.log` within {k * 10} ms\n"
            for k in range(1, 6)
        )
        parts.append(
            f"\n### Requirement {n}: Feature area {n}\n\n**User Story:** As an operator, I want "
            f"feature area {n} to work, so that the service stays useful.\n\n"
            f"#### Acceptance Criteria\n\n{criteria}"
        )
        size += len(parts[-1])
    return "".join(parts)


def main() -> None:
    python = sys.executable
    spec = largest_spec()
    with tempfile.TemporaryDirectory() as scratch:
        output = str(Path(scratch) / "PLAN.md")
        imports = wall([python, "-c", "import pydantic, jinja2, typer, markdown_it"])
        draft = wall([python, "-m", "drafter", "spec-to-plan", str(spec), "-o", output, "--force"])
        typer_only = wall([python, "-c", "import typer"])
        help_time = wall([python, "-m", "drafter", "--help"])
        large = Path(scratch) / "large" / "requirements.md"
        large.parent.mkdir()
        large.write_text(large_spec(), encoding="utf-8")
        large_out = str(large.parent / "PLAN.md")
        large_size = large.stat().st_size
        large_draft = wall(
            [python, "-m", "drafter", "spec-to-plan", str(large), "-o", large_out, "--force"]
        )
        parse = wall([python, "-c", f"from pathlib import Path; from drafter.inputs.spec "
                      f"import load; load(Path({str(large)!r}))"])  # fmt: skip
    print(f"spec: {spec} ({spec.stat().st_size} bytes), median of {RUNS} runs")
    print(f"baseline import pydantic+jinja2+typer+markdown_it: {imports * 1000:7.1f} ms")
    print(f"drafter spec-to-plan (offline, whole process):     {draft * 1000:7.1f} ms")
    print(f"  ratio: {draft / imports:.2f}x   (target <= 2.00x)")
    print(f"baseline import typer:                             {typer_only * 1000:7.1f} ms")
    print(f"drafter --help:                                    {help_time * 1000:7.1f} ms")
    print(f"  ratio: {help_time / typer_only:.2f}x   (target <= 1.50x)")
    print(f"generated Kiro spec ({large_size} bytes), whole process:  {large_draft * 1000:7.1f} ms")
    print(f"  target < 1000 ms; of which import + parse only:   {parse * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
