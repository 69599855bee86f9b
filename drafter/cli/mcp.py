"""`drafter mcp`: serve drafter's tools to coding agents over the Model Context Protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from drafter.cli.app import app, fail


@app.command("mcp")
def mcp(
    root: Annotated[
        Path,
        typer.Option(
            "--root",
            help="The repository the tools work in: paths are relative to it and paths "
            "outside it are refused (default: the working directory).",
        ),
    ] = Path("."),
) -> None:
    """Run drafter as an MCP server on stdin/stdout, for Claude Code, Cursor, VS Code and
    any other MCP client (`drafter init --editor ...` registers it).

    Tools: spec_to_plan, update_plan, check_plan, list_rules. Resources: the plan JSON
    Schema (drafter://schema/plan) and each PLAN.md in the repository
    (drafter://plan/PATH). Errors are tool errors carrying drafter's message and exit code;
    the server keeps running. See docs/editors.md.
    """
    if not root.is_dir():
        raise fail(f"--root {root}: no such directory", 2)
    # Imported here: the MCP SDK (and the use cases) load only when the server starts.
    from drafter.app.mcp_server import serve

    serve(root)
