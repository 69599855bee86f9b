"""The typer application object every command module registers on, and the error boundary."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from drafter import __version__
from drafter.core.errors import DrafterError, InputError, Interrupted

app = typer.Typer(
    name="drafter",
    help="Turn a feature spec (SPEC.md) and a project constitution into an implementation "
    "plan (PLAN.md). Exit codes: 0 ok; 1 a MUST rule fails (or drift found); 2 bad input or "
    "usage; 3 provider failure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_DEBUG_ENV = "DRAFTER_DEBUG"

# Options spec-to-plan and batch share, word for word.
NoCache = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Ask the provider even when an identical request was answered before "
        "(answers are cached under <cache_dir>/cache, default .drafter/cache).",
    ),
]
NoResume = Annotated[
    bool,
    typer.Option(
        "--no-resume",
        help="Draft every section again after a failed run, instead of keeping the sections "
        "it drafted (kept under <cache_dir>/partial until the plan is written).",
    ),
]


def _version(value: bool) -> None:
    if value:
        print(f"drafter {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    if debug:
        os.environ[_DEBUG_ENV] = "1"


def fail(message: str, exit_code: int) -> typer.Exit:
    """Print `drafter: error: message` on stderr and return the Exit to raise."""
    print(f"drafter: error: {message}", file=sys.stderr)
    return typer.Exit(exit_code)


def write_report(path: Path, text: str) -> None:
    """Write a report file (JSON, JUnit) whole, or say in one line why it cannot be."""
    from drafter.core.files import write_atomic

    try:
        write_atomic(path, text)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from error


def main() -> None:
    """Console-script entry point: drafter errors become one line on stderr and an exit code."""
    try:
        app()
    except Interrupted as interrupted:
        print(f"drafter: {interrupted}", file=sys.stderr)
        sys.exit(interrupted.exit_code)
    except DrafterError as error:
        if os.environ.get(_DEBUG_ENV):
            raise
        print(f"drafter: error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print("drafter: interrupted", file=sys.stderr)
        sys.exit(130)
