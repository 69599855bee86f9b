"""Parse a feature spec (spec-kit, Kiro, OpenSpec or plain markdown) into a `Spec`.

`load` reads a file (and, for an OpenSpec change, its delta specs); `parse` reads text. The
parts: `blocks` (markdown → blocks), `extract` (blocks → Spec), `text` and `words` (the
vocabulary, in the languages specs are written in), `model` (what comes out).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

from drafter.core.errors import InputError
from drafter.inputs.spec.blocks import blocks
from drafter.inputs.spec.extract import Affected, Extractor
from drafter.inputs.spec.model import (
    Clarification,
    DeltaKind,
    EarsKind,
    EdgeCase,
    Entity,
    Identifier,
    IdentifierKind,
    Requirement,
    RequirementKind,
    Scenario,
    Spec,
    SpecFormat,
    UserStory,
    identifiers,
)

__all__ = [
    "MAX_SPEC_BYTES",
    "Clarification",
    "DeltaKind",
    "EarsKind",
    "EdgeCase",
    "Entity",
    "Identifier",
    "IdentifierKind",
    "Requirement",
    "RequirementKind",
    "Scenario",
    "Spec",
    "SpecFormat",
    "UserStory",
    "identifiers",
    "load",
    "parse",
]

# Far above any real spec (the corpus's largest is 30 KB) yet small enough that parsing and
# drafting stay well inside the 10 s budget; larger files are refused before they are read.
MAX_SPEC_BYTES = 2 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"


def load(path: Path) -> Spec:
    """Read and parse a spec; for an OpenSpec change, also read its delta specs.

    A file is an OpenSpec change by its place as much as by its headings: a `proposal.md`
    with `specs/*/spec.md` beside it, or any file under `openspec/changes/` (archived ones
    too), whatever language its headings are in.

    Raises:
        InputError: the file is missing, a directory, empty, binary, not UTF-8 or too large.
    """
    spec, affected = _parse(_read(path, "spec"), path, None, openspec_layout=_is_change(path))
    if spec.format != "openspec" or not affected.is_change:
        return spec
    deltas = [(p, p.parent.name) for p in sorted(path.parent.glob("specs/**/spec.md"))]
    sibling = path.parent / "delta-spec.md"
    if sibling.is_file() and sibling != path:
        deltas.append((sibling, affected.capability or path.parent.name))
    parts = [spec]
    for delta_path, capability in deltas:
        delta, _ = _parse(_read(delta_path, "delta spec"), delta_path, capability)
        parts.append(_with_source(delta, delta_path))
    return spec.model_copy(
        update={
            "requirements": _unique(r for p in parts for r in p.requirements),
            "scenarios": tuple(s for p in parts for s in p.scenarios),
            "clarifications": tuple(c for p in parts for c in p.clarifications),
            "named_paths": tuple(dict.fromkeys(n for p in parts for n in p.named_paths)),
            "extra_sources": tuple(p for p, _ in deltas),
            "warnings": tuple(w for p in parts for w in p.warnings),
        }
    )


def parse(text: str, path: Path) -> Spec:
    """Parse spec text; `path` names the file (for the title fallback and OpenSpec capability)."""
    return _parse(text, path, None)[0]


def _parse(
    text: str, path: Path, capability: str | None, *, openspec_layout: bool = False
) -> tuple[Spec, Affected]:
    found, notes = blocks(text.removeprefix("\ufeff"))
    extractor = Extractor(found, path, capability, openspec_layout=openspec_layout)
    extractor.run()
    spec = extractor.build()
    warnings = tuple(f"{path}: {w}" for w in (*notes, *spec.warnings))
    return spec.model_copy(update={"warnings": warnings}), extractor.affected


def _is_change(path: Path) -> bool:
    if path.name.lower() == "proposal.md" and any(path.parent.glob("specs/**/spec.md")):
        return True
    parts = [p.lower() for p in path.absolute().parts]
    return any(pair == ("openspec", "changes") for pair in pairwise(parts))


def _read(path: Path, what: str) -> str:
    if not path.exists():
        raise InputError(f"{what} {path} not found")
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory, not a file")
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise InputError(
                f"{what} {path} is {size / 2**20:.1f} MB; "
                f"drafter reads specs up to {MAX_SPEC_BYTES // 2**20} MB"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(f"{what} {path} is binary, not text (NUL byte at offset {nul})")
    skip = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        raise InputError(
            f"{what} {path} is not UTF-8 text (byte 0x{data[offset]:02x} at offset {offset})"
        ) from None
    if not text.strip():
        raise InputError(f"{what} {path} is empty")
    return text


def _with_source(spec: Spec, source: Path) -> Spec:
    return spec.model_copy(
        update={
            "requirements": tuple(
                r.model_copy(update={"source": source}) for r in spec.requirements
            ),
            "scenarios": tuple(s.model_copy(update={"source": source}) for s in spec.scenarios),
        }
    )


def _unique(requirements: Iterable[Requirement]) -> tuple[Requirement, ...]:
    """First occurrence of each ID wins, so a repeated ID never shadows the original."""
    seen: dict[str, Requirement] = {}
    for requirement in requirements:
        seen.setdefault(requirement.id, requirement)
    return tuple(seen.values())
