"""Batch drafting of 40 corpus specs against the fake provider at 200 ms per call, --jobs 8.

Targets (issue 5): wall / ideal <= 1.25, where ideal = total calls x latency / the bound on
calls in flight (all specs share it); calls made by an immediate re-run = 0 (response cache).

The corpus is third-party text: it is copied into a temporary directory at run time, never
into the repository. Each copy gets a line of its own so that no two specs send the same
requests (identical copies would answer each other from the cache). The fake server runs as
its own process, as a provider would. Usage: python bench/bench_batch.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
sys.path.insert(0, str(REPO))

from fake_server import start_fake  # noqa: E402

from drafter.app import batch  # noqa: E402  (after the path is set, to run from a checkout

LATENCY_MS = 200
SPECS = 40
JOBS = 8
BOUND = 8  # provider calls in flight across all specs


@dataclass(frozen=True)
class Run:
    wall: float
    calls: int
    max_in_flight: int
    failed: list[batch.SpecResult]


def make_specs(root: Path) -> list[Path]:
    cases = sorted(p for p in CORPUS.iterdir() if (p / "spec.md").is_file())
    specs = []
    for i in range(SPECS):
        case = cases[i % len(cases)]
        target = root / "specs" / f"{i:02d}-{case.name}"
        shutil.copytree(case, target, ignore=shutil.ignore_patterns("plan.md", "SOURCE.txt"))
        spec = target / "spec.md"
        spec.write_text(spec.read_text("utf-8") + f"\n<!-- batch bench copy {i} -->\n", "utf-8")
        specs.append(spec)
    return specs


def stats(base_url: str, path: str = "/_stats", method: str = "GET") -> dict[str, object]:
    root = base_url.removesuffix("/v1")
    data = b"{}" if method == "POST" else None
    with urllib.request.urlopen(urllib.request.Request(root + path, data, method=method)) as reply:
        return dict(json.load(reply))


def timed_run(specs: list[Path], options: batch.BatchOptions, base_url: str) -> Run:
    """One batch; calls are counted by the server (a failed spec reports no usage)."""
    stats(base_url, "/_reset", "POST")
    started = time.perf_counter()
    results = batch.run(specs, options)
    wall = time.perf_counter() - started
    seen = stats(base_url)
    failed = [r for r in results if r.status == "error"]
    return Run(wall, int(str(seen["requests"])), int(str(seen["max_in_flight"])), failed)


def main() -> None:
    if not CORPUS.is_dir():
        sys.exit(f"bench: the corpus is absent ({CORPUS})")
    from drafter.drafting import llm  # noqa: F401  (import LangChain before the clock starts)

    process, base_url = start_fake(LATENCY_MS)
    try:
        with tempfile.TemporaryDirectory(prefix="drafter-bench-batch-") as temporary:
            root = Path(temporary)
            (root / ".git").mkdir()  # the settings and constitution searches stop here
            os.chdir(root)
            specs = make_specs(root)
            options = batch.BatchOptions(
                jobs=JOBS,
                max_concurrency=BOUND,
                settings_flags={
                    "model": "openai:fake",
                    "base_url": base_url,
                    "max_concurrency": BOUND,
                    "cache_dir": root / ".drafter",
                },
            )
            first = timed_run(specs, options, base_url)
            rerun = timed_run(specs, options, base_url)
            os.chdir(REPO)
    finally:
        process.terminate()
        process.wait()
    ideal = first.calls * LATENCY_MS / 1000 / BOUND
    print(f"{len(specs)} corpus specs, --jobs {JOBS}, {BOUND} calls in flight, {LATENCY_MS} ms")
    print(
        f"  wall {first.wall:.2f} s / ideal ({first.calls} calls x {LATENCY_MS} ms / {BOUND})"
        f" {ideal:.2f} s = {first.wall / ideal:.2f}   (target <= 1.25);"
        f" most calls in flight {first.max_in_flight}"
    )
    print(f"  immediate re-run: {rerun.calls} calls in {rerun.wall:.2f} s   (target 0 calls)")
    for failure in first.failed:  # the fake's answers for some specs fail drafter's checks
        print(f"  failed: {failure.spec}: {failure.message[:160]}")


if __name__ == "__main__":
    main()
