"""A compact map of the repository for the LLM drafter's shared prompt prefix.

In the spirit of aider's repo map, cut to a budget: the stack and commands the manifests
declare, where tests live, the files ranked for each requirement with their evidence, the
symbols of the best-ranked files, and the busiest folders. It sits in the context message,
which is byte-identical for every section of a run, so providers cache it once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path, PurePosixPath

from drafter.drafting.placement import Grounding
from drafter.inputs.repository import SOURCE_EXTENSIONS

TOKENS = 3000  # default budget; about four characters a token
_CHARS_PER_TOKEN = 4
STEERING_LINES = 12  # lines of each steering file (AGENTS.md, CLAUDE.md…), paths of earlier specs


def render(grounding: Grounding, budget_tokens: int = TOKENS) -> str:
    """The map as markdown lines, most useful first, stopping at the budget."""
    repository = grounding.repository
    budget = budget_tokens * _CHARS_PER_TOKEN
    lines: list[str] = []

    def add(line: str) -> bool:
        if sum(len(x) + 1 for x in lines) + len(line) + 1 > budget:
            return False
        lines.append(line)
        return True

    add("## Stack (from the manifests)")
    for row in grounding.stack():
        add(f"- {row.component}: {row.technology} ({row.justification})")
    add("")
    add("## Commands the repository defines")
    for command in grounding.commands():
        add(f"- `{command.command}` ({command.comment})")
    add("")
    add("## Where tests live")
    for source, test in _test_examples(grounding):
        add(f"- `{source}` is tested in `{test}`")
    add("")
    add("## Existing files ranked for this spec (path: requirement IDs; evidence)")
    for candidate in grounding.candidates:
        ids = ", ".join(candidate.requirement_ids) or "the spec as a whole"
        why = "; ".join(candidate.evidence[:2])
        if not add(f"- `{candidate.path}`: {ids}; {why}"):
            break
    add("")
    add("## Symbols of the ranked files")
    for candidate in grounding.candidates:
        symbols = repository.symbols.get(candidate.path, ())[:12]
        if symbols and not add(f"- `{candidate.path}`: {', '.join(symbols)}"):
            break
    add("")
    add("## Folders with the most source files")
    folders = Counter(
        str(PurePosixPath(name).parent)
        for name in repository.files
        if PurePosixPath(name).suffix in SOURCE_EXTENSIONS
    )
    for folder, count in folders.most_common(40):
        if not add(f"- `{folder}/` ({count})"):
            break
    if repository.specs:
        add("")
        add("## Earlier specs and plans")
        for path in repository.specs[-STEERING_LINES:]:
            if not add(f"- `{path}`"):
                break
    for path in repository.steering:  # the project's own instructions, as far as room allows
        excerpt = _head_lines(repository.root / path, STEERING_LINES)
        if excerpt:
            add("")
            add(f"## Steering: {path} (first lines)")
            for line in excerpt:
                if not add(f"> {line}" if line else ">"):
                    break
    return "\n".join(lines).rstrip("\n")


def _head_lines(path: Path, count: int) -> list[str]:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return [line.rstrip() for _, line in zip(range(count), handle, strict=False)]
    except OSError:
        return []


def _test_examples(grounding: Grounding) -> list[tuple[str, str]]:
    """Up to three ranked source files and their existing tests: the layout by example."""
    pairs = []
    for candidate in grounding.candidates:
        if PurePosixPath(candidate.path).suffix not in SOURCE_EXTENSIONS:
            continue
        place = grounding.test_for(candidate.path)
        if place.exists:
            pairs.append((candidate.path, place.path))
        if len(pairs) == 3:
            break
    return pairs
