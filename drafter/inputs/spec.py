"""Parse a feature spec (spec-kit, Kiro, OpenSpec or plain markdown) into a `Spec`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from drafter.core.errors import InputError

SpecFormat = Literal["spec-kit", "kiro", "openspec", "generic"]
RequirementKind = Literal[
    "functional",  # FR-001, REQ-…, Kiro acceptance criteria R1.3, OpenSpec requirements
    "non_functional",  # NFR-…
    "success",  # SC-…: measurable outcomes, traced to verification checks
    "design",  # author IDs such as DESIGN-REQ-001 / DOC-REQ-…
]
EarsKind = Literal["when", "if", "while", "where", "ubiquitous"]
DeltaKind = Literal["added", "modified", "removed", "renamed"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requirement(_Frozen):
    """One requirement with a stable ID, e.g. `FR-003`, `SC-002`, `R1.3`, `jobs:stale-recovery`."""

    id: str
    kind: RequirementKind
    text: str
    line: int
    story_id: str | None = None  # Kiro: the `R1` a criterion `R1.3` belongs to
    ears: EarsKind | None = None
    delta: DeltaKind | None = None  # OpenSpec delta section the requirement came from
    maps_to: tuple[str, ...] = ()  # IDs this one cross-references ("Maps to FR-001, FR-002")
    source: Path | None = None  # the file `line` refers to when it is not `Spec.path` (deltas)


class Scenario(_Frozen):
    """An acceptance scenario; ID `US1.2` (story 1, scenario 2) or `<req-id>#2` for OpenSpec."""

    id: str
    story_id: str | None
    text: str
    given: str | None
    when: str | None
    then: str | None
    line: int
    source: Path | None = None  # the file `line` refers to when it is not `Spec.path` (deltas)


class UserStory(_Frozen):
    """A user story: `US1` (spec-kit) or `R1` (Kiro's `### Requirement 1`)."""

    id: str
    title: str
    priority: str | None  # "P1".."P3"; None when the spec ranks nothing (Kiro)
    text: str
    line: int


class Entity(_Frozen):
    name: str
    description: str
    line: int


class EdgeCase(_Frozen):
    id: str  # EC1, EC2 … in document order
    text: str
    line: int


class Clarification(_Frozen):
    """A `[NEEDS CLARIFICATION: …]` marker, with the requirement it sits in, if any."""

    text: str
    line: int
    requirement_id: str | None


class Spec(_Frozen):
    """Everything drafter reads from SPEC.md; each item carries its 1-based source line."""

    path: Path
    format: SpecFormat
    language: str  # "en", "ja", … (by share of non-Latin letters)
    title: str
    summary: str
    created: str | None  # the spec's own date, e.g. from `**Created**:`
    requirements: tuple[Requirement, ...]
    stories: tuple[UserStory, ...]
    scenarios: tuple[Scenario, ...]
    entities: tuple[Entity, ...]
    edge_cases: tuple[EdgeCase, ...]
    clarifications: tuple[Clarification, ...]
    assumptions: tuple[str, ...]
    named_paths: tuple[str, ...]  # repository paths the spec names (OpenSpec Impact, backticks)
    extra_sources: tuple[Path, ...] = ()  # files read besides `path` (OpenSpec delta specs)

    def requirement(self, requirement_id: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == requirement_id), None)


# Far above any real spec (the corpus's largest is 30 KB) yet small enough that parsing and
# drafting stay well inside the 10 s budget; larger files are refused before they are read.
MAX_SPEC_BYTES = 2 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_SPEC_FILE_NAMES = {"spec.md", "requirements.md", "proposal.md", "readme.md"}

# A requirement ID: upper-case segments joined by hyphens, at least one hyphen (FR-001,
# DOC-REQ-EXT-ADAPT, DESIGN-REQ-001), optionally dotted (FR-001.2).
_ID = r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+(?:\.\d+)*"
_BOLD_ID = re.compile(rf"^(\*\*|__)\[?({_ID})\]?:?\1\s*(?:\(([^)]*)\))?\s*[:.—–-]?\s*(\S.*)$", re.S)
_PLAIN_ID = re.compile(rf"^`?\[?({_ID})\]?`?\s*(?:\(([^)]*)\))?\s*[:—–]\s+(\S.*)$", re.S)
_ID_ANYWHERE = re.compile(rf"\b{_ID}\b")
_MAPS_TO = re.compile(r"\bMaps? to:?\s*(.+?)(?:\.\s|\.?$)", re.S)
_KIND_BY_PREFIX: dict[str, RequirementKind] = {
    "FR": "functional",
    "REQ": "functional",
    "NFR": "non_functional",
    "SC": "success",
}

_KIND_BY_CONTEXT: dict[str, RequirementKind] = {"nfr": "non_functional", "success": "success"}
_EARS_OPENERS: dict[str, EarsKind] = {
    "when": "when",
    "if": "if",
    "while": "while",
    "where": "where",
}
_DELTA_KINDS: dict[str, DeltaKind] = {
    "ADDED": "added",
    "MODIFIED": "modified",
    "REMOVED": "removed",
    "RENAMED": "renamed",
}

_CLARIFICATION = re.compile(r"\[NEEDS CLARIFICATION:\s*([^\]]+?)\s*\]")
_PSEUDO_HEADING = re.compile(r"(\*\*|__)([^*_\n][^\n]*?)\1\s*:?")
_LABEL = re.compile(r"^(\*\*|__)([^*_\n]+?):?\1:?\s*(.*)$", re.S)
_META_LINE = re.compile(r"^\s*(\*\*|__)([^*_\n]+?):?\1:?\s*(.*?)\s*$")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TITLE_PREFIX = re.compile(
    r"^(?:Feature\s+Specification|Feature\s+Spec|Specification|Spec|Change|Proposal|Feature)"
    r"\s*[:—–-]\s*",
    re.I,
)
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVXLC]+\.|[A-Z]\.)\s+")
_STORY = re.compile(
    r"^(?:User\s+Story|US-?(?=\d))\s*(\d+)?\s*([-–—:.])?\s*(.*?)"
    r"\s*(?:[(\[]\s*(?:Priority\s*:?\s*)?(P\d+)\s*[)\]])?\s*$",
    re.I,
)
_KIRO_STORY = re.compile(r"^Requirement\s+(\d+)\b\s*[:.—–-]?\s*(.*)$", re.I)
_OPENSPEC_REQ = re.compile(r"^Requirement:\s*(.+)$", re.I)
_OPENSPEC_SCENARIO = re.compile(r"^Scenario:\s*(.+)$", re.I)
_DELTA = re.compile(r"^(ADDED|MODIFIED|REMOVED|RENAMED)\s+Requirements?\b", re.I)
_RENAME = re.compile(r"^(FROM|TO)\s*:?\s*`?(?:#+\s*)?Requirement:\s*(.+?)`?$", re.I)
_CLAUSE = re.compile(r"^(GIVEN|WHEN|THEN|AND|BUT)\b[:,]?\s*(.*)$", re.I | re.S)
_GWT_BOLD = re.compile(r"(\*\*|__)(given|when|then|and|but)\1", re.I)
_GWT_PLAIN = re.compile(r"\b(Given|When|Then|GIVEN|WHEN|THEN|AND|BUT)\b")
_USER_STORY_LABELS = {"user story", "story", "summary", "as a"}
_WANT = re.compile(r"\bI (?:want|need|would like)(?: to)?\s+(.+?)(?:,?\s+so that\b|[.。]|$)", re.I)
_SUBJECT = re.compile(
    r"^(?:The\s+|An?\s+)?(.{2,60}?)\s+(?:is|are|will be|provides|enables|offers|lets|allows)\b"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=。)")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_LINK_TARGET = re.compile(r"\]\(([^)\s]+)")
_PATH = re.compile(r"(?:\./)?((?:[\w@+-][\w@.+-]*/)+[\w@+-][\w@.+-]*\.[A-Za-z0-9]{1,10})")
_BARE_PATH = re.compile(r"(?<![\w/:.@-])" + _PATH.pattern + r"(?![\w/])")
_AFFECTED_SPECS = re.compile(r"Affected\s+specs?\W*(.*)$", re.I | re.S)

# What the nearest heading says the blocks under it are.
_Context = Literal[
    "other",
    "story",
    "scenarios",
    "criteria",
    "requirements",
    "nfr",
    "success",
    "edge",
    "entities",
    "assumptions",
    "intro",
    "why",
    "impact",
    "delta",
    "oreq",
    "oscenario",
]

# spec-kit template scaffolding: guidance for the author, not content of the feature.
_BOILERPLATE = (
    "execution flow",
    "quick guidelines",
    "for ai generation",
    "section requirements",
    "review & acceptance checklist",
    "review and acceptance checklist",
    "execution status",
)

# Letters of these scripts count as non-Latin; the first match names the language.
_SCRIPTS: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("ja", ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))),
    ("ko", ((0xAC00, 0xD7AF), (0x1100, 0x11FF), (0x3130, 0x318F))),
    ("zh", ((0x4E00, 0x9FFF), (0x3400, 0x4DBF))),
    ("ru", ((0x0400, 0x04FF),)),
    ("el", ((0x0370, 0x03FF),)),
    ("he", ((0x0590, 0x05FF),)),
    ("ar", ((0x0600, 0x06FF),)),
    ("hi", ((0x0900, 0x097F),)),
    ("th", ((0x0E00, 0x0E7F),)),
)
_LANGUAGE_SAMPLE = 200_000  # characters of prose; enough to judge, cheap on huge specs


def load(path: Path) -> Spec:
    """Read and parse a spec; for an OpenSpec change, also read its delta specs.

    Raises:
        InputError: the file is missing, a directory, empty, binary, not UTF-8 or too large.
    """
    spec, affected = _parse(_read(path, "spec"), path, capability=None)
    if spec.format != "openspec" or not affected.is_change:
        return spec
    deltas = [(p, p.parent.name) for p in sorted(path.parent.glob("specs/*/spec.md"))]
    sibling = path.parent / "delta-spec.md"
    if sibling.is_file() and sibling != path:
        deltas.append((sibling, affected.capability or path.parent.name))
    parts = [spec]
    for delta_path, capability in deltas:
        delta, _ = _parse(_read(delta_path, "delta spec"), delta_path, capability=capability)
        parts.append(_with_source(delta, delta_path))
    return spec.model_copy(
        update={
            "requirements": _unique(r for p in parts for r in p.requirements),
            "scenarios": tuple(s for p in parts for s in p.scenarios),
            "clarifications": tuple(c for p in parts for c in p.clarifications),
            "named_paths": tuple(dict.fromkeys(n for p in parts for n in p.named_paths)),
            "extra_sources": tuple(p for p, _ in deltas),
        }
    )


def parse(text: str, path: Path) -> Spec:
    """Parse spec text; `path` names the file (for the title fallback and OpenSpec capability)."""
    return _parse(text, path, capability=None)[0]


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


# --- markdown → blocks ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    kind: Literal["heading", "para", "item", "fence", "row"]
    text: str  # inline markdown source (fence: its content; row: cells joined by " | ")
    line: int  # 1-based
    level: int = 0  # heading level 1-6; 7 for a bold paragraph used as a heading
    depth: int = 0  # list nesting depth, 0 outside lists
    cells: tuple[str, ...] = ()


def _blocks(text: str) -> list[_Block]:
    # Imported here so that `drafter --help` does not pay for the markdown parser.
    from markdown_it import MarkdownIt

    # Only block structure is needed (inline text is read from each token's source), and the
    # core "inline" rule is more than half the parse time on large specs.
    md = MarkdownIt("commonmark").enable("table").disable("inline")
    tokens = md.parse(text)
    blocks: list[_Block] = []
    depth = 0
    item_open: list[bool] = []  # per open list item: its first paragraph is still to come
    row: list[str] | None = None
    row_line = 0
    for i, tok in enumerate(tokens):
        line = tok.map[0] + 1 if tok.map else 0
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif tok.type == "list_item_open":
            item_open.append(True)
        elif tok.type == "list_item_close":
            item_open.pop()
        elif tok.type == "heading_open":
            blocks.append(_Block("heading", tokens[i + 1].content, line, level=int(tok.tag[1:])))
        elif tok.type == "paragraph_open":
            content = tokens[i + 1].content
            pseudo = _PSEUDO_HEADING.fullmatch(content.strip())
            if item_open and item_open[-1]:
                item_open[-1] = False
                blocks.append(_Block("item", content, line, depth=depth))
            elif depth == 0 and pseudo:
                blocks.append(_Block("heading", pseudo.group(2), line, level=7))
            else:
                blocks.append(_Block("para", content, line, depth=depth))
        elif tok.type in ("fence", "code_block"):
            blocks.append(_Block("fence", tok.content, line, depth=depth))
        elif tok.type == "tr_open":
            row, row_line = [], line
        elif tok.type == "inline" and row is not None:
            row.append(tok.content)
        elif tok.type == "tr_close" and row is not None:
            blocks.append(_Block("row", " | ".join(row), row_line, cells=tuple(row)))
            row = None
    return blocks


# --- small text helpers --------------------------------------------------------------------


def _plain(text: str) -> str:
    """Inline markdown without bold markers, on one line (code spans and links kept)."""
    return " ".join(re.sub(r"(\*\*|__)(.+?)\1", r"\2", text, flags=re.S).split())


def _norm_heading(text: str) -> str:
    """Heading text reduced for matching: no numbering, emphasis, parentheticals, or symbols."""
    s = _plain(text).replace("\ufffd", " ")
    s = re.sub(r"\*?\([^)]*\)\*?", " ", s)
    s = re.sub(r"^[\W_]+", "", s)
    s = _NUMBERING.sub("", s)
    return " ".join(s.rstrip(" :.*_").lower().split())


def _classify(norm: str) -> _Context:
    if re.search(r"\bnon[- ]?functional\b", norm):
        return "nfr"
    if "success criteria" in norm or "measurable outcome" in norm:
        return "success"
    if "acceptance scenario" in norm:
        return "scenarios"
    if "acceptance criteria" in norm:
        return "criteria"
    if "edge case" in norm:
        return "edge"
    if re.search(r"\bentit(?:y|ies)\b|\bglossary\b", norm):
        return "entities"
    if "assumption" in norm or "dependenc" in norm:
        return "assumptions"
    if "requirement" in norm:
        return "requirements"
    if norm in ("introduction", "overview", "summary", "purpose", "background", "description"):
        return "intro"
    if norm in ("why", "motivation"):
        return "why"
    if norm.startswith("impact"):
        return "impact"
    return "other"


def _bare_id(text: str) -> tuple[str, str] | None:
    """A heading that is only an ID, or an ID and a title: `FR-001`, `FR-001 Export`."""
    m = re.fullmatch(rf"\[?({_ID})\]?(?:\s+(.*))?", text)
    return (m.group(1), m.group(2) or "") if m else None


def _kebab(name: str) -> str:
    return re.sub(r"[\W_]+", "-", name.lower()).strip("-")


def _ears(text: str) -> EarsKind | None:
    t = text.lstrip("*_ ")
    for keyword, kind in _EARS_OPENERS.items():
        if re.match(rf"{keyword}\b", t, re.I):
            return kind
    return "ubiquitous" if re.search(r"\bshall\b", t, re.I) else None


def _first_sentence(text: str) -> str:
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()


def _first_paragraph(block: str) -> str:
    for chunk in re.split(r"\n\s*\n", block):
        if chunk.strip():
            return " ".join(chunk.split())
    return ""


def _paths_in(text: str, bare: bool) -> list[str]:
    """Repository-relative file paths named in code spans, link targets and (if bare) prose."""
    found: list[tuple[int, str]] = []
    for m in [*_CODE_SPAN.finditer(text), *_LINK_TARGET.finditer(text)]:
        target = re.sub(r"(?:#L?\d.*|:\d+(?:-\d+)?)$", "", m.group(1).strip())
        path = _PATH.fullmatch(target)
        if path and _is_repo_path(path.group(1)):
            found.append((m.start(), path.group(1)))
    if bare:
        found.extend(
            (m.start(), m.group(1)) for m in _BARE_PATH.finditer(text) if _is_repo_path(m.group(1))
        )
    return [path for _, path in sorted(found)]


def _is_repo_path(path: str) -> bool:
    return ".." not in path.split("/") and not path.startswith("/")


def _language(texts: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    latin = 0
    seen = 0
    for text in texts:
        for ch in _CODE_SPAN.sub(" ", text):
            if not ch.isalpha():
                continue
            code = ord(ch)
            if code < 0x250:
                latin += 1
            else:
                script = next(
                    (lang for lang, ranges in _SCRIPTS if any(a <= code <= b for a, b in ranges)),
                    None,
                )
                if script:
                    counts[script] = counts.get(script, 0) + 1
        seen += len(text)
        if seen > _LANGUAGE_SAMPLE:
            break
    other = sum(counts.values())
    if not other or other < 0.3 * (other + latin):
        return "en"
    # Japanese mixes kanji with kana; any real share of kana means Japanese, not Chinese.
    if counts.get("ja", 0) >= 0.05 * other:
        return "ja"
    return max(sorted(counts), key=lambda lang: counts[lang])


# --- blocks → Spec -------------------------------------------------------------------------


@dataclass
class _StoryDraft:
    id: str
    title: str
    priority: str | None
    line: int
    level: int
    text: str = ""
    scenarios: int = 0
    criteria: int = 0


@dataclass
class _ScenarioDraft:
    id: str
    story_id: str | None
    text: str
    line: int
    level: int
    clauses: dict[str, list[str]] = field(default_factory=dict)
    last: str | None = None

    def add(self, keyword: str, text: str) -> None:
        key = keyword.lower()
        if key in ("and", "but"):
            key = self.last or "given"
        self.clauses.setdefault(key, []).append(text)
        self.last = key

    def extend(self, text: str) -> None:
        """A nested bullet under a clause continues that clause ("includes: a, b")."""
        if self.last is None:
            return
        clause = self.clauses[self.last]
        clause[-1] += (" " if clause[-1].endswith(":") else ", ") + text

    def freeze(self) -> Scenario:
        def clause(key: str) -> str | None:
            return "; ".join(self.clauses[key]) if key in self.clauses else None

        return Scenario(
            id=self.id,
            story_id=self.story_id,
            text=self.text,
            given=clause("given"),
            when=clause("when"),
            then=clause("then"),
            line=self.line,
        )


@dataclass
class _Affected:
    """What a proposal says about its delta specs."""

    is_change: bool = False  # has the OpenSpec change sections (Why / What Changes)
    capability: str | None = None  # from "Affected specs: `embedding-jobs`"


@dataclass
class _OpenReq:
    id: str
    level: int
    title: str  # prefixed to the body text; "" for OpenSpec, whose heading is only a name
    scenarios: int = 0
    has_text: bool = False


class _Extractor:
    def __init__(self, blocks: list[_Block], path: Path, capability: str | None) -> None:
        self.blocks = blocks
        self.path = path
        self.capability = capability or path.parent.name or "spec"
        self.requirements: dict[str, Requirement] = {}
        self.stories: dict[str, _StoryDraft] = {}
        self.scenarios: list[_ScenarioDraft] = []
        self.entities: dict[str, Entity] = {}
        self.edge_cases: list[EdgeCase] = []
        self.clarifications: list[Clarification] = []
        self.assumptions: list[str] = []
        self.named_paths: dict[str, None] = {}
        self.meta: dict[str, str] = {}
        self.affected = _Affected()
        self.h1: str | None = None
        self.summaries: dict[str, str] = {}  # "input" / "why" / "intro" / "first" → text
        # walking state
        self.context: _Context = "other"
        self.boilerplate_level: int | None = None
        self.story: _StoryDraft | None = None
        self.delta: DeltaKind | None = None
        self.delta_level = 0
        self.open_req: _OpenReq | None = None
        self.open_scenario: _ScenarioDraft | None = None
        self.seen_h2 = False
        self.awaiting_input = False
        self.rename_from: str | None = None
        self.nfr_count = 0
        norms = {_norm_heading(b.text) for b in blocks if b.kind == "heading"}
        plains = [_plain(b.text) for b in blocks if b.kind == "heading"]
        self.affected.is_change = "why" in norms and "what changes" in norms
        self.openspec = self.affected.is_change or any(
            _DELTA.match(p) or _OPENSPEC_REQ.match(p) for p in plains
        )
        self.kiro = not self.openspec and (
            "requirements document" in norms or any(_KIRO_STORY.match(p) for p in plains)
        )

    # -- walk

    def run(self) -> None:
        for block in self.blocks:
            if block.kind == "heading":
                self._heading(block)
                continue
            if self.boilerplate_level is not None:
                continue
            if block.kind == "fence":
                if self.awaiting_input:
                    self.summaries.setdefault("input", _first_paragraph(block.text))
                    self.awaiting_input = False
                continue
            if self.awaiting_input:
                self.awaiting_input = False
                if block.kind == "para":
                    self.summaries.setdefault("input", _plain(block.text))
            if block.kind == "item":
                self._item(block)
            elif block.kind == "para":
                self._para(block)
            else:
                self._row(block)
            for path in _paths_in(block.text, bare=self.context == "impact"):
                self.named_paths.setdefault(path, None)

    def _heading(self, block: _Block) -> None:
        level, plain, norm = block.level, _plain(block.text), _norm_heading(block.text)
        self.awaiting_input = False
        if self.boilerplate_level is not None and level <= self.boilerplate_level:
            self.boilerplate_level = None
        if self.story and level <= self.story.level:
            self.story = None
        if self.delta and level <= self.delta_level:
            self.delta = None
        if self.open_req and level <= self.open_req.level:
            self.open_req = None
        if self.open_scenario and level <= self.open_scenario.level:
            self.open_scenario = None
        if level == 2:
            self.seen_h2 = True
        if level == 1 and self.h1 is None:
            self.h1 = plain
            self.context = "other"
            return
        if self.boilerplate_level is not None:
            return
        if norm.startswith(_BOILERPLATE):
            self.boilerplate_level = level
            return
        parent, self.context = self.context, "other"
        if m := _DELTA.match(plain):
            self.delta = _DELTA_KINDS[m.group(1).upper()]
            self.delta_level = level
            self.context = "delta"
        elif self.openspec and (m := _OPENSPEC_REQ.match(plain)):
            name = m.group(1).strip()
            self._open_requirement(f"{self.capability}:{_kebab(name)}", name, block)
        elif self.open_req and (m := _OPENSPEC_SCENARIO.match(plain)):
            self.open_req.scenarios += 1
            self.open_scenario = _ScenarioDraft(
                id=f"{self.open_req.id}#{self.open_req.scenarios}",
                story_id=None,
                text=m.group(1).strip(),
                line=block.line,
                level=level,
            )
            self.scenarios.append(self.open_scenario)
            self.context = "oscenario"
        elif self.kiro and (m := _KIRO_STORY.match(plain)):
            self._start_story(f"R{m.group(1)}", m.group(2).strip(), None, block)
        elif (m := _STORY.match(plain)) and (m.group(1) or m.group(2)):
            number = m.group(1) or self._next_story_number()
            self._start_story(f"US{number}", m.group(3), m.group(4), block)
        elif (found := self._match_id(plain) or _bare_id(plain)) and self._accepts(
            found[0], parent
        ):
            self.context = parent
            self._open_requirement(found[0], found[1], block)
        elif norm == "primary user story":
            self._start_story("US1", plain, None, block)
        else:
            self.context = _classify(norm)

    def _next_story_number(self) -> str:
        numbers = [int(s[2:]) for s in self.stories if s.startswith("US") and s[2:].isdigit()]
        return str(max(numbers, default=0) + 1)

    def _start_story(self, sid: str, title: str, priority: str | None, block: _Block) -> None:
        self.context = "story"
        if sid in self.stories:
            return
        self.story = _StoryDraft(
            sid, title, priority.upper() if priority else None, block.line, min(block.level, 6)
        )
        self.stories[sid] = self.story

    def _open_requirement(self, rid: str, title: str, block: _Block) -> None:
        """A requirement that is a heading (`### Requirement: Name`, `### FR-001: Title`)."""
        if ":" in rid:
            requirement = Requirement(
                id=rid, kind="functional", text=title, line=block.line, delta=self.delta
            )
        else:
            requirement = self._make_requirement(rid, title, block.line)
        self.open_req = _OpenReq(rid, block.level, title if ":" not in rid else "")
        self.context = "oreq"
        self._add_requirement(requirement)

    # -- paragraphs, items, table rows

    def _para(self, block: _Block) -> None:
        if not self.seen_h2 and self._metadata(block):
            return
        text = _plain(block.text)
        label = _LABEL.match(block.text)
        name = label.group(2).strip().lower() if label else ""
        if self.story and label and name == "priority":
            priority = re.search(r"\bP\d+\b", label.group(3), re.I)
            if priority and self.story.priority is None:
                self.story.priority = priority.group(0).upper()
        elif self.story and not self.story.text:
            if label is None:
                self.story.text = text
            elif name in _USER_STORY_LABELS:
                self.story.text = _plain(label.group(3))
        if self.open_req and not self.open_req.has_text and self.context == "oreq":
            self.open_req.has_text = True
            title = self.open_req.title
            self._set_text(self.open_req.id, f"{title}: {text}" if title else text)
        if self.open_scenario:
            for line in block.text.splitlines():
                self._clause(_plain(line))
        if self.context in ("intro", "why"):
            self.summaries.setdefault(self.context, text)
        if not self._requirement_lines(block) and self.context in ("other", "requirements"):
            self.summaries.setdefault("first", text)

    def _metadata(self, block: _Block) -> bool:
        """Read a `**Key**: value` block above the first H2 (spec-kit's Created / Input)."""
        fields: list[tuple[str, str]] = []
        for line in block.text.splitlines():
            m = _META_LINE.match(line)
            if m is None:
                return False
            fields.append((m.group(2).strip().lower(), m.group(3).strip()))
        for key, value in fields:
            self.meta.setdefault(key, value)
            if key == "input":
                value = re.sub(r"^User description:\s*", "", value, flags=re.I)
                value = value.strip().strip("\"'“”").strip()
                if value:
                    self.summaries.setdefault("input", value)
                else:
                    self.awaiting_input = True
        return bool(fields)

    def _item(self, block: _Block) -> None:
        text = _plain(block.text)
        rid = self._requirement_item(block) or self._section_item(block, text)
        if self.openspec and (m := _AFFECTED_SPECS.search(text)) and not self.affected.capability:
            spans = _CODE_SPAN.findall(m.group(1))
            words = re.findall(r"[\w-]+", m.group(1))
            self.affected.capability = (spans or words or [None])[0]
        self._scan_clarifications(block, [(0, rid)] if rid else [])

    def _section_item(self, block: _Block, text: str) -> str | None:
        """A list item without an ID, read by the section it sits in; returns an ID it made."""
        top = block.depth == 1
        if self.open_scenario:
            if not self._clause(text):
                self.open_scenario.extend(text)
        elif self.context == "criteria" and self.story and self.story.id.startswith("R") and top:
            return self._criterion(self.story, block, text)
        elif self.context == "nfr" and self.kiro and top:
            self.nfr_count += 1
            rid = f"NFR-{self.nfr_count}"
            self._add_requirement(
                Requirement(
                    id=rid, kind="non_functional", text=text, line=block.line, ears=_ears(text)
                )
            )
            return rid
        elif self.context == "scenarios" and top:
            self._story_scenario(block)
        elif self.context == "entities" and top:
            self._entity(block)
        elif self.context == "edge" and top:
            self.edge_cases.append(
                EdgeCase(id=f"EC{len(self.edge_cases) + 1}", text=text, line=block.line)
            )
        elif self.context == "assumptions" and top:
            self.assumptions.append(text)
        elif self.delta == "renamed":
            self._rename(block, text)
        return None

    def _row(self, block: _Block) -> None:
        if len(block.cells) < 2:
            return
        first = _plain(block.cells[0]).strip("`[] ")
        if re.fullmatch(_ID, first) and self._accepts(first):
            text = _plain(" — ".join(c for c in block.cells[1:] if c.strip()))
            self._add_requirement(self._make_requirement(first, text, block.line))
            self._scan_clarifications(block, [(0, first)])
        else:
            self._scan_clarifications(block, [])

    # -- requirements

    def _accepts(self, rid: str, context: _Context | None = None) -> bool:
        """An ID-looking label is a requirement if its prefix says so or its section does."""
        segments = rid.split("-")
        return (
            segments[0] in _KIND_BY_PREFIX
            or "REQ" in segments
            or (context or self.context) in ("requirements", "nfr", "success")
        )

    def _make_requirement(self, rid: str, text: str, line: int) -> Requirement:
        kind = _KIND_BY_PREFIX.get(rid.split("-")[0]) or _KIND_BY_CONTEXT.get(
            self.context, "design"
        )
        maps = _MAPS_TO.search(text)
        return Requirement(
            id=rid,
            kind=kind,
            text=text,
            line=line,
            story_id=self.story.id if self.story and self.kiro else None,
            ears=_ears(text) if self.kiro else None,
            delta=self.delta,
            maps_to=tuple(dict.fromkeys(_ID_ANYWHERE.findall(maps.group(1)))) if maps else (),
        )

    def _match_id(self, text: str) -> tuple[str, str] | None:
        m = _BOLD_ID.match(text)
        if m:
            return m.group(2), m.group(4)
        m = _PLAIN_ID.match(text)
        if m:
            return m.group(1), m.group(3)
        return None

    def _requirement_item(self, block: _Block) -> str | None:
        found = self._match_id(block.text.strip())
        if found is None or not self._accepts(found[0]):
            return None
        self._add_requirement(self._make_requirement(found[0], _plain(found[1]), block.line))
        return found[0]

    def _requirement_lines(self, block: _Block) -> bool:
        """A paragraph may hold several `**FR-001**: …` lines, each its own requirement."""
        spans: list[tuple[int, str]] = []
        current: tuple[int, str, list[str]] | None = None
        pending: list[tuple[int, str, list[str]]] = []
        for offset, line in enumerate(block.text.splitlines()):
            found = self._match_id(line.strip())
            if found and self._accepts(found[0]):
                current = (offset, found[0], [found[1]])
                pending.append(current)
                spans.append((offset, found[0]))
            elif current is not None:
                current[2].append(line)
        for offset, rid, lines in pending:
            text = _plain("\n".join(lines))
            self._add_requirement(self._make_requirement(rid, text, block.line + offset))
        self._scan_clarifications(block, spans)
        return bool(pending)

    def _criterion(self, story: _StoryDraft, block: _Block, text: str) -> str:
        story.criteria += 1
        rid = f"{story.id}.{story.criteria}"
        self._add_requirement(
            Requirement(
                id=rid,
                kind="functional",
                text=text,
                line=block.line,
                story_id=story.id,
                ears=_ears(text),
            )
        )
        return rid

    def _add_requirement(self, requirement: Requirement) -> None:
        self.requirements.setdefault(requirement.id, requirement)

    def _set_text(self, rid: str, text: str) -> None:
        requirement = self.requirements[rid]
        self.requirements[rid] = requirement.model_copy(update={"text": text})

    def _rename(self, block: _Block, text: str) -> None:
        m = _RENAME.match(text)
        if m is None:
            return
        name = m.group(2).strip()
        if m.group(1).upper() == "FROM":
            self.rename_from = name
            return
        rid = f"{self.capability}:{_kebab(name)}"
        old = f" (was {self.rename_from})" if self.rename_from else ""
        self._add_requirement(
            Requirement(
                id=rid, kind="functional", text=f"{name}{old}", line=block.line, delta="renamed"
            )
        )
        self.rename_from = None

    # -- stories, scenarios, entities

    def _story_scenario(self, block: _Block) -> None:
        # Early spec-kit puts "### Acceptance Scenarios" beside, not under, the primary story.
        story = self.story or (list(self.stories.values())[-1] if self.stories else None)
        if story:
            story.scenarios += 1
            sid, number = story.id, story.scenarios
        else:
            sid, number = "US1", 1 + sum(1 for s in self.scenarios if s.story_id == "US1")
        draft = _ScenarioDraft(
            id=f"{sid}.{number}", story_id=sid, text=_plain(block.text), line=block.line, level=7
        )
        marks = list(_GWT_BOLD.finditer(block.text))
        if marks:
            keywords = [(m.group(2), m.start(), m.end()) for m in marks]
        else:
            keywords = [(m.group(1), m.start(), m.end()) for m in _GWT_PLAIN.finditer(block.text)]
        for i, (keyword, _, end) in enumerate(keywords):
            stop = keywords[i + 1][1] if i + 1 < len(keywords) else len(block.text)
            clause = _plain(block.text[end:stop]).strip(" ,;")
            if clause:
                draft.add(keyword, clause)
        self.scenarios.append(draft)

    def _clause(self, text: str) -> bool:
        m = _CLAUSE.match(text)
        if m is None or self.open_scenario is None:
            return False
        self.open_scenario.add(m.group(1), m.group(2).strip())
        return True

    def _entity(self, block: _Block) -> None:
        m = _LABEL.match(block.text.strip())
        if m:
            name, description = m.group(2).strip(), _plain(m.group(3)).lstrip(":—–- ")
        else:
            name, _, description = _plain(block.text).partition(":")
            if not description:
                return
        self.entities.setdefault(
            name, Entity(name=name, description=description.strip(), line=block.line)
        )

    def _scan_clarifications(self, block: _Block, spans: list[tuple[int, str]]) -> None:
        for m in _CLARIFICATION.finditer(block.text):
            offset = block.text.count("\n", 0, m.start())
            owner = None
            for start, rid in spans:
                if start <= offset:
                    owner = rid
            self.clarifications.append(
                Clarification(
                    text=" ".join(m.group(1).split()),
                    line=block.line + offset,
                    requirement_id=owner,
                )
            )

    # -- result

    def title(self) -> str:
        if self.h1 and _norm_heading(self.h1) != "requirements document":
            title = _TITLE_PREFIX.sub("", self.h1).strip()
            if title:
                return title
        intro = self.summaries.get("intro")
        if intro:
            sentence = _first_sentence(intro)
            if m := _SUBJECT.match(sentence):
                return m.group(1).strip()
            # Japanese: "…を提供するMCPサーバーです。" names the subject before the copula.
            m = re.fullmatch(r"(.{2,60}?)(?:です|である)。?", sentence)
            if m:
                return m.group(1)
        if self.path.name.lower() in _SPEC_FILE_NAMES and self.path.parent.name:
            return self.path.parent.name
        return self.path.stem

    def spec_format(self) -> SpecFormat:
        if self.openspec:
            return "openspec"
        if self.kiro:
            return "kiro"
        spec_kit = (
            (self.h1 is not None and self.h1.lower().startswith("feature specification"))
            or "feature branch" in self.meta
            or any(s.startswith("US") for s in self.stories)
        )
        return "spec-kit" if spec_kit else "generic"

    def build(self) -> Spec:
        stories = tuple(
            UserStory(
                id=s.id,
                title=s.title or _story_title(s.text),
                priority=s.priority,
                text=s.text,
                line=s.line,
            )
            for s in self.stories.values()
        )
        scenarios = tuple(
            d.freeze()
            if d.story_id is None or d.story_id in self.stories
            else d.freeze().model_copy(update={"story_id": None})
            for d in self.scenarios
        )
        created = self.meta.get("created")
        if created and (m := _DATE.search(created)):
            created = m.group(0)
        summary = next(
            (
                self.summaries[k]
                for k in ("input", "why", "intro", "first")
                if self.summaries.get(k)
            ),
            "",
        )
        prose = (b.text for b in self.blocks if b.kind != "fence")
        return Spec(
            path=self.path,
            format=self.spec_format(),
            language=_language(prose),
            title=self.title(),
            summary=summary or self.title(),
            created=created or None,
            requirements=tuple(self.requirements.values()),
            stories=stories,
            scenarios=scenarios,
            entities=tuple(self.entities.values()),
            edge_cases=tuple(self.edge_cases),
            clarifications=tuple(self.clarifications),
            assumptions=tuple(self.assumptions),
            named_paths=tuple(self.named_paths),
        )


def _story_title(text: str) -> str:
    """A short title from a user-story sentence ("I want to X, so that …" → "X")."""
    m = _WANT.search(text)
    title = m.group(1) if m else _first_sentence(text).rstrip("。.")
    title = title.strip()
    return title[:1].upper() + title[1:] if title else ""


def _parse(text: str, path: Path, capability: str | None) -> tuple[Spec, _Affected]:
    extractor = _Extractor(_blocks(text.removeprefix("\ufeff")), path, capability)
    extractor.run()
    return extractor.build(), extractor.affected
