"""Draft a whole plan: the section DAG, then (LLM runs) the check, the judge and the repair
with rules, then the assembled plan and what it cost."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from drafter.checks.report import Report
from drafter.core.errors import DrafterError, Interrupted, ProviderError
from drafter.drafting import Drafter, DraftInputs, prompts
from drafter.engine.assembly import assemble
from drafter.engine.dag import Blocked, PipelineOptions, draft_sections, empty_section
from drafter.engine.rule_repair import repair
from drafter.model import plan as p
from drafter.model.sections import BY_NAME, SECTIONS, depth
from drafter.providers.usage import SectionUsage, Usage

T = TypeVar("T")

__all__ = ["DraftOutcome", "PipelineOptions", "adraft_plan", "draft_plan", "partial_dir"]


@dataclass(frozen=True)
class DraftOutcome:
    plan: p.Plan
    usage: Usage
    missing: tuple[str, ...] = ()  # sections filled by `empty_section`
    report: Report | None = None  # the check of the final plan, when `repair_rules` ran it


def partial_dir(cache_dir: Path, inputs: DraftInputs, model: str) -> Path:
    """`<cache_dir>/partial/<hash>`: the hash covers what a drafted section depends on."""
    sha = hashlib.sha256()
    sources = [inputs.spec.path, *inputs.spec.extra_sources]
    if inputs.constitution is not None:
        sources += [inputs.constitution.path, *inputs.constitution.extra_sources]
    for path in sources:
        sha.update(path.read_bytes() + b"\0")
    sha.update(f"{model}\0{prompts.digest()}".encode())
    return cache_dir / "partial" / sha.hexdigest()[:16]


def draft_plan(
    inputs: DraftInputs, drafter: Drafter, options: PipelineOptions | None = None
) -> DraftOutcome:
    """Draft all sections and assemble them into a `Plan`.

    Raises the first section's `DrafterError` when a section cannot be drafted (unless
    `options.allow_partial`); the sections that were drafted stay in `options.partial_dir`.
    """
    return asyncio.run(adraft_plan(inputs, drafter, options))


async def adraft_plan(
    inputs: DraftInputs, drafter: Drafter, options: PipelineOptions | None = None
) -> DraftOutcome:
    """`draft_plan` for callers that already run an event loop."""
    options = options or PipelineOptions()
    started = time.perf_counter()
    records: dict[str, SectionUsage] = {s.name: SectionUsage(section=s.name) for s in SECTIONS}
    results = await _stoppable(draft_sections(inputs, drafter, options, records), options)
    failures = {name: r for name, r in results.items() if isinstance(r, DrafterError)}
    if failures and not options.allow_partial:
        raise _run_failure(failures, results, options)
    drafted = {
        name: empty_section(BY_NAME[name], str(r)) if isinstance(r, DrafterError) else r
        for name, r in results.items()
    }
    report = None
    if options.repair_rules:
        rounds = 0 if failures else options.repair_attempts  # empty sections: nothing to fix
        report = await repair(inputs, drafter, options, drafted, records, rounds)
    judged = "judge" in records and records["judge"].calls > 0
    outcome = DraftOutcome(
        plan=assemble(inputs, drafted, options.plan_dir),
        usage=Usage.build(
            drafter.name,
            depth() + judged,  # the judge runs after the last section: one more level
            time.perf_counter() - started,
            list(records.values()),
        ),
        missing=tuple(failures),
        report=report,
    )
    if options.partial_dir is not None and not failures:
        shutil.rmtree(options.partial_dir, ignore_errors=True)
    return outcome


STOP_POLL_S = 0.1  # how soon a stop set by another thread is seen


async def _stoppable(work: Coroutine[Any, Any, T], options: PipelineOptions) -> T:
    """Run `work`; when `options.stop` is set, cancel it and raise `Interrupted` (the
    sections drafted so far stay in `options.partial_dir`)."""
    if options.stop is None:
        return await work
    task = asyncio.ensure_future(work)
    while not task.done():
        if options.stop.is_set():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise Interrupted("interrupted")
        await asyncio.wait({task}, timeout=STOP_POLL_S)
    return task.result()


def _run_failure(
    failures: dict[str, DrafterError],
    results: Mapping[str, object],
    options: PipelineOptions,
) -> DrafterError:
    """The error to report: the first section that failed on its own, with what was kept."""
    first = next(e for e in failures.values() if not isinstance(e, Blocked))
    drafted = len(results) - len(failures)
    if options.partial_dir is None or not drafted or not isinstance(first, ProviderError):
        return first
    kept = f"{drafted} of {len(results)} sections kept in {options.partial_dir}"
    error = ProviderError(f"{first} ({kept}; run again to draft only the rest)")
    error.section = first.section
    return error
