"""spec-to-plan as a library call: read, draft, check, render, write.

The CLI maps arguments onto a `DraftRequest` and prints the `DraftResult`; batch drafting and
editor integrations call the same function. How a run drafts (its `RunMode`) is resolved once,
before drafting starts, by `resolve_run`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from drafter.checks import grounding
from drafter.checks.compliance import check
from drafter.checks.report import Finding, Report
from drafter.core import config
from drafter.core.errors import InputError, Interrupted, OverwriteRefused
from drafter.core.files import read_plan, write_atomic
from drafter.document import layout, trailer
from drafter.document.render import render
from drafter.drafting import Drafter, DraftInputs
from drafter.drafting.offline import OFFLINE_NOTICE, OfflineDrafter
from drafter.engine import update
from drafter.engine.dag import PipelineOptions
from drafter.engine.pipeline import draft_plan, partial_dir
from drafter.inputs import constitution, repository, spec
from drafter.model.plan import Plan
from drafter.model.sections import SECTIONS
from drafter.providers.cassette import Tape
from drafter.providers.limiter import CallBound
from drafter.providers.usage import Usage

# fresh: no plan to update; incremental: an existing PLAN.md is updated in place;
# recording / replaying: every section is drafted through a cassette (no cache, no reuse).
RunMode = Literal["fresh", "incremental", "recording", "replaying"]


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
    accept: tuple[str, ...] = ()  # edited sections to record as current (no DR-STALE)
    record: Path | None = None  # cassette to record the provider traffic into
    replay: Path | None = None  # cassette to answer from, with no network
    bound: CallBound | None = None  # provider calls in flight, shared with other runs
    stop: threading.Event | None = None  # set by another thread to interrupt the run
    on_section: Callable[[str], None] | None = None  # told each section's name when it is done


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
    mode: RunMode = "fresh"


@dataclass(frozen=True)
class Run:
    """How one run drafts, decided before any drafting work."""

    mode: RunMode
    settings: config.Settings
    output: Path | None  # None: print, write nothing
    previous: update.Previous | None  # the plan being updated (edits kept from it)
    inputs: DraftInputs
    warnings: list[str]

    @property
    def taped(self) -> bool:
        return self.mode in ("recording", "replaying")

    @property
    def cached(self) -> bool:
        """Answers may come from the response cache."""
        return self.settings.cache and not self.taped

    @property
    def resumes(self) -> bool:
        """Drafted sections are kept on disk until the plan is written, for a re-run."""
        return self.settings.resume and self.settings.model is not None and not self.taped


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


def resolve_run(request: DraftRequest) -> Run:
    """Settings, output and mode of a run; refuses bad combinations before any work."""
    if request.record is not None and request.replay is not None:
        raise InputError("give either --record or --replay, not both")
    flags = dict(request.settings_flags)
    if request.replay is not None and not (flags.get("model") or _env_model()):
        flags["model"] = _model_of(request.replay)
    settings = config.load(request.spec_path.parent, flags)
    if (request.record or request.replay) and settings.model is None:
        raise InputError("--record needs a model (--model provider:name): offline drafting "
                         "makes no provider calls")  # fmt: skip
    inputs, warnings = load_inputs(request.spec_path, request.constitution_path, settings)
    output = None if request.to_stdout else (request.output or request.spec_path.parent / "PLAN.md")
    previous = None
    if output is not None:  # before drafting: an LLM run must not be wasted on a refused write
        layout.check_writable(output, request.spec_path)
        if not request.force:
            previous = _previous_plan(output, request)
    mode: RunMode = (
        "recording"
        if request.record is not None
        else "replaying"
        if request.replay is not None
        else "incremental"
        if previous is not None
        else "fresh"
    )
    return Run(mode, settings, output, previous, inputs, warnings)


def _env_model() -> str | None:
    return config.load_env().get("model")


def _model_of(cassette: Path) -> str:
    from drafter.providers.cassette import recorded_model

    model = recorded_model(cassette)
    if model is None:
        raise InputError(
            f"--replay {cassette}: give --model (the cassette names no model it was recorded with)"
        )
    return model


@contextmanager
def _tape(request: DraftRequest, run: Run) -> Iterator[Tape | None]:
    """The cassette a recording or replaying run sends through; vcrpy is imported only then."""
    if not run.taped:
        yield None
        return
    from drafter.providers import cassette

    path = request.record or request.replay
    assert path is not None
    rerecord = _rerecord_command(path, request.spec_path, run.settings)
    opened = cassette.recording if run.mode == "recording" else cassette.replaying
    with opened(path, rerecord) as tape:
        yield tape


def _rerecord_command(path: Path, spec_path: Path, settings: config.Settings) -> str:
    words = ["drafter spec-to-plan", str(spec_path), "--model", settings.model or "PROVIDER:MODEL"]
    if settings.base_url:
        words += ["--base-url", settings.base_url]
    return " ".join([*words, "--record", str(path)])


def drafter_for(
    settings: config.Settings,
    inputs: DraftInputs,
    *,
    tape: Tape | None = None,
    bound: CallBound | None = None,
    cached: bool | None = None,
    resume: bool | None = None,
    allow_partial: bool = False,
    plan_dir: Path | None = None,
) -> tuple[Drafter, PipelineOptions]:
    """The drafter for `settings` and how the engine runs it: offline unless a model is
    configured; an LLM run validates and repairs, keeps drafted sections for a re-run when
    `resume`, and judges prose rules with the same provider. `cached` and `resume` default to
    the settings' `cache` and `resume`."""
    cached = settings.cache if cached is None else cached
    resume = settings.resume if resume is None else resume
    if settings.model is None:
        return OfflineDrafter(), PipelineOptions(
            repair_attempts=settings.repair_attempts,
            validate=False,
            allow_partial=allow_partial,
            plan_dir=plan_dir,
        )
    from drafter.drafting.llm import LLMDrafter
    from drafter.engine.judge import LLMJudge, RuleVerdicts
    from drafter.providers.stack import build

    schemas: list[type[BaseModel]] = [*(section.model for section in SECTIONS), RuleVerdicts]
    provider = build(settings, bound=bound, tape=tape, cached=cached, schemas=schemas)
    drafter = LLMDrafter(provider)
    keep = partial_dir(settings.cache_dir, inputs, drafter.name) if resume else None
    return drafter, PipelineOptions(
        repair_attempts=settings.repair_attempts,
        validate=True,
        partial_dir=keep,
        allow_partial=allow_partial,
        repair_rules=True,
        judge=LLMJudge(provider, inputs, settings.max_tokens),
        plan_dir=plan_dir,
    )


def spec_to_plan(request: DraftRequest) -> DraftResult:
    """Draft, check, render and write one plan (see `DraftRequest`).

    Ctrl-C (or `request.stop`) raises `Interrupted`: the plan is written whole or not at all,
    and the sections an LLM run drafted stay kept for the next run.
    """
    run: Run | None = None
    try:
        run = resolve_run(request)
        return _spec_to_plan(request, run)
    except (KeyboardInterrupt, Interrupted):
        raise Interrupted(_interrupted(request, run)) from None


def _spec_to_plan(request: DraftRequest, run: Run) -> DraftResult:
    settings, output, previous = run.settings, run.output, run.previous
    inputs, warnings = run.inputs, run.warnings
    with _tape(request, run) as tape:
        drafter, options = drafter_for(
            settings,
            inputs,
            tape=tape,
            bound=request.bound,
            cached=run.cached,
            resume=run.resumes,
            allow_partial=request.allow_partial,
            plan_dir=(output or request.spec_path).parent,
        )
        options = replace(options, stop=request.stop, on_section=request.on_section)
        if previous is not None:
            drafter = update.ReusingDrafter(
                drafter, previous, set(request.sections), draft_all=run.taped
            )
        outcome = draft_plan(inputs, drafter, options)
    if drafter.name == "offline":
        warnings.insert(0, OFFLINE_NOTICE)
    report = outcome.report  # LLM runs: checked, judged and repaired in the pipeline
    if report is None:
        report = check(outcome.plan, inputs.spec, inputs.constitution)
    body = render(
        outcome.plan, report, inputs.spec, request.template, settings.cache_dir / "jinja2"
    )
    problems = [*report.findings, *grounding.missing_paths(outcome.plan, inputs.repository)]
    decisions = drafter.decisions if isinstance(drafter, update.ReusingDrafter) else None
    if previous is not None and decisions is not None:
        kept = set(decisions.kept) - set(request.sections)
        body = update.splice(body, previous, kept)
        changed = update.changed_requirements(previous.trailer.requirements, inputs.spec)
        accepted = set(request.accept)
        decisions.stale[:] = [name for name in decisions.stale if name not in accepted]
        problems += update.stale_findings(decisions, changed)
    plan_path = output or request.spec_path.parent / "PLAN.md"
    findings = layout.place(problems, body, output or Path("<stdout>"))
    stamp = update.stamp(
        body,
        outcome.plan,
        inputs,
        plan_path,
        drafter.name,
        previous,
        decisions,
        set(request.accept),
    )
    text = trailer.append(body, stamp)
    if output is not None:
        try:
            write_atomic(output, text)
        except OSError as error:
            raise InputError(f"cannot write {output}: {error.strerror or error}") from error
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
        mode=run.mode,
    )


def _interrupted(request: DraftRequest, run: Run | None) -> str:
    """What an interrupted run says: whether drafted sections are kept, and where."""
    kept_in = None
    if run is not None and run.resumes and run.settings.model is not None:
        kept_in = partial_dir(run.settings.cache_dir, run.inputs, run.settings.model)
    kept = sorted(kept_in.glob("*.json")) if kept_in is not None and kept_in.is_dir() else []
    if not kept:
        return f"interrupted; nothing was written for {request.spec_path}"
    return (
        f"interrupted; nothing was written, and {len(kept)} drafted section(s) are kept in "
        f"{kept_in}: run the same command again to draft only the rest"
    )


def _previous_plan(output: Path, request: DraftRequest) -> update.Previous | None:
    """The existing plan to update in place; with a custom template drafter cannot read it
    back, so an edited one is refused and an unedited one replaced."""
    text = read_plan(output)
    if text is None:
        return None
    if request.template is None:
        return update.load_previous(output, text)
    if text.strip() and trailer.edited_by_hand(text):
        raise OverwriteRefused(
            f"{output} was edited since drafter wrote it; refusing to overwrite it — "
            "use --force to replace it"
        )
    return None


def update_request(plan_path: Path, **fields: Any) -> DraftRequest:
    """The request that updates `plan_path` from the inputs its trailer records."""
    text = read_plan(plan_path)
    if text is None:
        raise InputError(f"plan {plan_path} not found")
    _, recorded = trailer.split(text)
    spec_path = recorded.spec_path(plan_path) if recorded is not None else None
    if recorded is None or spec_path is None:
        raise InputError(
            f"{plan_path} has no drafter comment naming its spec; run "
            "`drafter spec-to-plan SPEC.md -o PLAN.md` instead"
        )
    if not spec_path.is_file():
        raise InputError(
            f"spec {spec_path} (recorded in {plan_path}) not found; if it moved, run "
            f"`drafter spec-to-plan NEW/SPEC.md -o {plan_path}`"
        )
    constitution_path = fields.pop("constitution_path", None) or recorded.constitution_path(
        plan_path
    )
    return DraftRequest(
        spec_path=spec_path, constitution_path=constitution_path, output=plan_path, **fields
    )
