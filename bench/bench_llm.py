"""LLM drafting against the fake provider at 300 ms per call: concurrency, prefix reuse, calls.

Targets (issue 4): wall / (DAG depth x latency) <= 1.15; shared-prefix share of prompt
characters >= 80 %; calls per plan = sections (no repairs with the fake's valid answers).

The fake server runs as its own process, as a provider would, so it does not compete with the
drafter for the interpreter. Usage: python bench/bench_llm.py [SPEC.md ...]
(default: the bundled example, else the test fixture spec).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fake_server import start_fake  # noqa: E402

from drafter import workflow  # noqa: E402  (after the path is set, to run from a checkout
from drafter.core.config import Settings  # noqa: E402
from drafter.drafting.llm import LLMDrafter  # noqa: E402
from drafter.engine.pipeline import PipelineOptions, draft_plan  # noqa: E402

LATENCY_MS = 300


def default_specs() -> list[Path]:
    examples = sorted((REPO / "examples").glob("*/SPEC.md"))
    return examples or [REPO / "tests" / "fixtures" / "llm" / "SPEC.md"]


def call(base_url: str, path: str, method: str = "GET") -> dict[str, object]:
    root = base_url.removesuffix("/v1")
    request = urllib.request.Request(root + path, method=method, data=b"{}" if method else None)
    with urllib.request.urlopen(request) as response:
        return dict(json.load(response))


def bench(spec_path: Path, base_url: str) -> None:
    call(base_url, "/_reset", "POST")
    inputs, _ = workflow.load_inputs(spec_path, None, Settings())
    drafter = LLMDrafter(Settings(model="openai:fake", base_url=base_url))
    outcome = draft_plan(inputs, drafter, PipelineOptions())
    stats = call(base_url, "/_stats")
    usage = outcome.usage
    ideal = usage.dag_depth * LATENCY_MS / 1000
    mean_chars = float(str(stats["mean_prompt_chars"]))
    share = float(str(stats["shared_prefix_chars"])) / mean_chars
    print(f"{spec_path.relative_to(REPO) if spec_path.is_relative_to(REPO) else spec_path}")
    print(
        f"  wall {usage.wall_s:.2f} s / (DAG depth {usage.dag_depth} x {LATENCY_MS} ms)"
        f" = {usage.wall_s / ideal:.2f}   (target <= 1.15)"
    )
    print(
        f"  shared prefix {stats['shared_prefix_chars']} of {mean_chars:.0f} mean prompt chars"
        f" = {share:.0%}   (target >= 80%)"
    )
    print(
        f"  calls per plan {usage.total.calls} (sections {len(usage.sections)},"
        f" repairs {usage.total.repairs}, retries {usage.total.retries});"
        f" tokens {usage.total.prompt_tokens} prompt / {usage.total.cached_tokens} cached /"
        f" {usage.total.completion_tokens} completion"
    )


def main() -> None:
    specs = [Path(arg).resolve() for arg in sys.argv[1:]] or default_specs()
    process, base_url = start_fake(LATENCY_MS)
    try:
        for spec_path in specs:
            bench(spec_path, base_url)
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
