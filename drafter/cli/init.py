"""`drafter init`: write the files that make drafter a command in the user's editors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from drafter.app import editors
from drafter.app.editors import Editor
from drafter.cli.app import app, fail


@app.command()
def init(
    editor: Annotated[
        list[Editor] | None,
        typer.Option(
            "--editor",
            "-e",
            help="Editor to set up (repeatable). Default: those whose directory is present "
            "(.vscode, .nvim or .nvim.lua, .claude, .cursor, .github).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace drafter's files even where they were edited.")
    ] = False,
    directory: Annotated[Path, typer.Option("--dir", help="The project directory.")] = Path("."),
) -> None:
    """Add drafter tasks/commands to VS Code, Neovim, Claude Code, Cursor and Copilot.

    Claude Code, Cursor and VS Code also get drafter's MCP server (`drafter mcp`) in
    .mcp.json, .cursor/mcp.json and .vscode/mcp.json; .drafter/ is added to .gitignore.
    Idempotent: files equal to what drafter writes are left alone, edited ones are kept
    (use --force), and tasks.json, the MCP configs, pyproject.toml, .nvim.lua and .gitignore
    are merged into, not replaced. See docs/editors.md.
    """
    if not directory.is_dir():
        raise fail(f"--dir {directory}: no such directory", 2)
    chosen = editor or editors.detect(directory)
    if not chosen:
        looked = ", ".join(name for names in editors.DETECT.values() for name in names)
        choices = "|".join(e.value for e in Editor)
        raise fail(
            f"no editor found in {directory} (looked for {looked}); "
            f"name one or more with --editor {choices}",
            2,
        )
    changes = editors.changes_for(directory, chosen, force)
    editors.apply(directory, changes)
    refused = [change for change in changes if change.action == "refused"]
    for change in changes:
        if change.action != "refused":
            print(change.format())
    for change in refused:
        print(f"drafter: error: {change.path}: {change.detail}", file=sys.stderr)
    if refused:
        raise typer.Exit(2)
