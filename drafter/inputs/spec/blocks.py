"""Markdown → a flat list of blocks (headings, paragraphs, list items, fences, table rows)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_PSEUDO_HEADING = re.compile(r"(\*\*|__)([^*_\n][^\n]*?)\1\s*[:：]?")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_ATX = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")


@dataclass(frozen=True)
class Block:
    kind: Literal["heading", "para", "item", "fence", "row"]
    text: str  # inline markdown source (fence: its content; row: cells joined by " | ")
    line: int  # 1-based
    level: int = 0  # heading level 1-6; 7 for a bold paragraph used as a heading
    depth: int = 0  # list nesting depth, 0 outside lists
    cells: tuple[str, ...] = ()
    ordered: bool = False  # item: in a numbered list (`1.`), whose number the author wrote


def blocks(text: str) -> tuple[list[Block], list[str]]:
    """The blocks of `text` and warnings about its markdown (an unclosed code fence).

    A fence left open swallows the rest of the file in CommonMark; a reader sees it end where
    the next heading starts, so drafter reads it that way and says so.
    """
    lines = text.splitlines()
    found: list[Block] = []
    warnings: list[str] = []
    start = 0
    while (opened := _unclosed_fence(lines[start:])) is not None:
        opened += start
        resume = next((n for n in range(opened + 1, len(lines)) if _ATX.match(lines[n])), None)
        if resume is None:
            warnings.append(
                f"line {opened + 1}: code fence is never closed; the rest of the file is code"
            )
            break
        warnings.append(
            f"line {opened + 1}: code fence is never closed; read as closed before the heading "
            f"at line {resume + 1}"
        )
        found += [_shift(b, start) for b in _parse("\n".join(lines[start:resume]) + "\n")]
        start = resume
    if start == 0:
        return _parse(text), warnings
    found += [_shift(b, start) for b in _parse("\n".join(lines[start:]) + "\n")]
    return found, warnings


def _unclosed_fence(lines: list[str]) -> int | None:
    """0-based index of a fence opener that has no closer, if any."""
    opener: tuple[int, str] | None = None
    for n, line in enumerate(lines):
        m = _FENCE.match(line)
        if m is None:
            continue
        marks = m.group(1)
        if opener is None:
            if not (marks[0] == "`" and "`" in m.group(2)):
                opener = (n, marks)
        elif marks[0] == opener[1][0] and len(marks) >= len(opener[1]) and not m.group(2).strip():
            opener = None
    return opener[0] if opener else None


def _shift(block: Block, offset: int) -> Block:
    return Block(
        block.kind,
        block.text,
        block.line + offset,
        block.level,
        block.depth,
        block.cells,
        block.ordered,
    )


def _parse(text: str) -> list[Block]:
    # Imported here so that `drafter --help` does not pay for the markdown parser.
    from markdown_it import MarkdownIt

    # Only block structure is needed (inline text is read from each token's source), and the
    # core "inline" rule is more than half the parse time on large specs.
    md = MarkdownIt("commonmark").enable("table").disable("inline")
    tokens = md.parse(text)
    found: list[Block] = []
    lists: list[bool] = []  # per open list: is it numbered
    # A list that opens an item before any text of it (`- 1. WHEN …`) stands for that item:
    # it does not count as one more level of nesting.
    wrapped: list[bool] = []
    item_open: list[bool] = []  # per open list item: its first paragraph is still to come
    row: list[str] | None = None
    row_line = 0
    for i, tok in enumerate(tokens):
        line = tok.map[0] + 1 if tok.map else 0
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            lists.append(tok.type == "ordered_list_open")
            wrapped.append(bool(item_open) and item_open[-1])
            if wrapped[-1]:
                item_open[-1] = False
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            wrapped.pop()
        elif tok.type == "list_item_open":
            item_open.append(True)
        elif tok.type == "list_item_close":
            item_open.pop()
        elif tok.type == "heading_open":
            found.append(Block("heading", tokens[i + 1].content, line, level=int(tok.tag[1:])))
        elif tok.type == "paragraph_open":
            content = tokens[i + 1].content
            depth = len(lists) - sum(wrapped)
            if item_open and item_open[-1]:
                item_open[-1] = False
                found.append(Block("item", content, line, depth=depth, ordered=lists[-1]))
            elif depth == 0 and (pseudo := _PSEUDO_HEADING.fullmatch(content.strip())):
                found.append(Block("heading", pseudo.group(2), line, level=7))
            else:
                found.append(Block("para", content, line, depth=depth))
        elif tok.type in ("fence", "code_block"):
            found.append(Block("fence", tok.content, line, depth=len(lists) - sum(wrapped)))
        elif tok.type == "tr_open":
            row, row_line = [], line
        elif tok.type == "inline" and row is not None:
            row.append(tok.content)
        elif tok.type == "tr_close" and row is not None:
            found.append(Block("row", " | ".join(row), row_line, cells=tuple(row)))
            row = None
    return found
