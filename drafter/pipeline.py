"""Run the section DAG with a drafter and assemble the plan."""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from drafter import plan as p
from drafter.drafting import Drafter, DraftInputs
from drafter.sections import SECTIONS


async def draft_sections(
    inputs: DraftInputs, drafter: Drafter, *, max_concurrency: int = 8
) -> dict[str, BaseModel]:
    """Draft every section; each starts as soon as the sections it depends on are done."""
    limit = asyncio.Semaphore(max_concurrency)
    tasks: dict[str, asyncio.Task[BaseModel]] = {}

    async def run(name: str) -> BaseModel:
        section = next(s for s in SECTIONS if s.name == name)
        upstream = {dep: await tasks[dep] for dep in section.depends_on}
        async with limit:
            return await drafter.draft_section(section, inputs, upstream, ())

    for section in SECTIONS:  # topological order: dependencies get their task first
        tasks[section.name] = asyncio.ensure_future(run(section.name))
    return {name: await task for name, task in tasks.items()}


@dataclass(frozen=True)
class PipelineOptions:
    max_concurrency: int = 8
    repair_attempts: int = 2


@dataclass(frozen=True)
class DraftOutcome:
    plan: p.Plan


def draft_plan(
    inputs: DraftInputs, drafter: Drafter, options: PipelineOptions = PipelineOptions()
) -> DraftOutcome:
    """Draft all sections and assemble them into a `Plan`."""
    drafted = asyncio.run(draft_sections(inputs, drafter, max_concurrency=options.max_concurrency))
    return DraftOutcome(plan=assemble(inputs, drafted))


def assemble(inputs: DraftInputs, drafted: dict[str, BaseModel]) -> p.Plan:
    """Build the plan from drafted sections plus the parts derived from the inputs alone."""
    steps = drafted["steps"]
    assert isinstance(steps, p.StepsSection)
    return p.Plan.model_validate(
        {
            **{name: section.model_dump() for name, section in drafted.items()},
            "references": [r.model_dump() for r in references(inputs)],
            "footer": footer(inputs, steps).model_dump(),
        }
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
