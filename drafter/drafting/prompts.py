"""Prompt files (prompts/*.md.j2): loading with strict variables, and a digest of them all.

Prompts are Jinja2 files so they can be read and reviewed as text. Variables are strict: a
missing one is an error, never an empty string. User data (spec, constitution) is passed in
as variables, so nothing in it is ever interpreted as template syntax.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import TYPE_CHECKING, Any

from drafter.core.resources import data_dir

if TYPE_CHECKING:
    import jinja2


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("prompts")),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # markdown for a model, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **variables: Any) -> str:
    """Render the prompt file `name` (e.g. "system.md.j2") with `variables`."""
    return _environment().get_template(name).render(**variables)


@cache
def digest() -> str:
    """SHA-256 over every prompt file's name and bytes: changes when any prompt changes."""
    sha = hashlib.sha256()
    for path in sorted(data_dir("prompts").glob("*.j2")):
        sha.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()
