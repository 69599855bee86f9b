"""PLAN.md as a file: the seed's heading outline, the drafter trailer, finding placement,
and atomic writes that refuse to clobber hand edits."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

from drafter.checks.report import Finding
from drafter.core.errors import InputError

# The seed template's section headings (H2, and the fixed H3s), in order. "Component N: X"
# headings carry a number that depends on how many code components the plan has.
OUTLINE: tuple[tuple[int, str], ...] = (
    (2, "Goal"),
    (2, "Compliance Check"),
    (2, "Architecture Overview"),
    (3, "High-Level Design"),
    (3, "Technology Stack"),
    (3, "Design Patterns"),
    (2, "Proposed Changes"),
    (3, "Component N: Database Schema"),
    (3, "Component N: API Layer"),
    (3, "Component N: Testing"),
    (2, "Implementation Steps"),
    (2, "Dependencies"),
    (3, "External Dependencies"),
    (3, "Internal Dependencies"),
    (3, "Prerequisite Features"),
    (2, "Data Flow"),
    (2, "Error Handling"),
    (3, "Error Types"),
    (3, "Logging Strategy"),
    (2, "Security Measures"),
    (2, "Performance Optimization"),
    (3, "Expected Performance"),
    (3, "Optimization Techniques"),
    (2, "Rollback Plan"),
    (3, "If Issues Are Found"),
    (2, "Verification Plan"),
    (3, "Automated Tests"),
    (3, "Manual Verification"),
    (3, "Deployment Verification"),
    (2, "Open Issues"),
    (2, "References"),
)

# Where each plan section's findings are placed: the heading that opens it.
SECTION_HEADINGS: dict[str, str] = {
    "goal": "Goal",
    "architecture": "Architecture Overview",
    "components": "Proposed Changes",
    "database": "Component N: Database Schema",
    "api": "Component N: API Layer",
    "testing": "Component N: Testing",
    "steps": "Implementation Steps",
    "dependencies": "Dependencies",
    "data_flow": "Data Flow",
    "error_handling": "Error Handling",
    "security": "Security Measures",
    "performance": "Performance Optimization",
    "rollback": "Rollback Plan",
    "verification": "Verification Plan",
    "open_issues": "Open Issues",
}

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_COMPONENT = re.compile(r"^Component \d+: ")
TRAILER = re.compile(r"\n<!-- drafter: (\{.*\}) -->\n\Z")


def headings(text: str) -> list[tuple[int, str, int]]:
    """(level, normalised title, 1-based line) of every heading outside code fences."""
    found = []
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING.match(line)
        if match:
            title = match.group(2)
            if len(match.group(1)) == 3 and _COMPONENT.match(title):
                suffix = _COMPONENT.sub("", title)
                if suffix in ("Database Schema", "API Layer", "Testing"):
                    title = f"Component N: {suffix}"
            found.append((len(match.group(1)), title, number))
    return found


def outline_problems(text: str) -> list[tuple[str, int]]:
    """Seed headings missing or out of order, as (message, line)."""
    present = [
        (level, title, line) for level, title, line in headings(text) if (level, title) in OUTLINE
    ]
    problems = []
    position = 0
    for expected in OUTLINE:
        index = next((i for i in range(position, len(present)) if present[i][:2] == expected), None)
        if index is None:
            line = present[position][2] if position < len(present) else 1
            name = expected[1].replace("Component N: ", "Component: ")
            problems.append((f"section '{name}' is missing or out of order", line))
        else:
            position = index + 1
    return problems


def place(findings: Iterable[Finding], text: str, file: Path | None) -> list[Finding]:
    """Give each finding the line of the rendered plan it is about."""
    lines = text.splitlines()
    heading_lines = {title: line for level, title, line in headings(text) if level in (2, 3)}
    placed = []
    for finding in findings:
        start = heading_lines.get(SECTION_HEADINGS.get(finding.section or "", ""), 1)
        line, col = start, 1
        if finding.anchor:
            for number in [*range(start, len(lines) + 1), *range(1, start)]:
                col_index = lines[number - 1].find(finding.anchor)
                if col_index >= 0:
                    line, col = number, col_index + 1
                    break
        placed.append(finding.model_copy(update={"file": file, "line": line, "col": col}))
    return placed


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def with_trailer(body: str, inputs_digest: str, sections: dict[str, object]) -> str:
    """The plan text followed by the comment drafter uses to recognise its own output:
    `sections` (update.trailer_meta) plus the hash of the whole body and of the inputs."""
    meta = {**sections, "sha256": _digest(body), "inputs": inputs_digest}
    return f"{body}\n<!-- drafter: {json.dumps(meta, sort_keys=True)} -->\n"


def split_trailer(text: str) -> tuple[str, dict[str, object] | None]:
    """(body, trailer metadata), or (text, None) when the trailer is absent or damaged."""
    match = TRAILER.search(text)
    if match is None:
        return text, None
    try:
        meta = json.loads(match.group(1))
    except json.JSONDecodeError:
        return text, None
    return (text[: match.start()], meta) if isinstance(meta, dict) else (text, None)


def edited_by_hand(existing: str) -> bool:
    """True when `existing` is not exactly what drafter last wrote."""
    body, meta = split_trailer(existing)
    return meta is None or meta.get("sha256") != _digest(body)


def check_writable(output: Path, spec_path: Path) -> None:
    """Refuse before any drafting work when the write would fail or hit the wrong file."""
    if output.resolve() == spec_path.resolve():
        raise InputError(f"output {output} is the spec itself; choose another -o path")
    if output.is_dir():
        raise InputError(f"output {output} is a directory; give a file path with -o")
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"output directory {parent} is not writable")
