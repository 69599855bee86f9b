"""One error hierarchy; the CLI maps each class to an exit code and a one-line message."""

from __future__ import annotations


class DrafterError(Exception):
    """Base class for every error drafter reports to a user."""

    exit_code = 2


class InputError(DrafterError):
    """Bad input or usage: missing file, unreadable spec, bad flag value (exit 2)."""

    exit_code = 2


class OverwriteRefused(InputError):
    """The output file was edited by hand since drafter wrote it (exit 2)."""


class ProviderError(DrafterError):
    """The model provider failed after retries, refused, or answered unusably (exit 3)."""

    exit_code = 3

    def __init__(self, message: str, section: str | None = None) -> None:
        super().__init__(f"section {section}: {message}" if section else message)
        self.section = section


class Interrupted(DrafterError):
    """The user interrupted the run (Ctrl-C): nothing half-written, drafted sections kept."""

    exit_code = 130
