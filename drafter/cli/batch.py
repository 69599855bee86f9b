"""`drafter batch`: draft (or check) many specs, for CI."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from drafter.cli.app import NoCache, NoResume, app, write_report
from drafter.core.errors import InputError

if TYPE_CHECKING:
    from drafter.app.batch import SpecResult


@app.command("batch")
def batch(
    patterns: Annotated[
        list[str],
        typer.Argument(
            help="Spec files or glob patterns (quote them to use ** or to keep the shell out), "
            "e.g. 'specs/**/spec.md'.",
            show_default=False,
        ),
    ],
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Specs drafted at once.")] = 4,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="K/N: draft only the specs of shard K of N (split by a stable hash of each "
            "spec's path; run from the repository root on every machine).",
        ),
    ] = None,
    replay_dir: Annotated[
        Path | None,
        typer.Option(
            "--replay-dir",
            help="Answer each spec from DIR/<spec path>.yaml (.md replaced): no network, no key.",
        ),
    ] = None,
    record_dir: Annotated[
        Path | None,
        typer.Option("--record-dir", help="Record each spec's traffic into DIR/<spec path>.yaml."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the results as JSON on stdout (the table and diffs go to stderr).",
        ),
    ] = False,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", help="Also write the results as JSON to this file."),
    ] = None,
    junit_file: Annotated[
        Path | None,
        typer.Option(
            "--junit", help="Write JUnit XML to this file: one testcase per spec (CI test tabs)."
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing: re-draft and compare with each committed PLAN.md; a "
            "difference fails with a unified diff.",
        ),
    ] = False,
    model: Annotated[
        str | None,
        typer.Option("--model", help="provider:name (default: offline). Env: DRAFTER_MODEL."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="OpenAI-compatible endpoint. Env: DRAFTER_BASE_URL."),
    ] = None,
    max_concurrency: Annotated[
        int | None,
        typer.Option(
            "--max-concurrency",
            min=1,
            help="Provider calls in flight across all specs together (default 8).",
        ),
    ] = None,
    no_cache: NoCache = False,
    no_resume: NoResume = False,
) -> None:
    """Draft every matching spec, each with its own constitution discovery.

    Exit codes: 0 every spec ok; 1 a spec failed, drifted (--check) or violates a MUST rule;
    2 bad usage.
    """
    from drafter.app import batch as runner
    from drafter.core import config

    if replay_dir is not None and record_dir is not None:
        raise InputError("give either --replay-dir or --record-dir, not both")
    flags = {
        "model": model,
        "base_url": base_url,
        "max_concurrency": max_concurrency,
        "cache": False if no_cache else None,
        "resume": False if no_resume else None,
    }
    settings = config.load(Path.cwd(), flags)
    if record_dir is not None and settings.model is None:
        raise InputError("--record-dir needs --model: offline drafting makes no provider calls")
    specs = runner.expand(patterns)
    if shard is not None:
        k, n = runner.parse_shard(shard)
        specs = [spec for spec in specs if runner.shard_of(spec, n) == k]
    if not specs:
        print(f"drafter: no specs in shard {shard}", file=sys.stderr)
        return
    options = runner.BatchOptions(
        jobs=jobs,
        max_concurrency=settings.max_concurrency,
        replay_dir=replay_dir,
        record_dir=record_dir,
        check=check,
        settings_flags=flags,
    )
    started = time.perf_counter()
    with _progress(len(specs)) as done:
        results = runner.run(specs, options, done)
    seconds = time.perf_counter() - started
    _report(results, seconds, sys.stderr if as_json else sys.stdout)
    summary = {
        "specs": [r.model_dump() for r in results],
        "totals": runner.totals(results),
        "wall_s": round(seconds, 3),
    }
    text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
    if as_json:
        sys.stdout.write(text)
    if report_file is not None:
        write_report(report_file, text)
    if junit_file is not None:
        write_report(junit_file, runner.junit(results, seconds))
    raise typer.Exit(runner.exit_code(results))


@contextmanager
def _progress(total: int) -> Iterator[Callable[[SpecResult], None]]:
    """A progress bar on a terminal; one plain line per finished spec otherwise (CI logs)."""
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("drafting", total=total)
            yield lambda result: bar.advance(task)
        return
    finished = 0
    lock = threading.Lock()  # workers finish at the same time; keep lines whole and numbered

    def line(result: SpecResult) -> None:
        nonlocal finished
        with lock:
            finished += 1
            print(
                f"[{finished}/{total}] {result.spec}: {result.status} ({result.seconds:.1f} s)",
                file=sys.stderr,
                flush=True,
            )

    yield line


def _report(results: Sequence[SpecResult], seconds: float, out: TextIO) -> None:
    """Each spec's warnings, errors and MUST findings on stderr; diffs and the summary
    table on `out`."""
    from drafter.app.batch import COLUMNS, totals

    for result in results:
        for warning in result.warnings:
            print(f"drafter: warning: {result.spec}: {warning}", file=sys.stderr)
        if result.status == "error":
            print(f"drafter: error: {result.spec}: {result.message}", file=sys.stderr)
        for finding in result.must_findings:
            print(finding, file=sys.stderr)
        if result.status == "drifted":
            out.write(result.message)
    rows = [r.row() for r in results]
    count = totals(results)
    tally = ", ".join(f"{count[s]} {s}" for s in ("ok", "must-failed", "drifted", "error"))
    footer = f"{count['specs']} specs in {seconds:.1f} s: {tally}"
    if out.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(caption=footer)
        for column in COLUMNS:
            table.add_column(column, justify="left" if column in ("spec", "status") else "right")
        for row in rows:
            table.add_row(*row)
        Console(file=out).print(table)
        return
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(COLUMNS)]
    for row in (COLUMNS, *rows):
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)
    print(footer, file=out)
