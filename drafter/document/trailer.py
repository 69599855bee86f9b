"""The comment at the end of PLAN.md by which drafter recognises its own output.

One pydantic model, written and read only here. It records where the plan's inputs are
(relative to the plan, so `update` and `check` find them from anywhere), a hash of each input
set, and per section the hash of the text drafter wrote, the hash of the inputs it was drafted
from and the drafter that wrote it. A plan whose body no longer matches `sha256` was edited.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

VERSION = 3
_PATTERN = re.compile(r"\n<!-- drafter: (\{.*\}) -->\n\Z")


class SectionStamp(BaseModel):
    """What drafter wrote for one section."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    out: str  # hash of the section's text as drafter wrote it
    inputs: str | None = Field(None, alias="in")  # hash of what it was drafted from
    drafter: str = ""  # "offline" or "provider:model"; "" in trailers before version 3


class Trailer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int
    sha256: str = ""  # of the body drafter wrote
    inputs: str = ""  # of the spec, its delta files and the constitution, as drafted
    spec: str | None = None  # relative to the plan's directory, / separators
    constitution: str | None = None  # likewise; None: drafted without one
    sections: dict[str, SectionStamp] = {}
    requirements: dict[str, str] = {}  # requirement ID → hash of its text

    def spec_path(self, plan: Path) -> Path | None:
        return None if self.spec is None else _resolve(plan, self.spec)

    def constitution_path(self, plan: Path) -> Path | None:
        return None if self.constitution is None else _resolve(plan, self.constitution)


def relative(path: Path, plan: Path) -> str:
    """`path` as the trailer records it: relative to the plan's directory."""
    return os.path.relpath(path.absolute(), plan.absolute().parent).replace(os.sep, "/")


def _resolve(plan: Path, recorded: str) -> Path:
    return Path(os.path.normpath(plan.parent / recorded))


def digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(body: str, trailer: Trailer) -> str:
    """The plan text: `body`, then the trailer with the body's hash."""
    stamped = trailer.model_copy(update={"version": VERSION, "sha256": digest(body)})
    data = stamped.model_dump(mode="json", by_alias=True, exclude_none=True)
    return f"{body}\n<!-- drafter: {json.dumps(data, sort_keys=True, ensure_ascii=False)} -->\n"


def split(text: str) -> tuple[str, Trailer | None]:
    """(body, trailer), or (text, None) when the trailer is absent or damaged."""
    match = _PATTERN.search(text)
    if match is None:
        return text, None
    try:
        trailer = Trailer.model_validate_json(match.group(1))
    except ValidationError:
        return text, None
    return text[: match.start()], trailer


def edited_by_hand(text: str) -> bool:
    """True when `text` is not exactly what drafter last wrote."""
    body, trailer = split(text)
    return trailer is None or trailer.sha256 != digest(body)
