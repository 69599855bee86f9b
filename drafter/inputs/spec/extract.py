"""Blocks → `Spec`: one walk over the blocks, the nearest heading saying what each one is."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from drafter.inputs.spec import words
from drafter.inputs.spec.blocks import Block
from drafter.inputs.spec.model import (
    Clarification,
    DeltaKind,
    EdgeCase,
    Entity,
    Requirement,
    RequirementKind,
    Scenario,
    Spec,
    SpecFormat,
    UserStory,
)
from drafter.inputs.spec.text import (
    BOLD_ID,
    CODE_SPAN,
    ID,
    ID_ANYWHERE,
    LEAD_MARKS,
    PLAIN_ID,
    Context,
    bare_id,
    classify,
    ears,
    first_paragraph,
    first_sentence,
    is_document_type,
    kebab,
    language,
    norm_heading,
    paths_in,
    plain,
    strip_title_prefix,
)

SPEC_FILE_NAMES = {"spec.md", "requirements.md", "proposal.md", "readme.md"}

_MAPS_TO = re.compile(r"\bMaps? to:?\s*(.+?)(?:\.\s|\.?$)", re.S)
_KIND_BY_PREFIX: dict[str, RequirementKind] = {
    "FR": "functional",
    "REQ": "functional",
    "SR": "functional",  # security requirement
    "AC": "functional",  # acceptance criterion
    "UR": "functional",
    "BR": "functional",
    "NFR": "non_functional",
    "QR": "non_functional",
    "SC": "success",
}

_KIND_BY_CONTEXT: dict[str, RequirementKind] = {"nfr": "non_functional", "success": "success"}
_DELTA_KINDS: dict[str, DeltaKind] = {
    "ADDED": "added",
    "MODIFIED": "modified",
    "REMOVED": "removed",
    "RENAMED": "renamed",
}

_TRAILING_ID = re.compile(rf"^(.*?\S)\s*[(（]\s*({ID})\s*[)）]$")
_SECTION_NUMBER = re.compile(r"^\d+(?:\.\d+)*\.?\s+")
_REPEAT_SUFFIXES = "bcdefghijklmnopqrstuvwxyz"
# Inside a Kiro requirement, where numbered lines are its criteria.
_CRITERIA_CONTEXTS = ("criteria", "story", "other")
_CLARIFICATION = re.compile(r"\[NEEDS CLARIFICATION:\s*([^\]]+?)\s*\]")
_LABEL = re.compile(r"^(\*\*|__)([^*_\n]+?)[:：]?\1[:：]?\s*(.*)$", re.S)
_META_LINE = re.compile(r"^\s*(\*\*|__)([^*_\n]+?):?\1:?\s*(.*?)\s*$")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_STORY = re.compile(
    r"^(?:User\s+Story|用户故事|用戶故事|故事|ユーザーストーリー|사용자\s*스토리|Пользовательская\s+история"
    r"|Historia\s+de\s+usuario|História\s+de\s+usuário|US-?(?=\d))\s*(\d+)?\s*([-–—:：.])?\s*(.*?)"
    r"\s*(?:[(\[（]\s*(?:(?:Priority|优先级|優先度|우선순위|Приоритет|Prioridad|Prioridade)\s*[:：]?\s*)?"
    r"(P\d+)\s*[)\]）])?\s*$",
    re.I,
)
# A numbered acceptance criterion written as text, not as a markdown list item: `1.1 …`,
# `1.1. …`, `**1.1** …`, `2) …`; and as a heading inside a requirement: `### 1.1 Title`.
_CRITERION_LINE = re.compile(r"^(?:\*\*|__)?(\d+(?:\.\d+)*)\.?(?:\*\*|__)?[.:：)]?\s+(\S.*)$", re.S)
_CRITERION_HEADING = re.compile(r"^(?:AC[-\s]?)?(\d+)\.(\d+)\.?(?:\s*[:：.—–-]?\s+(.*))?$", re.I)
_WRITTEN_NUMBER = re.compile(r"^(?:(\*\*|__)\d+(?:\.\d+)*\.?\1|\d+(?:\.\d+)+\.?)[.:：)]?\s+")
_OPENSPEC_REQ = re.compile(r"^Requirement\s*[:：]\s*(.+)$", re.I)
_OPENSPEC_SCENARIO = re.compile(r"^Scenario:\s*(.+)$", re.I)
_DELTA = re.compile(r"^(ADDED|MODIFIED|REMOVED|RENAMED)\s+Requirements?\b", re.I)
_RENAME = re.compile(r"^(FROM|TO)\s*:?\s*`?(?:#+\s*)?Requirement:\s*(.+?)`?$", re.I)
_CLAUSE = re.compile(r"^(GIVEN|WHEN|THEN|AND|BUT)\b[:,]?\s*(.*)$", re.I | re.S)
_GWT_BOLD = re.compile(r"(\*\*|__)(given|when|then|and|but)\1", re.I)
_GWT_PLAIN = re.compile(r"\b(Given|When|Then|GIVEN|WHEN|THEN|AND|BUT)\b")
_WANT = re.compile(r"\bI (?:want|need|would like)(?: to)?\s+(.+?)(?:,?\s+so that\b|[.。]|$)", re.I)
_SUBJECT = re.compile(
    r"^(?:The\s+|An?\s+)?(.{2,60}?)\s+(?:is|are|will be|provides|enables|offers|lets|allows)\b"
)
_AFFECTED_SPECS = re.compile(r"Affected\s+specs?\W*(.*)$", re.I | re.S)

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
class Affected:
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


class Extractor:
    """Walks the blocks once; `build()` returns the `Spec`, `affected` what a proposal says."""

    def __init__(
        self,
        blocks: list[Block],
        path: Path,
        capability: str | None,
        *,
        openspec_layout: bool = False,
        warnings: list[str] | None = None,
    ) -> None:
        self.blocks = blocks
        self.path = path
        self.warnings: list[str] = list(warnings or ())
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
        self.affected = Affected()
        self.h1: str | None = None
        self.summaries: dict[str, str] = {}  # "input" / "why" / "intro" / "first" → text
        # walking state
        self.context: Context = "other"
        self.boilerplate_level: int | None = None
        self.story: _StoryDraft | None = None
        self.last_story: _StoryDraft | None = None
        self.delta: DeltaKind | None = None
        self.delta_level = 0
        self.open_req: _OpenReq | None = None
        self.open_scenario: _ScenarioDraft | None = None
        self.seen_h2 = False
        self.awaiting_input = False
        self.rename_from: str | None = None
        self.nfr_count = 0
        self.criteria_level: int | None = None  # the criteria heading of the open Kiro story
        self.parents: dict[str, str | None] = {}  # requirement ID → story/requirement it is in
        self.enclosing: list[tuple[int, str]] = []  # (level, ID) of requirement headings open
        self.story_repeats: dict[str, list[int]] = {}  # story ID → lines of each heading
        self.id_repeats: dict[str, list[int]] = {}  # requirement ID → lines of each definition
        headings = [b for b in blocks if b.kind == "heading"]
        norms = {norm_heading(b.text) for b in headings}
        plains = [plain(b.text) for b in headings]
        self.affected.is_change = openspec_layout or ("why" in norms and "what changes" in norms)
        self.openspec = self.affected.is_change or any(
            _DELTA.match(p) or _OPENSPEC_REQ.match(p) for p in plains
        )
        self.kiro = not self.openspec and (
            any(is_document_type(norm_heading(b.text)) for b in headings if b.level == 1)
            or any(words.KIRO_REQUIREMENT.match(p) for p in plains)
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
                    self.summaries.setdefault("input", first_paragraph(block.text))
                    self.awaiting_input = False
                continue
            if self.awaiting_input:
                self.awaiting_input = False
                if block.kind == "para":
                    self.summaries.setdefault("input", plain(block.text))
            if block.kind == "item":
                self._item(block)
            elif block.kind == "para":
                self._para(block)
            else:
                self._row(block)
            for path in paths_in(block.text, bare=self.context == "impact"):
                self.named_paths.setdefault(path, None)

    def _heading(self, block: Block) -> None:
        level, text, norm = block.level, plain(block.text), norm_heading(block.text)
        self.awaiting_input = False
        if self.boilerplate_level is not None and level <= self.boilerplate_level:
            self.boilerplate_level = None
        if self.story and level <= self.story.level:
            self.story = None
        if self.criteria_level is not None and (self.story is None or level <= self.criteria_level):
            self.criteria_level = None
        if self.delta and level <= self.delta_level:
            self.delta = None
        if self.open_req and level <= self.open_req.level:
            self.open_req = None
        while self.enclosing and level <= self.enclosing[-1][0]:
            self.enclosing.pop()
        if self.open_scenario and level <= self.open_scenario.level:
            self.open_scenario = None
        if level == 2:
            self.seen_h2 = True
        if level == 1 and self.h1 is None:
            self.h1 = text
            self.context = "other"
            return
        if self.boilerplate_level is not None:
            return
        if norm.startswith(_BOILERPLATE):
            self.boilerplate_level = level
            return
        parent, self.context = self.context, "other"
        criterion = _CRITERION_HEADING.match(text) if self.kiro else None
        if criterion and self._criterion_heading(criterion, block):
            return
        if m := _DELTA.match(text):
            self.delta = _DELTA_KINDS[m.group(1).upper()]
            self.delta_level = level
            self.context = "delta"
        elif self.openspec and (m := _OPENSPEC_REQ.match(text)):
            name = m.group(1).strip()
            self._open_requirement(f"{self.capability}:{kebab(name)}", name, block)
        elif self.open_req and (m := _OPENSPEC_SCENARIO.match(text)):
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
        elif self.kiro and (m := words.KIRO_REQUIREMENT.match(text)):
            self._start_story(f"R{int(m.group(1))}", m.group(2).strip(), None, block)
        elif (m := _STORY.match(text)) and (m.group(1) or m.group(2)):
            number = m.group(1) or self._next_story_number()
            self._start_story(f"US{number}", m.group(3), m.group(4), block)
        elif (
            found := self._match_id(text) or bare_id(text) or _trailing_id(text)
        ) and self._accepts(found[0], parent):
            self.context = parent
            self._open_requirement(found[0], found[1], block)
        elif norm == "primary user story":
            self._start_story("US1", text, None, block)
        else:
            self.context = classify(norm)
            if self.context == "criteria" and self.story is not None:
                self.criteria_level = level
            elif self.criteria_level is not None and self.context == "other":
                # `##### Upload` inside the criteria: a group of criteria, still criteria.
                self.context = "criteria"

    def _criterion_heading(self, m: re.Match[str], block: Block) -> bool:
        """`### 1.1 Title` inside Kiro's `## Requirement 1`: criterion 1.1 as a heading."""
        story = self.last_story
        if story is None or not re.fullmatch(rf"R{int(m.group(1))}[a-z]?", story.id):
            return False
        self.story = story
        title = (m.group(3) or "").strip()
        rid = self._criterion(story, block, title)
        self.open_req = _OpenReq(rid, block.level, title)
        self.context = "oreq"
        return True

    def _next_story_number(self) -> str:
        numbers = [int(s[2:]) for s in self.stories if s.startswith("US") and s[2:].isdigit()]
        return str(max(numbers, default=0) + 1)

    def _start_story(self, sid: str, title: str, priority: str | None, block: Block) -> None:
        self.context = "story"
        if sid in self.stories:
            # Kept, under a stable ID of its own: R31b for the second `Requirement 31`.
            repeats = self.story_repeats.setdefault(sid, [self.stories[sid].line])
            repeats.append(block.line)
            if len(repeats) > len(_REPEAT_SUFFIXES) + 1:
                return
            sid += _REPEAT_SUFFIXES[len(repeats) - 2]
        self.story = _StoryDraft(
            sid, title, priority.upper() if priority else None, block.line, min(block.level, 6)
        )
        self.stories[sid] = self.last_story = self.story

    def _open_requirement(self, rid: str, title: str, block: Block) -> None:
        """A requirement that is a heading (`### Requirement: Name`, `### FR-001: Title`)."""
        if ":" in rid:
            requirement = Requirement(
                id=rid, kind="functional", text=title, line=block.line, delta=self.delta
            )
        else:
            requirement = self._make_requirement(rid, title, block.line)
        rid = self._add_requirement(requirement)
        # A repeated heading must not overwrite the text of the first one.
        repeat = self.requirements[rid].line != block.line
        self.open_req = _OpenReq(rid, block.level, "" if ":" in rid else title, has_text=repeat)
        self.context = "oreq"
        self.enclosing.append((block.level, rid))

    # -- paragraphs, items, table rows

    def _para(self, block: Block) -> None:
        if not self.seen_h2 and self._metadata(block):
            return
        text = plain(block.text)
        label = _LABEL.match(block.text)
        name = label.group(2).strip().lower() if label else ""
        if self.story and label and name == "priority":
            priority = re.search(r"\bP\d+\b", label.group(3), re.I)
            if priority and self.story.priority is None:
                self.story.priority = priority.group(0).upper()
        elif self.story and not self.story.text:
            if label is None:
                self.story.text = text
            elif name in words.USER_STORY_LABELS:
                self.story.text = plain(label.group(3))
        if self.open_req and not self.open_req.has_text and self.context == "oreq":
            self.open_req.has_text = True
            title = self.open_req.title
            self._set_text(self.open_req.id, f"{title}: {text}" if title else text)
        if self.open_scenario:
            for line in block.text.splitlines():
                self._clause(plain(line))
        if self.context in ("intro", "why"):
            self.summaries.setdefault(self.context, text)
        if self._requirement_lines(block) or self._criterion_lines(block):
            return
        if self.context in ("other", "requirements"):
            self.summaries.setdefault("first", text)

    def _metadata(self, block: Block) -> bool:
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

    def _item(self, block: Block) -> None:
        text = plain(block.text)
        rid = self._requirement_item(block) or self._section_item(block, text)
        if self.openspec and (m := _AFFECTED_SPECS.search(text)) and not self.affected.capability:
            spans = CODE_SPAN.findall(m.group(1))
            names = re.findall(r"[\w-]+", m.group(1))
            self.affected.capability = (spans or names or [None])[0]
        self._scan_clarifications(block, [(0, rid)] if rid else [])

    def _section_item(self, block: Block, text: str) -> str | None:
        """A list item without an ID, read by the section it sits in; returns an ID it made."""
        top = block.depth == 1
        if self.open_scenario:
            if not self._clause(text):
                self.open_scenario.extend(text)
        elif self._in_criteria(block) and self.story and top:
            return self._criterion(self.story, block, _criterion_text(text))
        elif self.context == "criteria" and self.story and top:
            # Acceptance criteria of a user story (`### 故事1` … `#### 验收标准`): its scenarios.
            self._story_scenario(block)
        elif self.context == "nfr" and self.kiro and top and self.open_req is None:
            self.nfr_count += 1
            rid = f"NFR-{self.nfr_count}"
            self._add_requirement(
                Requirement(
                    id=rid, kind="non_functional", text=text, line=block.line, ears=ears(text)
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

    def _in_criteria(self, block: Block) -> bool:
        """Inside a Kiro requirement, under its criteria heading (in any language) or, whatever
        the sub-heading says, in a numbered list."""
        if self.story is None or not self.story.id.startswith("R"):
            return False
        return self.context == "criteria" or (
            block.ordered and self.context in ("story", "other", "requirements")
        )

    def _row(self, block: Block) -> None:
        """A table row defines a requirement when its first cell (or the second, after a row
        number) is an ID: `| FR-006 | … |`, `| 3 | **SR-002** | … |`."""
        if len(block.cells) < 2:
            return
        cells = [plain(c).strip("`[] ") for c in block.cells]
        at = 1 if len(cells) > 2 and re.fullmatch(r"\d*\.?", cells[0]) else 0
        rid = cells[at]
        if re.fullmatch(ID, rid) and self._accepts(rid):
            text = plain(" — ".join(c for c in block.cells[at + 1 :] if c.strip()))
            self._add_requirement(self._make_requirement(rid, text, block.line), row=True)
            self._scan_clarifications(block, [(0, rid)])
        else:
            self._scan_clarifications(block, [])

    # -- requirements

    def _accepts(self, rid: str, context: Context | None = None) -> bool:
        """An ID-looking label is a requirement if its prefix says so or its section does."""
        return (
            _prefix(rid) in _KIND_BY_PREFIX
            or "REQ" in rid.split("-")
            or (context or self.context) in ("requirements", "nfr", "success", "criteria")
        )

    def _make_requirement(self, rid: str, text: str, line: int) -> Requirement:
        kind = _KIND_BY_PREFIX.get(_prefix(rid)) or _KIND_BY_CONTEXT.get(self.context, "design")
        maps = _MAPS_TO.search(text)
        return Requirement(
            id=rid,
            kind=kind,
            text=text,
            line=line,
            story_id=self.story.id if self.story and self.kiro else None,
            ears=ears(text) if self.kiro else None,
            delta=self.delta,
            maps_to=tuple(dict.fromkeys(ID_ANYWHERE.findall(maps.group(1)))) if maps else (),
        )

    def _match_id(self, text: str) -> tuple[str, str] | None:
        text = LEAD_MARKS.sub("", text)
        # A note beside the ID ("SC-006 (deferred to v2)") says something about it: kept.
        if m := BOLD_ID.match(text):
            note = m.group(3) or m.group(4)
            return m.group(2), f"{m.group(5)} ({note.strip()})" if note else m.group(5)
        if m := PLAIN_ID.match(text):
            return m.group(1), f"{m.group(3)} ({m.group(2).strip()})" if m.group(2) else m.group(3)
        return None

    def _requirement_item(self, block: Block) -> str | None:
        found = self._match_id(block.text.strip())
        if found is None or not self._accepts(found[0]):
            return None
        return self._add_requirement(self._make_requirement(found[0], plain(found[1]), block.line))

    def _requirement_lines(self, block: Block) -> bool:
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
            text = plain("\n".join(lines))
            self._add_requirement(self._make_requirement(rid, text, block.line + offset))
        self._scan_clarifications(block, spans)
        return bool(pending)

    def _criterion_lines(self, block: Block) -> bool:
        """Criteria written as numbered lines of a paragraph (`1.1 …`, `**1.2** …`), which
        markdown does not make list items; continuation lines belong to the one above."""
        story = self.story
        if story is None or not story.id.startswith("R") or self.context not in _CRITERIA_CONTEXTS:
            return False
        number = story.id[1:].rstrip(_REPEAT_SUFFIXES)
        found: list[tuple[int, list[str]]] = []
        for offset, line in enumerate(block.text.splitlines()):
            m = _CRITERION_LINE.match(LEAD_MARKS.sub("", line.strip()))
            # Outside a criteria heading only `N.M` under requirement N counts ("2024 年" not).
            if m and (self.context == "criteria" or m.group(1).startswith(f"{number}.")):
                found.append((offset, [m.group(2)]))
            elif found:
                found[-1][1].append(line)
        for offset, lines in found:
            self._criterion(story, block, plain("\n".join(lines)), block.line + offset)
        return bool(found)

    def _criterion(
        self, story: _StoryDraft, block: Block, text: str, line: int | None = None
    ) -> str:
        """Criterion n of requirement N is `RN.n`, counted in document order: criteria in
        groups that each restart at 1 still get distinct IDs."""
        story.criteria += 1
        return self._add_requirement(
            Requirement(
                id=f"{story.id}.{story.criteria}",
                kind="functional",
                text=text,
                line=line or block.line,
                story_id=story.id,
                ears=ears(text),
            )
        )

    def _add_requirement(self, requirement: Requirement, *, row: bool = False) -> str:
        """Add a requirement under its ID; returns the ID it got.

        An author ID written again inside another requirement (`AC-1` under each Kiro
        requirement) is that requirement's own: it becomes `R2/AC-1`. Written again anywhere
        else, the first one stands and the repeat is reported (a summary table repeating IDs
        is not a repeat).
        """
        rid = requirement.id
        parent = requirement.story_id or (self.enclosing[-1][1] if self.enclosing else None)
        existing = self.requirements.get(rid)
        if existing is None:
            self.requirements[rid] = requirement
            self.parents[rid] = parent
            return rid
        if parent is not None and self.parents.get(rid) not in (None, parent):
            scoped = f"{parent}/{rid}"
            if scoped not in self.requirements:
                self.requirements[scoped] = requirement.model_copy(update={"id": scoped})
                self.parents[scoped] = parent
                self._warn_once(
                    f"{rid} is used in several requirements; the repeats are named by their "
                    f"requirement ({scoped}, …)"
                )
                return scoped
        if not row:
            self.id_repeats.setdefault(rid, [existing.line]).append(requirement.line)
        return rid

    def _warn_once(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _set_text(self, rid: str, text: str) -> None:
        requirement = self.requirements[rid]
        self.requirements[rid] = requirement.model_copy(update={"text": text})

    def _rename(self, block: Block, text: str) -> None:
        m = _RENAME.match(text)
        if m is None:
            return
        name = m.group(2).strip()
        if m.group(1).upper() == "FROM":
            self.rename_from = name
            return
        rid = f"{self.capability}:{kebab(name)}"
        old = f" (was {self.rename_from})" if self.rename_from else ""
        self._add_requirement(
            Requirement(
                id=rid, kind="functional", text=f"{name}{old}", line=block.line, delta="renamed"
            )
        )
        self.rename_from = None

    # -- stories, scenarios, entities

    def _story_scenario(self, block: Block) -> None:
        # Early spec-kit puts "### Acceptance Scenarios" beside, not under, the primary story.
        story = self.story or (list(self.stories.values())[-1] if self.stories else None)
        if story:
            story.scenarios += 1
            sid, number = story.id, story.scenarios
        else:
            sid, number = "US1", 1 + sum(1 for s in self.scenarios if s.story_id == "US1")
        draft = _ScenarioDraft(
            id=f"{sid}.{number}", story_id=sid, text=plain(block.text), line=block.line, level=7
        )
        marks = list(_GWT_BOLD.finditer(block.text))
        if marks:
            keywords = [(m.group(2), m.start(), m.end()) for m in marks]
        else:
            keywords = [(m.group(1), m.start(), m.end()) for m in _GWT_PLAIN.finditer(block.text)]
        for i, (keyword, _, end) in enumerate(keywords):
            stop = keywords[i + 1][1] if i + 1 < len(keywords) else len(block.text)
            clause = plain(block.text[end:stop]).strip(" ,;")
            if clause:
                draft.add(keyword, clause)
        self.scenarios.append(draft)

    def _clause(self, text: str) -> bool:
        m = _CLAUSE.match(text)
        if m is None or self.open_scenario is None:
            return False
        self.open_scenario.add(m.group(1), m.group(2).strip())
        return True

    def _entity(self, block: Block) -> None:
        m = _LABEL.match(block.text.strip())
        if m:
            name, description = m.group(2).strip(), plain(m.group(3)).lstrip(":—–- ")
        else:
            name, _, description = plain(block.text).replace("：", ":", 1).partition(":")
            if not description:
                return
        self.entities.setdefault(
            name, Entity(name=name, description=description.strip(), line=block.line)
        )

    def _scan_clarifications(self, block: Block, spans: list[tuple[int, str]]) -> None:
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
        if self.h1 and not is_document_type(norm_heading(self.h1)):
            title = strip_title_prefix(self.h1)
            if title:
                return title
        intro = self.summaries.get("intro")
        if intro:
            sentence = first_sentence(intro)
            if m := _SUBJECT.match(sentence):
                return m.group(1).strip()
            # Japanese: "…を提供するMCPサーバーです。" names the subject before the copula.
            m = re.fullmatch(r"(.{2,60}?)(?:です|である)。?", sentence)
            if m:
                return m.group(1)
        if self.path.name.lower() in SPEC_FILE_NAMES and self.path.parent.name:
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

    def _trace_stories(self) -> None:
        """Stories nothing else traces become requirements under their own ID: a Kiro
        requirement without criteria (`R4`), or every user story of a spec whose only IDs (if
        any) are success criteria: something must say what to build."""
        if self.kiro:
            owned = {r.story_id for r in self.requirements.values()}
            untraced = [s for s in self.stories.values() if s.id not in owned]
        elif all(r.kind == "success" for r in self.requirements.values()):
            untraced = list(self.stories.values())
            if untraced:
                self.warnings.append(
                    "no requirement IDs to build from (FR-001…); traced the user stories "
                    f"{', '.join(s.id for s in untraced)} and their scenarios instead"
                )
        else:
            untraced = []
        for story in untraced:
            text = story.text or story.title
            self.requirements[story.id] = Requirement(
                id=story.id,
                kind="functional",
                text=f"{story.title}: {text}" if story.title and story.title != text else text,
                line=story.line,
                story_id=story.id,
                ears=ears(text) if self.kiro else None,
            )

    def _warn_repeats(self) -> None:
        for sid, lines in self.story_repeats.items():
            what = "requirement" if sid.startswith("R") else "user story"
            kept = [f"{sid}{c}" for c in _REPEAT_SUFFIXES[: len(lines) - 1]]
            self.warnings.append(
                f"{what} {sid.lstrip('RUS')} appears {_times(len(lines))} ({_lines(lines)}); "
                f"the repeats got their own IDs ({', '.join(kept)})"
                + (" and the rest were ignored" if len(lines) - 1 > len(kept) else "")
            )
        for rid, lines in self.id_repeats.items():
            self.warnings.append(
                f"{rid} is defined {_times(len(lines))} ({_lines(lines)}); the first is read"
            )

    def build(self) -> Spec:
        self._trace_stories()
        self._warn_repeats()
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
        prose = [b.text for b in self.blocks if b.kind in ("para", "item", "row")]
        headings = [b.text for b in self.blocks if b.kind == "heading"]
        return Spec(
            path=self.path,
            format=self.spec_format(),
            language=language(prose or headings),
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
            warnings=tuple(dict.fromkeys(self.warnings)),
        )


def _story_title(text: str) -> str:
    """A short title from a user-story sentence ("I want to X, so that …" → "X")."""
    m = _WANT.search(text)
    title = m.group(1) if m else first_sentence(text).rstrip("。.")
    title = title.strip()
    return title[:1].upper() + title[1:] if title else ""


def _trailing_id(text: str) -> tuple[str, str] | None:
    """A heading that names its ID last: `### 3.1 Data loading (FR-1)` → FR-1, "Data loading"."""
    m = _TRAILING_ID.match(text)
    return (m.group(2), _SECTION_NUMBER.sub("", m.group(1))) if m else None


def _prefix(rid: str) -> str:
    """`FR` of `FR-001` and of `FR1`; `DOC` of `DOC-REQ-001`."""
    return rid[: len(rid) - len(rid.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))]


def _times(count: int) -> str:
    return "twice" if count == 2 else f"{count} times"


def _lines(lines: list[int]) -> str:
    shown = ", ".join(map(str, lines[:5]))
    return f"lines {shown}" + (", …" if len(lines) > 5 else "")


def _criterion_text(text: str) -> str:
    """A criterion's text without status marks or the number written into it (`1.2 WHEN`)."""
    text = LEAD_MARKS.sub("", text)
    return _WRITTEN_NUMBER.sub("", text, count=1) or text
