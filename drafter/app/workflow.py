"""spec-to-plan as a library call: read, draft, check, render, write.

The CLI maps arguments onto a `DraftRequest` and prints the `DraftResult`; batch drafting and
editor integrations call the same function.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drafter.checks import grounding
from drafter.checks.compliance import check
from drafter.checks.report import Finding, Report
from drafter.core import config
from drafter.core.errors import OverwriteRefused
from drafter.core.files import write_atomic
from drafter.document import layout as document
from drafter.document.render import render
from drafter.drafting import Drafter, DraftInputs
from drafter.drafting.offline import OFFLINE_NOTICE, OfflineDrafter
from drafter.engine import update
from drafter.engine.pipeline import draft_plan, options_for
from drafter.inputs import constitution, repository, spec
from drafter.model.plan import Plan
from drafter.providers.usage import Usage


@dataclass(frozen=True)
class DraftRequest:
    spec_path: Path
    constitution_path: Path | None = None
    output: Path | None = None  # default: PLAN.md beside the spec
    to_stdout: bool = False
    force: bool = False
    template: Path | None = None
    settings_flags: dict[str, Any] = field(default_factory=dict)
    allow_partial: bool = False  # write a plan even when sections could not be drafted
    sections: tuple[str, ...] = ()  # redraft these even if unchanged or edited by hand
    record: Path | None = None  # cassette to record the provider traffic into
    replay: Path | None = None  # cassette to answer from, with no network


@dataclass(frozen=True)
class DraftResult:
    spec: spec.Spec
    output: Path | None
    text: str
    plan: Plan
    report: Report
    findings: list[Finding]
    warnings: list[str]
    drafter_name: str
    usage: Usage
    missing: tuple[str, ...]  # sections that could not be drafted (--allow-partial)
    decisions: update.Decisions | None  # what an incremental run kept, reused, redrafted


def load_inputs(
    spec_path: Path, explicit: Path | None, settings: config.Settings
) -> tuple[DraftInputs, list[str]]:
    """Parse the spec and discover + parse the constitution; returns inputs and warnings."""
    parsed = spec.load(spec_path)
    warnings: list[str] = list(parsed.warnings)
    found = constitution.discover(spec_path, explicit, settings.constitution)
    rules = constitution.load(found) if found else None
    if rules is None:
        warnings.append(
            f"no constitution found for {spec_path} (looked for {constitution.SOURCES_HINT}); "
            "the Compliance Check says so"
        )
    else:
        warnings.extend(rules.warnings)
    if not parsed.requirements:
        warnings.append(
            f"{spec_path} has no requirement IDs (FR-001, SC-001, Kiro numbered criteria…); "
            "drafted with review items instead of traceability"
        )
    found_repo = None if settings.no_repo else repository.resolve_root(spec_path, settings.repo)
    if found_repo is None and not settings.no_repo:
        warnings.append(f"no repository found for {spec_path} (not inside a git repository; "
                        "--repo DIR names one); the plan's file paths are proposals")  # fmt: skip
    context = repository.load(found_repo, settings.cache_dir) if found_repo else None
    return DraftInputs(spec=parsed, constitution=rules, repository=context), warnings


def make_drafter(settings: config.Settings) -> Drafter:
    """The offline drafter unless a model is configured."""
    if settings.model is None:
        return OfflineDrafter()
    from drafter.drafting.llm import LLMDrafter

    return LLMDrafter(settings)


def inputs_digest(inputs: DraftInputs) -> str:
    digest = hashlib.sha256(inputs.spec.path.read_bytes())
    for extra in inputs.spec.extra_sources:
        digest.update(extra.read_bytes())
    if inputs.constitution is not None:
        for source in (inputs.constitution.path, *inputs.constitution.extra_sources):
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _traffic(request: DraftRequest, settings: config.Settings) -> AbstractContextManager[object]:
    """Record or replay provider traffic when asked; vcrpy is imported only then."""
    if request.record is None and request.replay is None:
        return nullcontext()
    from drafter.providers import recording

    return recording.cassette(
        record=request.record, replay=request.replay, spec=request.spec_path, settings=settings
    )


def spec_to_plan(request: DraftRequest) -> DraftResult:
    # A cassette holds every call of its run: no cached answer or kept section may stand in.
    taped = request.record is not None or request.replay is not None
    flags = request.settings_flags | ({"cache": False} if taped else {})
    settings = config.load(request.spec_path.parent, flags)
    output = None if request.to_stdout else (request.output or request.spec_path.parent / "PLAN.md")
    inputs, warnings = load_inputs(request.spec_path, request.constitution_path, settings)
    previous = None
    if output is not None:  # before drafting: an LLM run must not be wasted on a refused write
        document.check_writable(output, request.spec_path)
        if output.exists() and not request.force:
            previous = _previous_plan(output, request)
    with _traffic(request, settings):
        drafter: Drafter = make_drafter(settings)  # inside: a replayed run needs no key
        if previous is not None:
            drafter = update.ReusingDrafter(
                drafter,
                previous.sections,
                {name: entry.get("in", "") for name, entry in previous.recorded.items()},
                previous.edited,
                set(request.sections),
            )
        outcome = draft_plan(
            inputs,
            drafter,
            options_for(settings, inputs, drafter, allow_partial=request.allow_partial),
        )
    if drafter.name == "offline":
        warnings.insert(0, OFFLINE_NOTICE)
    report = outcome.report  # LLM runs: checked, judged and repaired in the pipeline
    if report is None:
        report = check(outcome.plan, inputs.spec, inputs.constitution)
    body = render(outcome.plan, report, inputs.spec, request.template)
    kept: set[str] = set()
    problems = [*report.findings, *grounding.missing_paths(outcome.plan, inputs.repository)]
    decisions = drafter.decisions if isinstance(drafter, update.ReusingDrafter) else None
    if previous is not None and decisions is not None:
        kept = previous.edited - set(request.sections)
        body = update.splice(body, previous, kept)
        changed = update.changed_requirements(previous.requirements, inputs.spec)
        problems += update.stale_findings(decisions, changed)
    findings = document.place(problems, body, output or Path("<stdout>"))
    meta = update.trailer_meta(body, outcome.plan, inputs, previous, kept)
    text = document.with_trailer(body, inputs_digest(inputs), meta)
    if output is not None:
        write_atomic(output, text)
    return DraftResult(
        spec=inputs.spec,
        output=output,
        text=text,
        plan=outcome.plan,
        report=report,
        findings=findings,
        warnings=warnings,
        drafter_name=drafter.name,
        usage=outcome.usage,
        missing=outcome.missing,
        decisions=decisions,
    )


def _previous_plan(output: Path, request: DraftRequest) -> update.Previous | None:
    """The existing plan to update in place; with a custom template drafter cannot read it
    back, so an edited one is refused and an unedited one replaced."""
    if request.template is None:
        return update.load_previous(output)
    if document.edited_by_hand(output.read_text("utf-8", errors="replace")):
        raise OverwriteRefused(
            f"{output} was edited since drafter wrote it; refusing to overwrite it — "
            "use --force to replace it"
        )
    return None
