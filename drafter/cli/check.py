"""`drafter check PLAN.md`: findings for editors (text), programs (json) and dashboards (sarif)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from drafter.cli.app import app

if TYPE_CHECKING:
    from drafter.app.checking import CheckResult


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


@app.command("check")
def check(
    plan: Annotated[
        Path, typer.Argument(help="The plan to check (a PLAN.md).", show_default=False)
    ],
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            help="The spec the plan implements (default: SPEC.md, spec.md, requirements.md "
            "or proposal.md beside the plan).",
        ),
    ] = None,
    constitution: Annotated[
        Path | None,
        typer.Option(
            "-c",
            "--constitution",
            help="Constitution file (default: discovered as spec-to-plan does).",
        ),
    ] = None,
    output_format: Annotated[
        Format,
        typer.Option(
            "--format",
            help="text: FILE:LINE:COL: severity: RULE-ID message; json: findings, verdicts, "
            "traceability; sarif: SARIF 2.1.0.",
        ),
    ] = Format.text,
) -> None:
    """Read a PLAN.md back and check it against the spec and the constitution.

    Exit codes: 0 no MUST rule fails; 1 a MUST rule (or a structural rule) fails;
    2 bad input (missing or unreadable plan, spec or constitution).
    """
    from drafter.app.checking import as_json, check_plan

    result = check_plan(plan, spec, constitution)
    for warning in result.warnings:
        print(f"drafter: warning: {warning}", file=sys.stderr)
    if output_format is Format.json:
        print(json.dumps(as_json(result), indent=2, ensure_ascii=False))
    elif output_format is Format.sarif:
        from drafter.app.sarif import to_sarif

        print(json.dumps(to_sarif(result, Path.cwd()), indent=2, ensure_ascii=False))
    else:
        for diagnostic in result.diagnostics:
            print(diagnostic.finding.format())
            if diagnostic.finding.severity == "note":
                continue  # a note's rule line would only double the list
            for related in diagnostic.related:
                print(
                    f"{related.file}:{related.line}:{related.col}: note: "
                    f"{diagnostic.finding.rule_id} {related.message}"
                )
    print(_summary(result), file=sys.stderr)
    if result.failed:
        raise typer.Exit(1)


def _summary(result: CheckResult) -> str:
    counts = {
        severity: sum(1 for d in result.diagnostics if d.finding.severity == severity)
        for severity in ("error", "warning", "note")
    }
    tally = ", ".join(f"{n} {severity}(s)" for severity, n in counts.items())
    verdict = "fails (a MUST or structural rule is broken)" if result.failed else "passes"
    read = "" if result.plan is not None else "; not in drafter's layout, so not checked"
    return f"{result.plan_path}: {tally}; {verdict}{read}"
