"""Find and parse a project constitution into principles and rules with stable IDs.

How rules are found, numbered and categorised is documented for users in docs/rules.md;
keep the two in step.
"""

from __future__ import annotations

import re
import tomllib
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from drafter.core.errors import InputError
from drafter.model.selector import SelectorError, compile_selector

if TYPE_CHECKING:
    from markdown_it.token import Token

RuleLevel = Literal["MUST", "MUST NOT", "SHALL", "SHOULD", "SHOULD NOT"]
Category = Literal["coding", "testing", "security", "architecture"]

CATEGORY_LABELS: dict[Category, str] = {
    "coding": "Follows coding standards",
    "testing": "Adheres to testing strategy",
    "security": "Complies with security guidelines",
    "architecture": "Maintains architectural principles",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Frozen):
    """One normative sentence or bullet, e.g. `C-III.2` (principle III, second rule)."""

    id: str
    level: RuleLevel
    category: Category
    text: str
    principle: str  # the principle's title (or the section's, for rules outside principles)
    line: int
    source: Path | None = None  # the file `line` refers to when it is not `Constitution.path`

    @property
    def mandatory(self) -> bool:
        return self.level in ("MUST", "MUST NOT", "SHALL")


class Principle(_Frozen):
    number: str  # roman numeral, "I", "II", … (given by the heading or by position)
    title: str
    line: int


class DeclaredCheck(_Frozen):
    """A condition a `drafter-rules` block attaches to a rule (see docs/rules.md)."""

    rule_id: str
    require: str  # selector expression over the plan model, validated when parsed
    line: int  # line of the `require` key in the constitution


class Constitution(_Frozen):
    path: Path
    title: str
    version: str | None
    principles: tuple[Principle, ...]
    rules: tuple[Rule, ...]
    warnings: tuple[str, ...]  # e.g. "still an unfilled template: no rules taken"
    # Checks stated in `drafter-rules` blocks; parsed here so a syntax error becomes a warning
    # of the constitution (shown by `drafter rules`) and verdicts need not re-read the file.
    checks: tuple[DeclaredCheck, ...] = ()
    # Files read besides `path`: the other Kiro steering files (tech.md, structure.md, …).
    extra_sources: tuple[Path, ...] = ()
    # Still the unfilled template (headings are placeholders): no rule was taken from it.
    unfilled: bool = False

    def check_for(self, rule_id: str) -> DeclaredCheck | None:
        return next((c for c in self.checks if c.rule_id == rule_id), None)


# --- discovery -------------------------------------------------------------------------------

CONSTITUTION_NAME = "constitution.md"
# Where each format keeps the project's standing rules, looked for in every directory from
# the spec up to the repository root: spec-kit's memory, OpenSpec's project.md, Kiro's
# steering files (product.md, tech.md, structure.md, …, read together).
_PROJECT_FILES = (
    Path(".specify/memory") / CONSTITUTION_NAME,
    Path("memory") / CONSTITUTION_NAME,
    Path("openspec/project.md"),
)
STEERING_DIR = Path(".kiro/steering")
_STEERING_ORDER = ("product.md", "tech.md", "structure.md")
SOURCES_HINT = (
    "-c, [tool.drafter] constitution, constitution.md, .specify/memory/constitution.md, "
    "memory/constitution.md, openspec/project.md, .kiro/steering/*.md"
)


def discover(spec_path: Path, explicit: Path | None, configured: Path | None) -> Path | None:
    """The constitution that governs `spec_path` (a spec file, or a directory), or None.

    Order: the `-c` path, the `[tool.drafter] constitution` setting, `constitution.md` beside
    the spec or in its parent, then in the spec's directory or any parent up to the repository
    root (the first directory holding `.git`): `.specify/memory/constitution.md`,
    `memory/constitution.md`, `openspec/project.md`, or the Kiro steering files in
    `.kiro/steering/` (the first of them is returned; `load` reads them all). A path given
    explicitly must exist.
    """
    for given, origin in (
        (explicit, "-c/--constitution"),
        (configured, "the constitution setting"),
    ):
        if given is not None:
            if not given.is_file():
                raise InputError(f"constitution not found: {given} (given by {origin})")
            return given
    base = spec_path if spec_path.is_dir() else spec_path.parent
    base = base.resolve()
    for directory in (base, base.parent):
        if (directory / CONSTITUTION_NAME).is_file():
            return directory / CONSTITUTION_NAME
    for directory in (base, *base.parents):
        for relative in _PROJECT_FILES:
            candidate = directory / relative
            if candidate.is_file():
                return candidate
        if steering := steering_files(directory / STEERING_DIR):
            return steering[0]
        if (directory / ".git").exists():
            break
    return None


def steering_files(directory: Path) -> list[Path]:
    """Kiro's steering files: product, tech and structure first, then the rest by name."""
    if not directory.is_dir():
        return []
    found = sorted(directory.glob("*.md"))
    rank = {name: n for n, name in enumerate(_STEERING_ORDER)}
    return sorted(found, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def _is_steering(path: Path) -> bool:
    return path.parent.name == STEERING_DIR.name and path.parent.parent.name == ".kiro"


def load(path: Path) -> Constitution:
    """Read and parse a constitution file (UTF-8, BOM and CRLF accepted).

    A Kiro steering file is read with the other steering files beside it: their rules are
    one constitution, each rule ID carrying its file (`C-tech-A.2`) and each rule its source.
    """
    if not _is_steering(path):
        return _load_one(path)
    others = [p for p in steering_files(path.parent) if p != path]
    parts = [_steering_part(p, p == path) for p in (path, *others)]
    first = parts[0]
    return first.model_copy(
        update={
            "title": f"Kiro steering ({', '.join(p.path.stem for p in parts)})",
            "principles": tuple(x for p in parts for x in p.principles),
            "rules": tuple(r for p in parts for r in p.rules),
            "warnings": tuple(w for p in parts for w in p.warnings),
            "checks": tuple(c for p in parts for c in p.checks),
            "extra_sources": tuple(p.path for p in parts[1:]),
        }
    )


def _steering_part(path: Path, primary: bool) -> Constitution:
    """One steering file, its rule IDs prefixed with the file's stem so they stay unique."""
    parsed = _load_one(path)
    stem = re.sub(r"[^A-Za-z0-9]+", "-", path.stem).strip("-") or "steering"

    def renamed(rule_id: str) -> str:
        return rule_id.replace("C-", f"C-{stem}-", 1)

    return parsed.model_copy(
        update={
            "rules": tuple(
                r.model_copy(update={"id": renamed(r.id), "source": None if primary else path})
                for r in parsed.rules
            ),
            "checks": tuple(
                c.model_copy(update={"rule_id": renamed(c.rule_id)}) for c in parsed.checks
            ),
        }
    )


def _load_one(path: Path) -> Constitution:
    if path.is_dir():
        raise InputError(f"constitution is a directory, not a file: {path}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read constitution {path}: {error.strerror or error}") from None
    if b"\0" in data:
        raise InputError(f"constitution {path} is not text (binary bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"constitution {path} is not UTF-8 (bad byte at offset {error.start})"
        ) from None
    return parse(text, path)


# --- modal keywords ----------------------------------------------------------------------------

# Leftmost match wins; longer alternatives come first so "MUST NOT" beats "MUST".
_EN_MODALS: tuple[tuple[str, RuleLevel], ...] = (
    (r"MUST\s+NOT", "MUST NOT"),
    (r"SHALL\s+NOT", "MUST NOT"),
    (r"SHOULD\s+NOT", "SHOULD NOT"),
    (r"NOT\s+RECOMMENDED", "SHOULD NOT"),
    (r"(?:DO|Do|do)\s+NOT", "MUST NOT"),
    (r"NEVER", "MUST NOT"),
    (r"PROHIBITED|FORBIDDEN", "MUST NOT"),
    (r"MUST", "MUST"),
    (r"REQUIRED|MANDATORY", "MUST"),
    (r"SHALL", "SHALL"),
    (r"SHOULD", "SHOULD"),
    (r"RECOMMENDED|PREFER", "SHOULD"),
)
# Japanese modal endings (PLAN-QUALITY.md §4: rule extraction needs per-language lists).
_JA_MODALS: tuple[tuple[str, RuleLevel], ...] = (
    (r"してはならない|してはいけない|禁止", "MUST NOT"),
    (r"べきではない|べきでない", "SHOULD NOT"),
    (r"しなければならない|なければならない|必須|する必要がある", "MUST"),
    (r"すべき|するべき|推奨", "SHOULD"),
)
_MODAL_RE = re.compile(
    "|".join(
        [rf"(?<![\w-])(?P<en{i}>{p})(?![\w-])" for i, (p, _) in enumerate(_EN_MODALS)]
        + [f"(?P<ja{i}>{p})" for i, (p, _) in enumerate(_JA_MODALS)]
    )
)
_NEGATED_REQUIREMENT = re.compile(r"\bNOT\s+$")  # "NOT REQUIRED" states no rule


def find_modal(sentence: str) -> tuple[int, RuleLevel] | None:
    """(offset, level) of the first normative keyword in `sentence`, or None."""
    for match in _MODAL_RE.finditer(sentence):
        group = match.lastgroup or ""
        table = _EN_MODALS if group.startswith("en") else _JA_MODALS
        level = table[int(group[2:])][1]
        if level == "MUST" and _NEGATED_REQUIREMENT.search(sentence[: match.start()]):
            continue
        return match.start(), level
    return None


def main_clause(text: str) -> str:
    """The part of a rule's text that states it: without a leading "Label:" and without the
    "…: a; b; c" details the parser appended, so a check keyed on one word of the details
    does not decide the whole rule."""
    found = find_modal(text)
    if found is None:
        return text
    modal = found[0]
    start = text.rfind(": ", 0, modal)
    end = text.find(":", modal)
    return text[start + 2 if start >= 0 else 0 : end if end >= 0 else len(text)]


_TESTS_FIRST = re.compile(
    r"\b(?:tdd|test[- ]first|test[- ]driven|red[- ]green|failing test)"
    r"|\btests?\b[^.;]*\b(?:written|write|come|comes)\b[^.;]*\b(?:before|first)\b",
    re.I,
)


def asks_tests_first(rule: Rule) -> bool:
    """Whether `rule` asks for tests before the code they test (test-first, TDD, red-green).

    The one reading of such a rule: the offline drafter orders its steps by it and the
    built-in check judges plans by it, so a plan drafted for a rule always passes it.
    """
    return rule.level not in ("MUST NOT", "SHOULD NOT") and bool(
        _TESTS_FIRST.search(main_clause(rule.text))
    )


def modal_level(sentence: str) -> RuleLevel | None:
    """The level of the first normative keyword in `sentence`, or None."""
    found = find_modal(sentence)
    return found[1] if found else None


# Bullets of a NON-NEGOTIABLE principle that start with one of these verbs are MUST rules.
_IMPERATIVE_VERBS_TEXT = """
    add apply avoid build check commit declare define delete depend document emit ensure expose
    follow handle hook implement include keep log make name place provide put refactor register
    remove replace return run store test track update use validate verify wrap write
"""
_IMPERATIVE_VERBS = frozenset(_IMPERATIVE_VERBS_TEXT.split())
_CONDITION_PREFIX = re.compile(r"^(?:if|when|where|unless|before|after)\b[^,]*,\s*", re.I)


def _imperative_level(sentence: str) -> RuleLevel | None:
    body = _CONDITION_PREFIX.sub("", sentence)
    first = re.match(r"[A-Za-z]+", body)
    if not first:
        return None
    word = first.group(0).lower()
    if word in ("no", "never"):
        return "MUST NOT"
    return "MUST" if word in _IMPERATIVE_VERBS else None


# --- categories ----------------------------------------------------------------------------------

_CATEGORY_KEYWORDS: tuple[tuple[Category, re.Pattern[str]], ...] = (
    (
        "testing",
        re.compile(
            r"\b(?:tests?|testing|testable|tdd|coverage|red-green|e2e|end-to-end|"
            r"test-first|test-driven|regression)\b|テスト",
            re.I,
        ),
    ),
    (
        "security",
        re.compile(
            r"\b(?:secrets?|credentials?|auth(?:entication|enticated?|orization|orized?|n|z)?|"
            r"encrypt\w*|pii|(?<!dependency )injection|"
            r"security|secure|"
            r"rbac|privileges?|vulnerab\w*|redact\w*|passwords?|permissions?|"
            r"multi-tenan\w*|isolation)\b|セキュリティ|認証|暗号|秘密|機密",
            re.I,
        ),
    ),
    (
        "architecture",
        re.compile(
            r"\b(?:librar(?:y|ies)|modules?|modular\w*|services?|dependenc(?:y|ies)|layers?|"
            r"api contracts?|simplicity|architect\w*|adapters?|interfaces?|"
            r"components?|protocols?|coupl\w*|abstractions?|boundar(?:y|ies)|yagni|"
            r"microservices?)\b|アーキテクチャ|モジュール|依存",
            re.I,
        ),
    ),
)


def categorize(text: str, principle: str) -> Category:
    """Category by keywords: the rule's own words first, then its nearest heading's."""
    for subject in (text, principle):
        for category, pattern in _CATEGORY_KEYWORDS:
            if pattern.search(subject):
                return category
    return "coding"


# --- markdown structure ------------------------------------------------------------------------


@dataclass
class _Node:
    kind: Literal["heading", "paragraph", "item", "fence"]
    text: str  # inline text (softbreaks kept as "\n"), or a fence's content
    line: int  # 1-based
    level: int = 0  # heading level
    info: str = ""  # fence info string
    group: int = 0  # items of one list share a group number
    children: list[_Node] = field(default_factory=list)  # an item's paragraphs and sub-items


def _inline_text(token_children: list[Token]) -> str:
    parts: list[str] = []
    for child in token_children:
        kind, content = child.type, child.content
        if kind == "text":
            parts.append(content)
        elif kind == "code_inline":
            parts.append(f"`{content}`")
        elif kind in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif kind == "image":
            parts.append(content)
    return "".join(parts)


def _blocks(text: str) -> list[_Node]:
    """Markdown as a shallow tree: headings, paragraphs, fences and list items at the root;
    an item holds its own paragraphs and nested items. Tables and HTML (comments) are dropped."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    root: list[_Node] = []
    stack: list[list[_Node]] = [root]
    groups: list[int] = []
    lists = 0
    index = 0
    while index < len(tokens):
        token = tokens[index]
        line = token.map[0] + 1 if token.map else 0
        if token.type == "heading_open":
            inline = tokens[index + 1]
            stack[-1].append(
                _Node("heading", _inline_text(inline.children or []), line, int(token.tag[1:]))
            )
            index += 2
        elif token.type == "paragraph_open":
            inline = tokens[index + 1]
            stack[-1].append(_Node("paragraph", _inline_text(inline.children or []), line))
            index += 2
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            lists += 1
            groups.append(lists)
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            groups.pop()
        elif token.type == "list_item_open":
            item = _Node("item", "", line, group=groups[-1])
            stack[-1].append(item)
            stack.append(item.children)
        elif token.type == "list_item_close":
            stack.pop()
        elif token.type == "fence":
            stack[-1].append(_Node("fence", token.content, line, info=token.info.strip()))
        elif token.type == "table_open":
            while tokens[index].type != "table_close":
                index += 1
        index += 1
    return root


# --- sentences ------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“(`*A-Z0-9])|(?<=。)")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "no.")


def _sentences(text: str) -> Iterator[tuple[str, int]]:
    """Sentences of `text` with the 0-based line offset where each starts."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        head = text[start : match.start()]
        if head.rstrip().lower().endswith(_ABBREVIATIONS):
            continue
        yield head, text.count("\n", 0, start)
        start = match.end()
    yield text[start:], text.count("\n", 0, start)


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


_RATIONALE = re.compile(r"^\s*(?:rationale|why)\s*:", re.I)


# --- parsing --------------------------------------------------------------------------------------

_ROMAN = re.compile(r"^(?=[IVXLCDM])M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")
_NUMBERED_HEADING = re.compile(r"^(?:(?:principle|article)\s+)?([IVXLCDM]+|\d+)[.:)]\s+(.+)$", re.I)
_PRINCIPLES_CONTAINER = re.compile(r"\bprinciples\b|原則", re.I)
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\]")
_VERSION = re.compile(r"\bVersion\**\s*:\s*\**\s*v?(\d+(?:\.\d+)*)", re.I)
_CONVENTIONS = re.compile(r"\bconventions?\b", re.I)


def to_roman(number: int) -> str:
    values = (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    )
    out = []
    for value, numeral in values:
        while number >= value:
            out.append(numeral)
            number -= value
    return "".join(out)


def section_letter(position: int) -> str:
    """0 → A, 25 → Z, 26 → AA: the letter of the position-th top-level section."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _numeral(heading: str) -> tuple[str | None, str]:
    """(roman numeral or None, title) of a principle heading such as `III. Test-First`."""
    match = _NUMBERED_HEADING.match(heading.strip())
    if not match:
        return None, heading.strip()
    number, title = match.groups()
    if number.isdigit():
        return to_roman(int(number)), title.strip()
    upper = number.upper()
    return (upper, title.strip()) if _ROMAN.match(upper) else (None, heading.strip())


@dataclass
class _Scope:
    """A principle or a top-level section: where rules are numbered."""

    key: str  # "III" for principle III, "B" for the second top-level section
    title: str
    non_negotiable: bool
    count: int = 0


def parse(text: str, path: Path) -> Constitution:
    """Parse constitution markdown; every rule carries its 1-based source line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    nodes = _blocks(text)
    headings = [n for n in nodes if n.kind == "heading"]
    title = path.stem
    if headings and headings[0].level == 1:
        title = _clean(headings[0].text)
    version = next(
        (
            m.group(1)
            for n in nodes
            if n.kind == "paragraph"
            for m in [_VERSION.search(n.text)]
            if m
        ),
        None,
    )
    placeholders = sorted(
        {p for n in nodes if n.kind != "fence" for p in _PLACEHOLDER.findall(n.text)}
    )
    if any(_PLACEHOLDER.fullmatch(_clean(h.text)) for h in headings):
        warning = f"constitution {path} is an unfilled template: no rules taken"
        return Constitution(
            path=path,
            title=title,
            version=version,
            principles=(),
            rules=(),
            warnings=(warning,),
            unfilled=True,
        )
    warnings: list[str] = []
    if placeholders:
        warnings.append(
            f"constitution {path} still has template placeholders: {', '.join(placeholders)}"
        )
    builder = _Builder(title, headings)
    builder.walk(nodes)
    if not builder.rules:
        builder.take_conventions()
    declared = _Declared(path, builder.rules)
    for block in builder.blocks:
        declared.block(block.text, block.line + 1)
    return Constitution(
        path=path,
        title=title,
        version=version,
        principles=tuple(builder.principles),
        rules=tuple(declared.rules),
        warnings=(*warnings, *declared.warnings),
        checks=tuple(declared.checks),
    )


class _Builder:
    """Walks the block tree once, tracking the current principle or section."""

    def __init__(self, title: str, headings: list[_Node]) -> None:
        self.principles: list[Principle] = []
        self.rules: list[Rule] = []
        self.conventions: list[tuple[_Scope, str, int, Category]] = []
        self.blocks: list[_Node] = []  # `drafter-rules` fences, applied after the prose
        body = headings[1:] if headings and headings[0].level == 1 else headings
        self.section_level = min((h.level for h in body), default=2)
        self.container_level: int | None = None  # level of a "Core Principles" heading
        self.has_roman = any(_numeral(h.text)[0] and not _clean(h.text)[0].isdigit() for h in body)
        self.sections = 0
        self.principle_positions = 0
        # Text before the first section heading is numbered as section "0".
        self.scope = _Scope(key="0", title=title, non_negotiable=False)
        self.context = title  # nearest heading: the fallback for a rule's category
        self.in_conventions = 0  # level of an enclosing "Conventions" heading, 0 if none

    # -- headings

    def heading(self, node: _Node) -> None:
        text = _clean(node.text)
        self.context = _numeral(text)[1]
        if self.in_conventions and node.level <= self.in_conventions:
            self.in_conventions = 0
        if _CONVENTIONS.search(text) and not self.in_conventions:
            self.in_conventions = node.level
        if self.container_level is not None and node.level <= self.container_level:
            self.container_level = None
        if node.level < self.section_level:
            return  # the title, or a stray h1
        if node.level == self.section_level:
            position = self.sections
            self.sections += 1
            if not self._is_principle(node.level, text):
                if _PRINCIPLES_CONTAINER.search(text):
                    self.container_level = node.level
                self._open(section_letter(position), text)
                return
        if self._is_principle(node.level, text):
            self.principle_positions += 1
            numeral, title = _numeral(text)
            number = numeral or to_roman(self.principle_positions)
            self.principles.append(Principle(number=number, title=title, line=node.line))
            self._open(number, title)

    def _is_principle(self, level: int, text: str) -> bool:
        if self.container_level is not None:
            return level == self.container_level + 1
        numeral, _ = _numeral(text)
        if numeral is None:
            return False
        # Numbered headings are principles only where the document does not use roman ones
        # (then "1. Amendments" under Governance is not a principle).
        return not text[0].isdigit() or not self.has_roman

    def _open(self, key: str, title: str) -> None:
        self.scope = _Scope(
            key=key,
            title=title,
            non_negotiable="NON-NEGOTIABLE" in title,
        )

    # -- body

    def walk(self, nodes: list[_Node]) -> None:
        for index, node in enumerate(nodes):
            if node.kind == "heading":
                self.heading(node)
            elif node.kind == "fence" and _is_rules_fence(node):
                self.blocks.append(node)
            elif node.kind == "paragraph":
                self.unit(node.text, node.line, _following_items(nodes, index), bullet=False)
            elif node.kind == "item":
                self.item(node, "")

    def item(self, node: _Node, parent: str) -> None:
        """A list item; `parent` is the enclosing item's text, the subject of a nested rule
        that has none ("- Refactoring: ≤400 lines" / "  - MUST NOT mix with features")."""
        paragraphs = [c for c in node.children if c.kind == "paragraph"]
        items = [c for c in node.children if c.kind == "item"]
        for position, paragraph in enumerate(paragraphs):
            children = items if position == 0 else []
            self.unit(paragraph.text, paragraph.line, children, bullet=position == 0, parent=parent)
        self.blocks += [c for c in node.children if c.kind == "fence" and _is_rules_fence(c)]
        own = _clean(_item_text(node).replace("**", ""))
        for child in items:
            self.item(child, own)

    def unit(
        self, text: str, line: int, children: list[_Node], bullet: bool, parent: str = ""
    ) -> None:
        if _RATIONALE.match(text.replace("*", "")):
            return
        sentences = list(_sentences(text))
        found = False
        for position, (sentence, offset) in enumerate(sentences):
            level = self.level_of(sentence)
            if level is None:
                continue
            found = True
            own = _clean(sentence.replace("**", ""))
            rule_text = own
            modal = find_modal(own)
            if parent and modal is not None and modal[0] == 0:  # no subject of its own
                rule_text = f"{parent.rstrip(':')} — {own}"
            if position == len(sentences) - 1 and own.endswith(":"):
                details = [
                    _clean(_item_text(c).replace("**", "")).rstrip(":")
                    for c in children
                    if self.level_of(_item_text(c)) is None
                ]
                if details:
                    rule_text = f"{rule_text} {'; '.join(details)}"
            category = categorize(own, self.context)
            self.add(self.scope, level, rule_text, line + offset, category)
        if not found and bullet and self.in_conventions and not children:
            own = _clean(text.replace("**", ""))
            self.conventions.append((self.scope, own, line, categorize(own, self.context)))

    def level_of(self, sentence: str) -> RuleLevel | None:
        level = modal_level(sentence)
        if level is None and self.scope.non_negotiable:
            level = _imperative_level(_clean(sentence.replace("*", "")))
        return level

    def take_conventions(self) -> None:
        """A document with no normative keyword but a "Conventions" section (OpenSpec's
        project.md): its convention bullets become SHOULD rules (PLAN-QUALITY.md §4)."""
        for scope, text, line, category in self.conventions:
            self.add(scope, "SHOULD", text, line, category)

    def add(
        self, scope: _Scope, level: RuleLevel, text: str, line: int, category: Category
    ) -> None:
        scope.count += 1
        self.rules.append(
            Rule(
                id=f"C-{scope.key}.{scope.count}",
                level=level,
                category=category,
                text=text,
                principle=scope.title,
                line=line,
            )
        )


def _is_rules_fence(node: _Node) -> bool:
    return node.info.split()[:1] == [RULES_FENCE]


def _item_text(node: _Node) -> str:
    return next((c.text for c in node.children if c.kind == "paragraph"), "")


def _following_items(nodes: list[_Node], index: int) -> list[_Node]:
    """The list items right after the paragraph at `index` (what a "…:" sentence introduces)."""
    items: list[_Node] = []
    for node in nodes[index + 1 :]:
        if node.kind != "item" or (items and node.group != items[0].group):
            break
        items.append(node)
    return items


# --- drafter-rules blocks -------------------------------------------------------------------------

RULES_FENCE = "drafter-rules"
_LEVELS: tuple[RuleLevel, ...] = typing.get_args(RuleLevel)
_CATEGORIES: tuple[Category, ...] = typing.get_args(Category)
_ENTRY_KEYS = frozenset(("id", "level", "category", "text", "require"))
_RULE_HEADER = re.compile(r"^\s*\[\[\s*rule\s*\]\]")
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


class _Declared:
    """Applies `drafter-rules` TOML blocks: `[[rule]]` entries that add rules, restate an
    extracted rule's level or category, and attach a `require` condition. Faults become
    warnings naming the constitution line; they never stop the parse."""

    def __init__(self, path: Path, rules: list[Rule]) -> None:
        self.path = path
        self.rules = list(rules)
        self.warnings: list[str] = []
        self.checks: list[DeclaredCheck] = []
        self.seen: set[str] = set()

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(f"{self.path}:{line}: {RULES_FENCE}: {message}")

    def block(self, text: str, first_line: int) -> None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            where = _TOML_POSITION.search(str(error))
            line = first_line + int(where.group(1)) - 1 if where else first_line
            message = _TOML_POSITION.sub("", str(error)).strip()
            self.warn(line, f"not valid TOML ({message}); block ignored")
            return
        entries = data.get("rule", [])
        if not isinstance(entries, list) or set(data) - {"rule"}:
            self.warn(first_line, "expected only [[rule]] tables; block ignored")
            return
        # Source lines of each entry's `[[rule]]` header and `require` key, for messages.
        headers: list[int] = []
        requires: dict[int, int] = {}
        for offset, raw in enumerate(text.split("\n")):
            if _RULE_HEADER.match(raw):
                headers.append(first_line + offset)
            elif headers and re.match(r"\s*require\s*=", raw):
                requires.setdefault(headers[-1], first_line + offset)
        for position, entry in enumerate(entries):
            line = headers[position] if position < len(headers) else first_line
            if isinstance(entry, dict):
                self.entry(entry, line, requires.get(line, line))
            else:
                self.warn(line, "each rule must be a [[rule]] table; entry ignored")

    def entry(self, entry: dict[str, object], line: int, require_line: int) -> None:
        unknown = sorted(set(entry) - _ENTRY_KEYS)
        if unknown:
            self.warn(
                line,
                f"unknown key(s) {', '.join(unknown)} (known: id, level, category, text, require)",
            )
        rule_id, level, category = entry.get("id"), entry.get("level"), entry.get("category")
        text, require = entry.get("text"), entry.get("require")
        if not isinstance(rule_id, str) or not re.fullmatch(r"[A-Za-z][\w.-]*", rule_id):
            self.warn(line, 'each [[rule]] needs an id such as "C-II.1"; entry ignored')
            return
        if level is not None and level not in _LEVELS:
            self.warn(line, f"{rule_id}: level must be one of {', '.join(_LEVELS)}; entry ignored")
            return
        if category is not None and category not in _CATEGORIES:
            self.warn(
                line, f"{rule_id}: category must be one of {', '.join(_CATEGORIES)}; entry ignored"
            )
            return
        if require is not None and not isinstance(require, str):
            self.warn(line, f"{rule_id}: require must be a string; entry ignored")
            return
        if rule_id in self.seen:
            self.warn(line, f"{rule_id}: stated twice; this entry ignored")
            return
        self.seen.add(rule_id)
        existing = next((i for i, r in enumerate(self.rules) if r.id == rule_id), None)
        update: dict[str, object] = {}
        if level is not None:
            update["level"] = level
        if category is not None:
            update["category"] = category
        if existing is not None:
            self.rules[existing] = self.rules[existing].model_copy(update=update)
        else:
            stated = text if isinstance(text, str) and text.strip() else require
            if not isinstance(stated, str):
                self.warn(line, f"{rule_id}: a new rule needs text or require; entry ignored")
                return
            self.rules.append(
                Rule(
                    id=rule_id,
                    level=typing.cast(RuleLevel, level or "MUST"),
                    category=typing.cast(Category, category) or categorize(stated, ""),
                    text=_clean(stated),
                    principle=RULES_FENCE,
                    line=line,
                )
            )
        if require is not None:
            self.checks.append(DeclaredCheck(rule_id=rule_id, require=require, line=require_line))
            try:
                compile_selector(require)
            except SelectorError as error:
                self.warn(require_line, f"{rule_id}: bad require condition: {error}")
