"""The plan from drafted sections, plus the parts derived from the inputs alone."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from drafter.drafting import DraftInputs
from drafter.drafting.notices import input_reviews
from drafter.model import plan as p


def assemble(
    inputs: DraftInputs, drafted: Mapping[str, BaseModel], plan_dir: Path | None = None
) -> p.Plan:
    """Build the plan from drafted sections plus the parts derived from the inputs alone.

    `plan_dir` is where the plan will live (default: beside the spec): links are relative to it.
    """
    steps = drafted["steps"]
    assert isinstance(steps, p.StepsSection)
    base = plan_dir if plan_dir is not None else inputs.spec.path.parent
    # The sections are validated instances already: pydantic takes them as they are.
    return p.Plan.model_validate(
        {
            **drafted,
            "open_issues": open_issues(inputs, drafted["open_issues"]),
            "references": references(inputs, base),
            "footer": footer(inputs, steps),
        }
    )


def open_issues(inputs: DraftInputs, drafted: BaseModel) -> p.OpenIssuesSection:
    """The drafted Open Issues plus the review items the inputs call for, whatever drafted
    the section (a model cannot be relied on to say the constitution was missing). A section
    reused from the plan on disk holds them already: each is added once."""
    assert isinstance(drafted, p.OpenIssuesSection)
    missing = [r for r in input_reviews(inputs) if r not in drafted.reviews]
    if not missing:
        return drafted
    return drafted.model_copy(update={"reviews": [*drafted.reviews, *missing]})


def references(inputs: DraftInputs, plan_dir: Path) -> list[p.Reference]:
    spec_path = inputs.spec.path
    refs = [p.Reference(label=f"Feature spec: {spec_path.name}", target=link(spec_path, plan_dir))]
    refs += [
        p.Reference(label=f"Delta spec: {extra.name}", target=link(extra, plan_dir))
        for extra in inputs.spec.extra_sources
    ]
    if inputs.constitution is not None:
        target = link(inputs.constitution.path, plan_dir)
        refs.append(p.Reference(label="Project constitution", target=target))
    else:
        refs.append(p.Reference(label="Project constitution: none found", target=None))
    return refs


def link(path: Path, plan_dir: Path) -> str:
    """`path` relative to the plan's directory, with / separators ("./x" beside it)."""
    relative = os.path.relpath(path.absolute(), plan_dir.absolute()).replace(os.sep, "/")
    return relative if relative.startswith("../") else f"./{relative}"


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
