"""`drafter rules`: list a constitution's rules with their IDs, levels and categories."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from drafter.cli.app import app
from drafter.core.errors import InputError

if TYPE_CHECKING:
    from drafter.inputs.constitution import Constitution


@app.command("rules")
def rules(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Constitution file (default: discovered from the current directory as for "
            "a spec there: [tool.drafter] constitution, constitution.md, "
            ".specify/memory/constitution.md, memory/constitution.md, openspec/project.md, "
            ".kiro/steering/*.md).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print a JSON list of {id, level, category, principle, line, text}."
        ),
    ] = False,
) -> None:
    """List the constitution's rules: stable ID, level, category, source line and text."""
    # Imported here so `drafter --help` does not pay for pydantic models and regexes.
    from drafter.inputs.constitution import load

    parsed = load(locate(path, Path.cwd()))
    for warning in parsed.warnings:
        print(f"drafter: warning: {warning}", file=sys.stderr)
    if as_json:
        fields = ("id", "level", "category", "principle", "line", "text")
        rows = [{name: getattr(rule, name) for name in fields} for rule in parsed.rules]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(table(parsed), end="")


def locate(path: Path | None, cwd: Path) -> Path:
    """The constitution to list: the argument, or the one a spec in `cwd` would use."""
    from drafter.core import config
    from drafter.inputs.constitution import SOURCES_HINT, discover

    if path is not None:
        if not path.exists():
            raise InputError(f"constitution not found: {path}")
        return path
    settings = config.load(cwd)
    found = discover(cwd, None, settings.constitution)
    if found is None:
        raise InputError(
            f"no constitution found from {cwd} (looked for {SOURCES_HINT.removeprefix('-c, ')}); "
            "pass a path: drafter rules FILE"
        )
    return found


def table(parsed: Constitution) -> str:
    """Rules grouped under their principle or section, one aligned row each."""
    levels = Counter(rule.level for rule in parsed.rules)
    summary = ", ".join(f"{count} {level}" for level, count in sorted(levels.items()))
    version = f" {parsed.version}" if parsed.version else ""
    lines = [
        f"{parsed.title}{version} ({parsed.path}): {len(parsed.rules)} rules"
        + (f" ({summary})" if summary else "")
    ]
    numbers = {p.title: p.number for p in parsed.principles}
    checked = {check.rule_id for check in parsed.checks}
    id_width = max((len(rule.id) for rule in parsed.rules), default=0)
    heading = None
    for rule in parsed.rules:
        if rule.principle != heading:
            heading = rule.principle
            number = numbers.get(heading)
            lines += ["", f"{number}. {heading}" if number else heading]
        mark = " [drafter-rules]" if rule.id in checked else ""
        lines.append(
            f"  {rule.id:<{id_width}}  {rule.level:<10}  {rule.category:<12}  "
            f"line {rule.line:<4}  {rule.text}{mark}"
        )
    return "\n".join(lines) + "\n"
