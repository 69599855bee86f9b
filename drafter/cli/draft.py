"""`drafter spec-to-plan` and `drafter schema`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from drafter.cli.app import NoCache, NoResume, app, fail, write_report
from drafter.core.errors import InputError


@app.command("spec-to-plan")
def spec_to_plan(
    spec: Annotated[
        Path,
        typer.Argument(
            help="The feature spec (SPEC.md, Kiro requirements.md, OpenSpec proposal.md).",
            show_default=False,
        ),
    ],
    constitution: Annotated[
        Path | None,
        typer.Option(
            "-c",
            "--constitution",
            help="Constitution file (default: discovered beside the spec, in .specify/memory/ "
            "or memory/ up to the repo root, or openspec/project.md or .kiro/steering/*.md).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Where to write (default: PLAN.md beside the spec)."),
    ] = None,
    stdout: Annotated[
        bool, typer.Option("--stdout", help="Print the plan; write no file.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a machine-readable summary on stdout (with the plan's text under "
            '"text" when --stdout is given too).',
        ),
    ] = False,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", help="Also write the JSON summary to this file."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite a PLAN.md that was edited by hand.")
    ] = False,
    template: Annotated[
        Path | None,
        typer.Option("--template", help="Render with your own Jinja2 template (sandboxed)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="provider:name, e.g. openai:gpt-4o-mini "
            "(default: offline drafting, no model). Env: DRAFTER_MODEL.",
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="OpenAI-compatible endpoint (vLLM, "
            "llama.cpp, LM Studio, Ollama /v1). Env: DRAFTER_BASE_URL.",
        ),
    ] = None,
    max_concurrency: Annotated[
        int | None,
        typer.Option("--max-concurrency", min=1, help="Sections drafted at once (default 8)."),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record",
            help="Record the provider traffic into this "
            "cassette (YAML; keys and auth headers are never written).",
        ),
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(
            "--replay",
            help="Answer from this cassette instead of the provider: no network, no key.",
        ),
    ] = None,
    section: Annotated[
        list[str] | None,
        typer.Option(
            "--section",
            help="Redraft this section even if its "
            "inputs are unchanged or it was edited (repeatable).",
        ),
    ] = None,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial",
            help="Write the plan even when some sections "
            "could not be drafted; they become review items.",
        ),
    ] = False,
    temperature: Annotated[
        float | None, typer.Option("--temperature", help="Sampling temperature for the model.")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="Output token limit per call.")
    ] = None,
    no_cache: NoCache = False,
    no_resume: NoResume = False,
    repair_attempts: Annotated[
        int | None,
        typer.Option(
            "--repair-attempts",
            min=0,
            help="Re-asks per section when its output fails validation (default 2).",
        ),
    ] = None,
    repo: Annotated[
        Path | None,
        typer.Option(
            "--repo",
            help="Ground the plan in this repository: its files, manifests, test layout and "
            "commands (default: the git repository holding the spec).",
        ),
    ] = None,
    no_repo: Annotated[
        bool,
        typer.Option("--no-repo", help="Read no repository: file paths in the plan are proposals."),
    ] = False,
) -> None:
    """Draft PLAN.md from a spec and the project constitution.

    Exit codes: 0 ok; 1 the plan violates a MUST rule (findings are printed);
    2 bad input or usage; 3 provider failure.
    """
    from drafter.app.workflow import DraftRequest
    from drafter.app.workflow import spec_to_plan as run

    if stdout and output is not None:
        raise InputError("give either -o/--output or --stdout, not both")
    if repo is not None and no_repo:
        raise InputError("give either --repo or --no-repo, not both")
    result = run(
        DraftRequest(
            spec_path=spec,
            constitution_path=constitution,
            output=output,
            to_stdout=stdout,
            force=force,
            template=template,
            record=record,
            replay=replay,
            allow_partial=allow_partial,
            sections=_section_names(section),
            settings_flags={
                "model": model,
                "base_url": base_url,
                "max_concurrency": max_concurrency,
                "repair_attempts": repair_attempts,
                "temperature": temperature,
                "max_tokens": max_tokens,
                "cache": False if no_cache else None,
                "resume": False if no_resume else None,
                "repo": repo,
                "no_repo": True if no_repo else None,
            },
        )
    )
    _report(result, as_json=as_json, to_stdout=stdout, report_file=report_file)


def _report(
    result: Any, *, as_json: bool, to_stdout: bool, report_file: Path | None = None
) -> None:
    """Warnings, findings and what was written on stderr; exit 1 on a MUST failure."""
    for warning in result.warnings:
        print(f"drafter: warning: {warning}", file=sys.stderr)
    if result.missing:
        print(f"drafter: warning: not drafted: {', '.join(result.missing)} (review items "
              "in the plan)", file=sys.stderr)  # fmt: skip
    if result.usage.total.calls:
        _print_usage(result.usage)
    if result.decisions is not None:
        _print_decisions(result.decisions)
    for finding in result.findings:
        print(finding.format(), file=sys.stderr)
    summary = json.dumps(_summary(result, to_stdout), indent=2, ensure_ascii=False) + "\n"
    if report_file is not None:
        write_report(report_file, summary)
    if as_json:
        sys.stdout.write(summary)
    elif to_stdout:
        sys.stdout.write(result.text)
    elif result.output is not None:
        counts = {
            severity: sum(1 for f in result.findings if f.severity == severity)
            for severity in ("error", "warning", "note")
        }
        tally = ", ".join(f"{n} {severity}(s)" for severity, n in counts.items())
        print(f"wrote {result.output} ({tally})", file=sys.stderr)
    if result.report.must_failed:
        raise typer.Exit(1)


def _summary(result: Any, with_text: bool) -> dict[str, Any]:
    from drafter.app.checking import traceability
    from drafter.inputs.spec import identifiers
    from drafter.model.sections import SECTIONS

    return {
        "output": str(result.output) if result.output else None,
        "drafter": result.drafter_name,
        "sections": [s.name for s in SECTIONS],
        "findings": [
            {**f.model_dump(mode="json", exclude={"anchor"}), "text": f.format()}
            for f in result.findings
        ],
        "warnings": result.warnings,
        "must_failed": result.report.must_failed,
        "verdicts": [
            {"rule": v.rule.id, "level": v.rule.level, "value": v.value, "evidence": v.evidence}
            for v in result.report.verdicts
        ],
        "ids": [i.model_dump(mode="json", exclude={"text"}) for i in identifiers(result.spec)],
        "traceability": [
            row.model_dump(mode="json") | {"traced": row.traced}
            for row in traceability(result.plan, result.spec)
        ],
        "usage": result.usage.model_dump(mode="json"),
        "missing": list(result.missing),
        "update": None
        if result.decisions is None
        else {
            "kept": result.decisions.kept,
            "redrafted": result.decisions.redrafted,
            "unchanged": result.decisions.reused,
            "stale": result.decisions.stale,
        },
        **({"text": result.text} if with_text else {}),
    }


def _section_names(names: list[str] | None) -> tuple[str, ...]:
    from drafter.model.sections import BY_NAME

    for name in names or ():
        if name not in BY_NAME:
            raise InputError(f"unknown section {name!r}; choose from {', '.join(BY_NAME)}")
    return tuple(names or ())


def _print_decisions(decisions: Any) -> None:
    """What an update did to each section, one line per kind."""
    for label, names in (
        ("kept (edited by hand)", decisions.kept),
        ("redrafted", decisions.redrafted),
        ("unchanged", decisions.reused),
    ):
        if names:
            print(f"drafter: {label}: {', '.join(names)}", file=sys.stderr)


def _print_usage(usage: Any) -> None:
    """The per-section usage table on stderr (rich is imported only for LLM runs)."""
    from rich.console import Console
    from rich.table import Table

    from drafter.providers.usage import COLUMNS

    table = Table(title=f"usage: {usage.model} — {usage.wall_s:.1f} s, DAG depth {usage.dag_depth}")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "section" else "right")
    for row in usage.table():
        table.add_row(*row)
    console = Console(stderr=True)
    if not console.is_terminal:  # CI logs: wide enough that no column is folded
        console = Console(stderr=True, width=120)
    console.print(table)


@app.command("schema")
def schema(
    section: Annotated[
        str | None, typer.Argument(help="One section (e.g. goal, steps); default: the whole plan.")
    ] = None,
) -> None:
    """Print the JSON Schema of the plan model (or of one section)."""
    from drafter.model import plan
    from drafter.model.sections import BY_NAME

    if section is None:
        sys.stdout.write(plan.schema_text())
        return
    if section not in BY_NAME:
        raise fail(f"unknown section {section!r}; choose from {', '.join(BY_NAME)}", 2)
    sys.stdout.write(plan.schema_text(BY_NAME[section].model))


@app.command("update")
def update_plan(
    plan: Annotated[Path, typer.Argument(help="A PLAN.md drafter wrote.", show_default=False)],
    section: Annotated[
        list[str] | None,
        typer.Option(
            "--section",
            help="Redraft this section too, discarding its hand edits (repeatable).",
        ),
    ] = None,
    accept: Annotated[
        list[str] | None,
        typer.Option(
            "--accept",
            help="Record this hand-edited section as current for the present spec: its "
            "DR-STALE warning stops (repeatable).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Redraft every section, discarding hand edits.")
    ] = False,
    constitution: Annotated[
        Path | None,
        typer.Option(
            "-c",
            "--constitution",
            help="Constitution file (default: the one the plan was drafted with).",
        ),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="provider:name.")] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint.")
    ] = None,
) -> None:
    """Redraft what changed in the spec since PLAN.md was drafted, keeping hand edits.

    Sections a person edited are kept byte for byte (reported stale when their inputs
    changed); sections whose inputs are unchanged and that the same drafter wrote are not
    redrafted. The spec and constitution are the ones recorded in the plan's drafter comment
    (paths relative to the plan). Exit codes as for spec-to-plan.
    """
    from drafter.app.workflow import spec_to_plan as run
    from drafter.app.workflow import update_request

    result = run(
        update_request(
            plan,
            constitution_path=constitution,
            force=force,
            sections=_section_names(section),
            accept=_section_names(accept),
            settings_flags={"model": model, "base_url": base_url},
        )
    )
    _report(result, as_json=False, to_stdout=False)
