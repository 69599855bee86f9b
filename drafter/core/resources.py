"""Locate the files that ship with drafter (prompts/, templates/), installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # drafter/


def data_dir(name: str) -> Path:
    """Return the directory `name` ("prompts" or "templates"), wherever drafter runs from."""
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name
