"""Run the section DAG with a drafter, repair invalid sections, and assemble the plan.

Sections start as soon as the sections they depend on are drafted, at most `max_concurrency`
at once, so a run takes about (DAG depth x one call's latency). A section that fails does not
stop the others: every section that can be drafted is, and is kept on disk, so the next run
drafts only what is missing.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from drafter.checks.compliance import RuleJudge, validate_section
from drafter.checks.report import Report
from drafter.core.config import Settings
from drafter.core.errors import DrafterError, ProviderError
from drafter.core.files import write_atomic
from drafter.drafting import AnswerInvalid, Drafter, DraftInputs, prompts
from drafter.model import plan as p
from drafter.model.sections import BY_NAME, SECTIONS, Section, levels
from drafter.providers import usage


@dataclass(frozen=True)
class PipelineOptions:
    max_concurrency: int = 8
    repair_attempts: int = 2
    # Check each section and re-ask with the errors. Off for the offline drafter: it is
    # deterministic, so asking again gives the same answer (the compliance check reports it).
    validate: bool = True
    # Where drafted sections are kept until the whole plan is drafted (None: nowhere).
    partial_dir: Path | None = None
    # Fill sections that could not be drafted with an empty one carrying a review item,
    # instead of failing.
    allow_partial: bool = False
    # Check the drafted plan and redraft the sections its MUST failures concern, with the
    # failures as feedback, at most `repair_attempts` rounds (LLM runs).
    repair_rules: bool = False
    # Decides the rules no check can (the LLM judge); its calls are the usage row "judge".
    judge: RuleJudge | None = None


@dataclass(frozen=True)
class DraftOutcome:
    plan: p.Plan
    usage: usage.Usage
    missing: tuple[str, ...] = ()  # sections filled by `empty_section`
    report: Report | None = None  # the check of the final plan, when `repair_rules` ran it


def options_for(
    settings: Settings, inputs: DraftInputs, drafter: Drafter, *, allow_partial: bool = False
) -> PipelineOptions:
    """Options for a run with `settings`: LLM runs validate and keep partial sections."""
    llm = settings.model is not None
    keep = llm and settings.cache
    from drafter.engine.judge import LLMJudge  # cheap: it imports LangChain only when it calls

    return PipelineOptions(
        max_concurrency=settings.max_concurrency,
        repair_attempts=settings.repair_attempts,
        validate=llm,
        partial_dir=partial_dir(settings.cache_dir, inputs, drafter.name) if keep else None,
        allow_partial=allow_partial,
        repair_rules=llm,
        judge=LLMJudge(settings, inputs) if llm else None,
    )


def partial_dir(cache_dir: Path, inputs: DraftInputs, model: str) -> Path:
    """`<cache_dir>/partial/<hash>`: the hash covers what a drafted section depends on."""
    sha = hashlib.sha256()
    sources = [inputs.spec.path, *inputs.spec.extra_sources]
    if inputs.constitution is not None:
        sources.append(inputs.constitution.path)
    for path in sources:
        sha.update(path.read_bytes() + b"\0")
    sha.update(f"{model}\0{prompts.digest()}".encode())
    return cache_dir / "partial" / sha.hexdigest()[:16]


def draft_plan(
    inputs: DraftInputs, drafter: Drafter, options: PipelineOptions = PipelineOptions()
) -> DraftOutcome:
    """Draft all sections and assemble them into a `Plan`.

    Raises the first section's `DrafterError` when a section cannot be drafted (unless
    `options.allow_partial`); the sections that were drafted stay in `options.partial_dir`.
    """
    return asyncio.run(adraft_plan(inputs, drafter, options))


async def adraft_plan(
    inputs: DraftInputs, drafter: Drafter, options: PipelineOptions = PipelineOptions()
) -> DraftOutcome:
    """`draft_plan` for callers that already run an event loop."""
    started = time.perf_counter()
    records = {s.name: usage.SectionUsage(section=s.name) for s in SECTIONS}
    results = await draft_sections(inputs, drafter, options, records)
    failures = {name: r for name, r in results.items() if isinstance(r, BaseException)}
    if failures and not options.allow_partial:
        raise _run_failure(failures, results, options)
    drafted = {
        name: empty_section(BY_NAME[name], str(r)) if isinstance(r, DrafterError) else r
        for name, r in results.items()
    }
    report = None
    if options.repair_rules:
        from drafter.engine.rule_repair import repair

        rounds = 0 if failures else options.repair_attempts  # empty sections: nothing to fix
        report = await repair(inputs, drafter, options, drafted, records, rounds)
    outcome = DraftOutcome(
        plan=assemble(inputs, drafted),
        usage=usage.Usage.build(
            drafter.name, len(levels()), time.perf_counter() - started, list(records.values())
        ),
        missing=tuple(failures),
        report=report,
    )
    if options.partial_dir is not None and not failures:
        shutil.rmtree(options.partial_dir, ignore_errors=True)
    return outcome


class _Blocked(DrafterError):
    """A section not drafted because a section it depends on could not be."""


@dataclass(frozen=True)
class Redo:
    """A second pass over drafted sections: redraft `sections`, with `feedback` for some."""

    drafted: Mapping[str, BaseModel]
    feedback: Mapping[str, Sequence[str]]
    sections: set[str]


async def draft_sections(
    inputs: DraftInputs,
    drafter: Drafter,
    options: PipelineOptions,
    records: dict[str, usage.SectionUsage],
    redo: Redo | None = None,
) -> dict[str, BaseModel | DrafterError]:
    """Draft every section; each starts as soon as the sections it depends on are done.

    Returns each section's model, or the `DrafterError` that stopped it. With `redo`, only
    its sections are drafted (never taken from `partial_dir`); the others are as drafted.
    """
    limit = asyncio.Semaphore(options.max_concurrency)
    tasks: dict[str, asyncio.Task[BaseModel]] = {}

    async def run(section: Section) -> BaseModel:
        if redo is not None and section.name not in redo.sections:
            return redo.drafted[section.name]
        upstream: dict[str, BaseModel] = {}
        for dep in section.depends_on:
            try:
                upstream[dep] = await tasks[dep]
            except DrafterError as error:
                raise _Blocked(
                    f"it depends on section {dep}, which could not be drafted"
                ) from error
        record = records[section.name]
        kept = None if redo is not None else _load_kept(section, options.partial_dir)
        if kept is not None:
            record.resumed = True
            return kept
        usage.make_current(record)  # this task's own context: concurrent sections never mix
        started = time.perf_counter()
        feedback = redo.feedback.get(section.name, ()) if redo is not None else ()
        try:
            drafted = await _draft_valid(
                section, inputs, upstream, drafter, options, limit, record, feedback
            )
        finally:
            record.wall_s += time.perf_counter() - started
        _keep(section, drafted, options.partial_dir)
        return drafted

    for section in SECTIONS:  # topological order: dependencies get their task first
        tasks[section.name] = asyncio.ensure_future(run(section))
    await asyncio.wait(tasks.values())
    results: dict[str, BaseModel | DrafterError] = {}
    for name, task in tasks.items():
        error = task.exception()
        if error is not None and not isinstance(error, DrafterError):
            raise error  # a bug, not a provider failure: show it
        results[name] = error if error is not None else task.result()
    return results


async def _draft_valid(
    section: Section,
    inputs: DraftInputs,
    upstream: dict[str, BaseModel],
    drafter: Drafter,
    options: PipelineOptions,
    limit: asyncio.Semaphore,
    record: usage.SectionUsage,
    feedback: Sequence[str] = (),
) -> BaseModel:
    """Draft `section`, re-asking with the errors up to `options.repair_attempts` times.

    `feedback` (a rule repair's) makes the first call a repair too.
    """
    errors: Sequence[str] = feedback
    for attempt in range(options.repair_attempts + 1):
        if attempt or errors:
            record.repairs += 1
        try:
            async with limit:
                drafted = await drafter.draft_section(section, inputs, upstream, errors)
        except AnswerInvalid as invalid:
            errors = invalid.errors
            continue
        errors = validate_section(section.name, drafted, inputs.spec) if options.validate else []
        if not errors:
            return drafted
    repairs = options.repair_attempts
    raise ProviderError(
        f"the answer was still invalid after {repairs} repair{'s' if repairs != 1 else ''}: "
        + "; ".join(errors),
        section.name,
    )


def _run_failure(
    failures: dict[str, DrafterError],
    results: dict[str, BaseModel | DrafterError],
    options: PipelineOptions,
) -> DrafterError:
    """The error to report: the first section that failed on its own, with what was kept."""
    first = next(e for e in failures.values() if not isinstance(e, _Blocked))
    drafted = len(results) - len(failures)
    if options.partial_dir is None or not drafted or not isinstance(first, ProviderError):
        return first
    kept = f"{drafted} of {len(results)} sections kept in {options.partial_dir}"
    error = ProviderError(f"{first} ({kept}; run again to draft only the rest)")
    error.section = first.section
    return error


def _keep(section: Section, drafted: BaseModel, directory: Path | None) -> None:
    if directory is None:
        return
    # atomic: an interrupted run never leaves half a section
    write_atomic(directory / f"{section.name}.json", drafted.model_dump_json(indent=1))


def _load_kept(section: Section, directory: Path | None) -> BaseModel | None:
    if directory is None:
        return None
    path = directory / f"{section.name}.json"
    try:
        return section.model.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):  # absent, or from an older plan model: draft again
        return None


def empty_section(section: Section, cause: str) -> BaseModel:
    """A minimal valid `section.model` whose review item says why it was not drafted."""
    values = _empty_values(section.model)
    values["reviews"] = [p.ReviewItem(text=f"section {section.name} could not be drafted: {cause}")]
    return section.model.model_validate(values)


def _empty_values(model: type[BaseModel]) -> dict[str, Any]:
    return {name: _empty(info.annotation) for name, info in model.model_fields.items()}


_NOT_DRAFTED = "not drafted (see Open Issues)"


def _empty(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is list:
        return []
    if origin in (Union, UnionType) and type(None) in get_args(annotation):
        # A nullable text says why it is empty (e.g. a section's not_applicable_reason, which
        # the structural checks require when there is no content); anything else is null.
        return _NOT_DRAFTED if str in get_args(annotation) else None
    if origin is Literal:
        return get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _empty_values(annotation)
    if annotation is bool:
        return False
    return _NOT_DRAFTED


def assemble(inputs: DraftInputs, drafted: dict[str, BaseModel]) -> p.Plan:
    """Build the plan from drafted sections plus the parts derived from the inputs alone."""
    steps = drafted["steps"]
    assert isinstance(steps, p.StepsSection)
    # The sections are validated instances already: pydantic takes them as they are.
    return p.Plan.model_validate(
        {**drafted, "references": references(inputs), "footer": footer(inputs, steps)}
    )


def references(inputs: DraftInputs) -> list[p.Reference]:
    spec_path = inputs.spec.path
    refs = [p.Reference(label=f"Feature spec: {spec_path.name}", target=f"./{spec_path.name}")]
    refs += [
        p.Reference(label=f"Delta spec: {extra.name}", target=_relative(extra, spec_path))
        for extra in inputs.spec.extra_sources
    ]
    if inputs.constitution is not None:
        target = _relative(inputs.constitution.path, spec_path)
        refs.append(p.Reference(label="Project constitution", target=target))
    else:
        refs.append(p.Reference(label="Project constitution: none found", target=None))
    return refs


def _relative(path: Path, spec_path: Path) -> str:
    return os.path.relpath(str(path), start=os.path.dirname(str(spec_path))).replace(os.sep, "/")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(hour|day|week)s?", re.IGNORECASE)
_HOURS_PER = {"hour": 1.0, "day": 8.0, "week": 40.0}


def total_effort(steps: p.StepsSection) -> str:
    """Sum of the phases' estimates, in days, when every estimate states a duration."""
    hours = 0.0
    for phase in steps.phases:
        match = _DURATION.search(phase.estimate)
        if match is None:
            return "see the phase estimates"
        hours += float(match.group(1)) * _HOURS_PER[match.group(2).lower()]
    days = hours / 8
    return f"{days:g} day{'s' if days != 1 else ''} (sum of the phase estimates)"


def footer(inputs: DraftInputs, steps: p.StepsSection) -> p.Footer:
    created = inputs.spec.created or "not stated in the spec"
    return p.Footer(
        status="Draft",
        author="drafter (generated; a person must review)",
        created=created,
        last_updated=created,
        reviewers="to be assigned",
        estimated_effort=total_effort(steps),
    )
