"""Drafting the section DAG: each section starts as soon as the sections it depends on are
drafted, and is checked and re-asked with the errors when its answer is invalid.

A section that fails does not stop the others: every section that can be drafted is, and is
kept on disk (`partial_dir`), so the next run drafts only what is missing. How many provider
calls run at once is the provider's bound (`drafter.providers.limiter`), not the DAG's.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from drafter.checks import grounding
from drafter.checks.compliance import RuleJudge, validate_section
from drafter.core.errors import DrafterError, ProviderError
from drafter.core.files import write_atomic
from drafter.drafting import AnswerInvalid, Drafter, DraftInputs
from drafter.model import plan as p
from drafter.model.sections import SECTIONS, Section, Upstream
from drafter.providers.base import ProviderFailure
from drafter.providers.usage import SectionUsage


@dataclass(frozen=True)
class PipelineOptions:
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
    # Where the plan will be written (links in it are relative to it); None: beside the spec.
    plan_dir: Path | None = None
    # Set from another thread (drafter batch on Ctrl-C) to stop drafting at once.
    stop: threading.Event | None = None
    # Called with each section's name as it is done (drafted, or kept from an earlier run).
    on_section: Callable[[str], None] | None = None


class Blocked(DrafterError):
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
    records: dict[str, SectionUsage],
    redo: Redo | None = None,
) -> dict[str, BaseModel | DrafterError]:
    """Draft every section; each starts as soon as the sections it depends on are done.

    Returns each section's model, or the `DrafterError` that stopped it. With `redo`, only
    its sections are drafted (never taken from `partial_dir`); the others are as drafted.
    """
    tasks: dict[str, asyncio.Task[BaseModel]] = {}

    async def run(section: Section) -> BaseModel:
        if redo is not None and section.name not in redo.sections:
            return redo.drafted[section.name]
        drafted_upstream: dict[str, BaseModel] = {}
        for dep in section.depends_on:
            try:
                drafted_upstream[dep] = await tasks[dep]
            except DrafterError as error:
                raise Blocked(f"it depends on section {dep}, which could not be drafted") from error
        record = records[section.name]
        kept = None if redo is not None else _load_kept(section, options.partial_dir)
        if kept is not None:
            record.resumed = True
            _done(section, options)
            return kept
        started = time.perf_counter()
        feedback = redo.feedback.get(section.name, ()) if redo is not None else ()
        upstream = Upstream(section, drafted_upstream)
        try:
            drafted = await _draft_valid(
                section, inputs, upstream, drafter, options, record, feedback
            )
        finally:
            record.wall_s += time.perf_counter() - started
        _keep(section, drafted, options.partial_dir)
        _done(section, options)
        return drafted

    for section in SECTIONS:  # topological order: dependencies get their task first
        tasks[section.name] = asyncio.ensure_future(run(section))
    try:
        await asyncio.wait(tasks.values())
    finally:
        for task in tasks.values():  # interrupted (Ctrl-C): stop what is still running
            task.cancel()
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
    upstream: Upstream,
    drafter: Drafter,
    options: PipelineOptions,
    record: SectionUsage,
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
            drafted = await drafter.draft_section(section, inputs, upstream, errors)
        except AnswerInvalid as invalid:
            record.add(invalid.usage)
            errors = invalid.errors
            continue
        except ProviderFailure as failure:
            record.add(failure.usage)
            raise
        record.add(drafted.usage)
        model = drafted.section
        errors = (
            [
                *validate_section(section.name, model, inputs.spec),
                *grounding.validate_section(section.name, model, inputs.repository),
            ]
            if options.validate
            else []
        )
        if not errors:
            return model
    repairs = options.repair_attempts
    raise ProviderError(
        f"the answer was still invalid after {repairs} repair{'s' if repairs != 1 else ''}: "
        + "; ".join(errors),
        section.name,
    )


def _done(section: Section, options: PipelineOptions) -> None:
    if options.on_section is not None:
        options.on_section(section.name)


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
    values["reviews"] = [
        p.not_drafted_review(section.name, cause.removeprefix(f"section {section.name}: "))
    ]
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
