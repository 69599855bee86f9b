"""LLM drafting against the fake provider at 300 ms per call: concurrency, prefix reuse, calls,
and what a plan costs in input tokens.

Figures, each as a ratio to a baseline measured in the same run:
- wall / (DAG depth x latency), the judge's level included (target <= 1.15);
- shared-prefix share of prompt characters (target >= 80 %);
- calls per plan (sections + judge calls) and the judge's calls and prompt tokens;
- input tokens per plan / (spec + constitution tokens), with the cached prefix billed at 10 %
  as providers bill it (tokens as the fake counts them: 4 characters each).

The fake server runs as its own process, as a provider would, so it does not compete with the
drafter for the interpreter. Usage: python bench/bench_llm.py [SPEC.md ...]
(default: the bundled example, and the 30 KB corpus spec where ../shared is present).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fake_server import start_fake  # noqa: E402

from drafter.app.workflow import DraftRequest, spec_to_plan  # noqa: E402  (after the path is set)
from drafter.inputs import constitution  # noqa: E402

LATENCY_MS = 300
CACHED_PRICE = 0.1  # share of the input price providers bill for cached prompt tokens
CORPUS_30KB = REPO.parent / "shared" / "corpus" / "moonmind-post-merge-jira" / "spec.md"


def default_specs() -> list[Path]:
    specs = sorted((REPO / "examples").glob("*/SPEC.md"))
    return specs + ([CORPUS_30KB] if CORPUS_30KB.is_file() else [])


def call(base_url: str, path: str, method: str = "GET") -> dict[str, object]:
    root = base_url.removesuffix("/v1")
    request = urllib.request.Request(root + path, method=method, data=b"{}" if method else None)
    with urllib.request.urlopen(request) as response:
        return dict(json.load(response))


def bench(spec_path: Path, base_url: str, cache_dir: Path) -> None:
    call(base_url, "/_reset", "POST")
    result = spec_to_plan(
        DraftRequest(
            spec_path=spec_path,
            to_stdout=True,
            settings_flags={
                "model": "openai:fake",
                "base_url": base_url,
                "cache": False,
                "resume": False,
                "cache_dir": cache_dir,
            },
        )
    )
    stats = call(base_url, "/_stats")
    usage = result.usage
    ideal = usage.dag_depth * LATENCY_MS / 1000
    mean_chars = float(str(stats["mean_prompt_chars"]))
    share = float(str(stats["shared_prefix_chars"])) / mean_chars
    judge = next((row for row in usage.sections if row.section == "judge"), None)
    total = usage.total
    billed = total.prompt_tokens - total.cached_tokens * (1 - CACHED_PRICE)
    found = constitution.discover(spec_path, None, None)
    rules_chars = len(found.read_text("utf-8")) if found else 0
    source_tokens = (len(spec_path.read_text("utf-8")) + rules_chars) / 4
    shown = (
        spec_path.relative_to(REPO.parent) if spec_path.is_relative_to(REPO.parent) else spec_path
    )
    print(shown)
    print(
        f"  wall {usage.wall_s:.2f} s / (DAG depth {usage.dag_depth} x {LATENCY_MS} ms)"
        f" = {usage.wall_s / ideal:.2f}   (target <= 1.15)"
    )
    print(
        f"  shared prefix {stats['shared_prefix_chars']} of {mean_chars:.0f} mean prompt chars"
        f" = {share:.0%}   (target >= 80%)"
    )
    print(
        f"  calls per plan {total.calls} (judge {judge.calls if judge else 0},"
        f" repairs {total.repairs}, retries {total.retries}); judge prompt tokens"
        f" {judge.prompt_tokens if judge else 0} of {total.prompt_tokens}"
    )
    print(
        f"  input tokens per plan / (spec + constitution tokens) = {billed:.0f} / "
        f"{source_tokens:.0f} = {billed / source_tokens:.1f}x (cached prefix billed at "
        f"{CACHED_PRICE:.0%}); unbilled {total.prompt_tokens / source_tokens:.1f}x"
    )


def main() -> None:
    import tempfile

    specs = [Path(arg).resolve() for arg in sys.argv[1:]] or default_specs()
    process, base_url = start_fake(LATENCY_MS)
    try:
        with tempfile.TemporaryDirectory() as cache_dir:
            for spec_path in specs:
                bench(spec_path, base_url, Path(cache_dir))
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
