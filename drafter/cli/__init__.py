"""Command-line interface: thin adapters from arguments to the library.

Each command lives in its own module and registers itself on `app`; modules import heavy
libraries (LangChain, openai, vcrpy) inside the command body so `--help` stays fast.
"""

from drafter.cli import batch as _batch  # noqa: F401  (registers commands)
from drafter.cli import check as _check  # noqa: F401
from drafter.cli import draft as _draft  # noqa: F401
from drafter.cli import ids as _ids  # noqa: F401
from drafter.cli import init as _init  # noqa: F401
from drafter.cli import mcp as _mcp  # noqa: F401
from drafter.cli import rules as _rules  # noqa: F401
from drafter.cli.app import app, main

__all__ = ["app", "main"]
