"""`drafter ids`: the IDs drafter understood in a spec, with their kind and source line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from drafter.cli.app import app


@app.command("ids")
def ids(
    spec: Annotated[
        Path,
        typer.Argument(
            help="The feature spec (SPEC.md, Kiro requirements.md, OpenSpec proposal.md).",
            show_default=False,
        ),
    ],
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print a JSON list of {id, kind, line, source, text}."),
    ] = False,
) -> None:
    """List every ID a plan may cite: requirements (FR-001, Kiro R1.3, OpenSpec
    capability:requirement), user stories, scenarios and edge cases, each with its kind and
    FILE:LINE. Warnings about odd specs go to stderr. Exit codes: 0 ok; 2 bad input.
    """
    # Imported here so `drafter --help` does not pay for pydantic models and the parser.
    from drafter.inputs.spec import identifiers, load

    parsed = load(spec)
    for warning in parsed.warnings:
        print(f"drafter: warning: {warning}", file=sys.stderr)
    found = identifiers(parsed)
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in found], indent=2, ensure_ascii=False))
        return
    if not found:
        print(f"{spec}: no IDs found ({parsed.format} spec)", file=sys.stderr)
        return
    id_width = max(len(i.id) for i in found)
    kind_width = max(len(i.kind) for i in found)
    for i in found:
        text = " ".join(i.text.split())
        text = text if len(text) <= 80 else text[:79] + "…"
        print(f"{i.id:<{id_width}}  {i.kind:<{kind_width}}  {_shown(i.source)}:{i.line}  {text}")
    counts = ", ".join(
        f"{sum(1 for i in found if i.kind == kind)} {kind}"
        for kind in dict.fromkeys(i.kind for i in found)
    )
    print(f"{parsed.format} spec, {len(found)} IDs: {counts}", file=sys.stderr)


def _shown(path: Path) -> Path:
    """`path` relative to the working directory when it lies under it, as editors list it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path
