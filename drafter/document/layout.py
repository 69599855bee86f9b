"""PLAN.md's layout: the seed's heading outline, where findings are placed, and whether an
output path can be written at all (the trailer is `trailer.py`; writing is `core.files`)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from drafter.checks.report import Finding
from drafter.core.errors import InputError
from drafter.model.sections import BY_NAME, SectionName

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

# The drafted sections in the order the template renders them (the registry lists them in
# drafting order).
FILE_ORDER: tuple[SectionName, ...] = (
    "goal",
    "architecture",
    "components",
    "database",
    "api",
    "testing",
    "steps",
    "dependencies",
    "data_flow",
    "error_handling",
    "security",
    "performance",
    "rollback",
    "verification",
    "open_issues",
)
# Where each plan section's findings are placed: the heading that opens it (the registry's).
SECTION_HEADINGS: dict[str, str] = {name: BY_NAME[name].heading for name in FILE_ORDER}

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_COMPONENT = re.compile(r"^Component \d+: ")


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


def check_writable(output: Path, spec_path: Path) -> None:
    """Refuse before any drafting work when the write would fail or hit the wrong file."""
    if output.resolve() == spec_path.resolve():
        raise InputError(f"output {output} is the spec itself; choose another -o path")
    if output.is_dir():
        raise InputError(f"output {output} is a directory; give a file path with -o")
    if output.exists() and not output.is_file():
        raise InputError(f"output {output} is not a regular file; give a file path with -o")
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"output directory {parent} is not writable")
