"""Read a PLAN.md back into the plan model, for `drafter check` (and later `update`).

drafter's own layout (templates/plan.md.j2) is read line by line: every value the template
writes lands on a line of a known shape, so the read is exact — rendering what was read gives
the same markdown. The Compliance Check section, the Requirement Coverage table and the review
list under Open Issues are computed when rendering, so they are skipped, not read.

A plan in another layout (hand-written, or a seed heading renamed or removed) gives DR001
findings at the lines concerned and no plan. Inside a section, a line that is not in drafter's
layout is reported (DR-READ, a warning) and skipped, so a hand-edited plan is still checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from drafter.checks.report import Finding
from drafter.document import trailer
from drafter.document.layout import SECTION_HEADINGS, headings, outline_problems
from drafter.drafting.messages import all_translations
from drafter.model import plan as p
from drafter.model.sections import BY_NAME

READ_RULE = "DR-READ"
READ_RULE_TITLE = "text outside drafter's plan layout, not read (so not checked)"


class Span(BaseModel):
    """Lines of one section in the file: its heading (1 for the title block) to its last line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heading: str
    start: int
    end: int


class ReadBack(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    plan: p.Plan | None  # None when the outline is not drafter's: see `findings`
    findings: tuple[Finding, ...]
    spans: dict[str, Span]  # plan section names, plus "compliance" and "references"

    def section_at(self, line: int) -> str | None:
        return next((n for n, s in self.spans.items() if s.start <= line <= s.end), None)


# Plan sections in file order, with the Compliance Check (computed) after the goal.
_ORDER: tuple[str, ...] = (
    "goal",
    "compliance",
    *(name for name in SECTION_HEADINGS if name != "goal"),
    "references",
)
_TITLES = {**SECTION_HEADINGS, "compliance": "Compliance Check", "references": "References"}
_FIXED_COMPONENTS = ("database", "api", "testing")  # "### Component N: …" after the code ones

_REVIEW = re.compile(r"^> \*\*Review:\*\* ?(.*)$")
_ID = r"[^\[\],\s]+"
_WITH_IDS = re.compile(rf"^(.*?) \[({_ID}(?:, {_ID})*)\]$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_NUMBERED_BOLD = re.compile(r"^\d+\. \*\*(.*)\*\*$")
_CHECKBOX = re.compile(r"^- \[[ xX]\](?: (.*))?$")

# Template sentences that stand for an empty list: nothing to read (in every language the
# template writes them in).
_PLACEHOLDER_LINES = frozenset(
    translated
    for line in {
        "Not drawn: the spec names no components, actors or external systems to place in a "
        "diagram.",
        "No design pattern is named by the spec or the constitution.",
        "No new tables.",
        "No migrations.",
        "No new external dependencies.",
        "No technology is named by the spec, the constitution or a manifest.",
        "No error case is named by the spec.",
        "No internal dependencies identified.",
        "No prerequisite features.",
        "Not drawn: the spec describes no interaction between participants.",
        "No security-relevant requirement or component was found in the spec.",
        "No numeric performance target is stated in the spec.",
        "None planned until a target is measured.",
        "No manual verification planned.",
        "None.",
        "---",
        "No unit tests planned.",
        "No integration tests planned.",
        "No e2e tests planned.",
    }
    for translated in all_translations(line)
)


def read(text: str) -> ReadBack:
    """Parse a PLAN.md (with or without drafter's trailer) back into a `Plan`."""
    body, _ = trailer.split(text.removeprefix("\ufeff"))
    rows = body.splitlines()
    spans = section_spans(body)
    problems = outline_problems(body)
    if problems or set(spans) != set(_ORDER):
        outline = [
            Finding(rule_id="DR001", severity="error", message=message, line=line)
            for message, line in problems
        ] or [
            Finding(
                rule_id="DR001",
                severity="error",
                message="the seed headings are present but not in an order drafter can read",
                line=1,
            )
        ]
        return ReadBack(plan=None, findings=tuple(outline), spans=spans)
    findings: list[Finding] = []
    parsed: dict[str, Any] = {}
    for name in _ORDER:
        if name == "compliance":
            continue
        span = spans[name]
        section = _Section(name, [(n, rows[n - 1]) for n in range(span.start, span.end + 1)])
        try:
            parsed[name] = _PARSERS[name](section)
        except ValidationError as error:
            section.unread(span.start, f"values do not fit the plan model: {_first(error)}")
        findings.extend(section.findings)
    if len(parsed) < len(_ORDER) - 1:
        return ReadBack(plan=None, findings=tuple(findings), spans=spans)
    references, footer = parsed.pop("references")
    plan = p.Plan(**parsed, references=references, footer=footer)
    return ReadBack(plan=plan, findings=tuple(findings), spans=spans)


def _first(error: ValidationError) -> str:
    detail = error.errors()[0]
    return f"{'.'.join(str(part) for part in detail['loc'])}: {detail['msg']}"


def section_spans(body: str) -> dict[str, Span]:
    """Where each section starts and ends, from the headings alone (no parsing).

    The three fixed "Component N:" headings are the last ones before Implementation Steps,
    so a code component may share their names."""
    found = headings(body)
    starts: dict[str, int] = {}
    position = 0
    for name in _ORDER:
        if name in _FIXED_COMPONENTS:
            continue
        level = 2
        index = next(
            (i for i in range(position, len(found)) if found[i][:2] == (level, _TITLES[name])),
            None,
        )
        if index is not None:
            starts[name] = found[index][2]
            position = index + 1
    if "components" in starts and "steps" in starts:
        limit = starts["steps"]
        for name in reversed(_FIXED_COMPONENTS):
            candidates = [
                line
                for level, title, line in found
                if level == 3 and title == _TITLES[name] and starts["components"] < line < limit
            ]
            if candidates:
                starts[name] = limit = candidates[-1]
    if "goal" in starts:
        starts["goal"] = 1
    ordered = [name for name in _ORDER if name in starts]
    spans = {}
    for index, name in enumerate(ordered):
        following = [
            starts[other] for other in ordered[index + 1 :] if starts[other] > starts[name]
        ]
        end = min(following) - 1 if following else len(body.splitlines())
        spans[name] = Span(heading=_TITLES[name], start=starts[name], end=end)
    return spans


class _Section:
    """The lines of one section, read in order; collects its review items and findings."""

    def __init__(self, name: str, rows: list[tuple[int, str]]) -> None:
        self.name = name
        self.rows = rows
        self.position = 0
        self.reviews: list[p.ReviewItem] = []
        self.findings: list[Finding] = []

    def lines(self) -> Iterator[tuple[int, str]]:
        """(line number, text without trailing blanks) of each non-blank line; review items
        are taken on the way. A caller may consume a fence with `fence()` in between."""
        while self.position < len(self.rows):
            number, raw = self.rows[self.position]
            self.position += 1
            text = raw.rstrip()
            if not text:
                continue
            review = _REVIEW.match(text)
            if review:
                self.reviews.append(p.ReviewItem(text=review.group(1)))
                continue
            yield number, text

    def fence(self, indent: str = "") -> list[tuple[int, str]]:
        """The raw lines up to the closing fence (consumed too)."""
        content: list[tuple[int, str]] = []
        while self.position < len(self.rows):
            number, raw = self.rows[self.position]
            self.position += 1
            if raw.rstrip() == f"{indent}```":
                return content
            content.append((number, raw))
        self.unread(self.rows[-1][0], "a code fence is not closed")
        return content

    def table(self) -> list[tuple[int, str]]:
        """The table rows that follow (consumed)."""
        rows = []
        while self.position < len(self.rows) and self.rows[self.position][1].startswith("|"):
            number, raw = self.rows[self.position]
            rows.append((number, raw.rstrip()))
            self.position += 1
        return rows

    def unread(self, line: int, what: str) -> None:
        self.findings.append(
            Finding(
                rule_id=READ_RULE,
                severity="warning",
                message=f"section '{_TITLES[self.name]}': {what}",
                section=self.name,
                line=line,
            )
        )

    def skip(self, line: int, text: str) -> None:
        """A line that is neither a value nor a template sentence."""
        if text not in _PLACEHOLDER_LINES and not text.startswith("#"):
            shown = text if len(text) <= 60 else text[:57] + "..."
            self.unread(line, f"not in drafter's layout, not read: {shown!r}")


def _ids(text: str) -> tuple[str, list[str]]:
    """Split the ` [FR-001, US1.2]` suffix the template's `ids` macro writes."""
    match = _WITH_IDS.match(text)
    if match is None:
        return text, []
    return match.group(1), match.group(2).split(", ")


def _cells(row: str) -> list[str]:
    parts = _CELL_SPLIT.split(row.strip())
    return [part.strip().replace("\\|", "|") for part in parts[1:-1]]


def _table(section: _Section, header: int) -> list[tuple[int, list[str]]]:
    """Data rows (line, cells) of the table whose header row was just read at `header`."""
    rows = [(number, _cells(text)) for number, text in section.table()]
    if rows and all(re.fullmatch(r":?-+:?", cell) for cell in rows[0][1]):
        return rows[1:]
    section.unread(header, "a table without its header rule")
    return rows


def _unmermaid(text: str) -> str:
    # The entity codes render.mermaid_text writes; "#35;" last, so "#35;59;" stays "#59;".
    for code, char in (
        ("#quot;", '"'),
        ("#59;", ";"),
        ("#124;", "|"),
        ("#92;", "\\"),
        ("#35;", "#"),
    ):
        text = text.replace(code, char)
    return text


def _none_if_literal_none(text: str) -> str | None:
    # inline(None) renders "None": read it back as the missing value it stood for.
    return None if text == "None" else text


# --- sections ------------------------------------------------------------------------------------


def _goal(section: _Section) -> p.GoalSection:
    name = summary = goal = None
    for number, text in section.lines():
        if title := re.match(r"^# Implementation Plan: ?(.*)$", text):
            name = title.group(1)
        elif quote := re.match(r"^>(?: (.*))?$", text):
            summary = quote.group(1) or ""
        elif text == "## Goal":
            continue
        elif goal is None and not text.startswith("#"):
            goal = text
        else:
            section.skip(number, text)
    if name is None:
        section.unread(1, "no '# Implementation Plan: …' title line")
    return p.GoalSection(
        feature_name=name or "", summary=summary or "", goal=goal or "", reviews=section.reviews
    )


_SHAPES: tuple[tuple[p.NodeKind, re.Pattern[str]], ...] = (
    ("actor", re.compile(r'^\(\["(.*)"\]\)$')),
    ("service", re.compile(r'^\[\["(.*)"\]\]$')),
    ("datastore", re.compile(r'^\[\("(.*)"\)\]$')),
    ("external", re.compile(r'^\{\{"(.*)"\}\}$')),
    ("component", re.compile(r'^\["(.*)"\]$')),
)
_EDGE = re.compile(r'^(\w+) -->(?:\|"?(.*?)"?\|)? (\w+)$')  # the label may be quoted
_NODE = re.compile(r"^(\w+)(\S.*)$")


def _architecture(section: _Section) -> p.ArchitectureSection:
    nodes: list[p.DiagramNode] = []
    edges: list[p.DiagramEdge] = []
    stack: list[p.StackRow] = []
    patterns: list[p.DesignPattern] = []
    for number, text in section.lines():
        if text == "```mermaid":
            for line, raw in section.fence():
                _graph_line(section, line, raw.strip(), nodes, edges)
        elif text.startswith("| Component |"):
            for line, cells in _table(section, number):
                if len(cells) == 3:
                    stack.append(
                        p.StackRow(component=cells[0], technology=cells[1], justification=cells[2])
                    )
                else:
                    section.unread(line, "a technology row needs three cells")
        elif pattern := re.match(r"^- \*\*(.*?)\*\*: ?(.*)$", text):
            patterns.append(p.DesignPattern(name=pattern.group(1), usage=pattern.group(2)))
        else:
            section.skip(number, text)
    return p.ArchitectureSection(
        nodes=nodes, edges=edges, stack=stack, patterns=patterns, reviews=section.reviews
    )


def _graph_line(
    section: _Section,
    number: int,
    text: str,
    nodes: list[p.DiagramNode],
    edges: list[p.DiagramEdge],
) -> None:
    if text == "graph TB" or not text:
        return
    if edge := _EDGE.match(text):
        label = edge.group(2)
        edges.append(
            p.DiagramEdge(
                source=edge.group(1),
                target=edge.group(3),
                label=None if label is None else _unmermaid(label),
            )
        )
        return
    if node := _NODE.match(text):
        for kind, shape in _SHAPES:
            if found := shape.match(node.group(2)):
                label = _unmermaid(found.group(1))
                nodes.append(p.DiagramNode(id=node.group(1), label=label, kind=kind))
                return
    section.unread(number, f"not a diagram node or edge: {text!r}")


def _components(section: _Section) -> p.ComponentsSection:
    components: list[p.Component] = []
    new_file: p.NewFile | None = None
    modified: p.ModifiedFile | None = None
    listing: str | None = None  # "new" or "modified"
    kind: p.SymbolKind | None = None
    kinds = {heading: kind for kind, heading in p.SYMBOL_HEADINGS.items()}
    for number, text in section.lines():
        component = components[-1] if components else None
        if heading := re.match(r"^### Component \d+: ?(.*)$", text):
            components.append(
                p.Component(name=heading.group(1), purpose="", new_files=[], modified_files=[])
            )
            new_file = modified = listing = kind = None
        elif component is None:
            section.skip(number, text)
        elif text in ("#### New Files", "#### Modified Files"):
            listing = "new" if text == "#### New Files" else "modified"
            new_file = modified = None
        elif path := re.match(r"^##### `([^`]*)`( \(proposed\))?$", text):
            proposed = path.group(2) is not None
            if listing == "new":
                new_file = p.NewFile(
                    path=path.group(1),
                    purpose="",
                    symbols=[],
                    requirement_ids=[],
                    proposed=proposed,
                )
                component.new_files.append(new_file)
            elif listing == "modified":
                modified = p.ModifiedFile(path=path.group(1), changes=[], proposed=proposed)
                component.modified_files.append(modified)
            else:
                section.skip(number, text)
        elif purpose := re.match(r"^\*\*Purpose\*\*: ?(.*)$", text):
            if new_file is None:
                component.purpose = purpose.group(1)
            else:
                new_file.purpose, new_file.requirement_ids = _ids(purpose.group(1))
        elif key := re.match(r"^\*\*Key (\w+)\*\*:$", text):
            kind = kinds.get(key.group(1))
            if kind is None:
                section.skip(number, text)
        elif (symbol := re.match(r"^- `([^`]*)`: ?(.*)$", text)) and new_file and kind:
            new_file.symbols.append(
                p.CodeSymbol(name=symbol.group(1), kind=kind, description=symbol.group(2))
            )
        elif text == "**Changes**:" and modified is not None:
            continue
        elif (change := re.match(r"^- (.*)$", text)) and modified is not None:
            description, ids = _ids(change.group(1))
            modified.changes.append(p.FileChange(description=description, requirement_ids=ids))
        elif text == "---":
            new_file = modified = listing = kind = None
        else:
            section.skip(number, text)
    return p.ComponentsSection(components=components, reviews=section.reviews)


def _database(section: _Section) -> p.DatabaseSection:
    database: p.Database | None = None
    reason: str | None = None
    migration_name: str | None = None
    for number, text in section.lines():
        if text == "#### New Tables":
            database = p.Database(tables=[], migrations=[])
        elif text == "```sql" and database is not None and migration_name is None:
            database.tables.extend(_tables(section, section.fence()))
        elif name := re.match(r"^\*\*Migration Name\*\*: `([^`]*)`$", text):
            migration_name = name.group(1)
        elif text == "```sql" and database is not None and migration_name is not None:
            up, down = _migration(section, number, section.fence())
            database.migrations.append(p.Migration(name=migration_name, up=up, down=down))
            migration_name = None
        elif not_applicable := re.match(r"^Not applicable: ?(.*)$", text):
            reason = _none_if_literal_none(not_applicable.group(1))
        elif text != "#### Schema Migrations":
            section.skip(number, text)
    return p.DatabaseSection(
        database=database, not_applicable_reason=reason, reviews=section.reviews
    )


def _tables(section: _Section, content: list[tuple[int, str]]) -> list[p.Table]:
    tables: list[p.Table] = []
    columns: list[str] = []
    for number, raw in content:
        if raw.startswith("-- ") and not columns:
            name, ids = _ids(raw[3:])
            tables.append(p.Table(name=name, columns=[], requirement_ids=ids))
        elif raw.startswith("CREATE TABLE ") and raw.endswith(" (") and tables:
            continue
        elif raw.startswith("  ") and tables:
            columns.append(raw[2:])
        elif raw == ");" and tables:
            # Every column but the last carries the comma the template put after it.
            cleaned = [c.removesuffix(",") for c in columns[:-1]] + columns[-1:]
            tables[-1].columns.extend(_column(column) for column in cleaned)
            columns = []
        elif raw:
            section.unread(number, f"not part of a CREATE TABLE: {raw.strip()!r}")
    return tables


def _column(text: str) -> p.Column:
    # Name and type are single words in what drafter writes; anything after is constraints
    # (a multi-word type lands there too, and renders back the same).
    parts = text.split(" ", 2)
    return p.Column(
        name=parts[0],
        type=parts[1] if len(parts) > 1 else "",
        constraints=parts[2] if len(parts) > 2 else None,
    )


def _migration(section: _Section, number: int, content: list[tuple[int, str]]) -> tuple[str, str]:
    raws = [raw for _, raw in content]
    downs = [i for i, raw in enumerate(raws) if raw == "-- Down migration"]
    if not raws or raws[0] != "-- Up migration" or not downs:
        section.unread(number, "a migration needs '-- Up migration' and '-- Down migration'")
        return "\n".join(raws), ""
    down = downs[-1]
    up_end = down - 1 if down > 1 and raws[down - 1] == "" else down
    return "\n".join(raws[1:up_end]), "\n".join(raws[down + 1 :])


_ENDPOINT = re.compile(rf"^\*\*(.*)\*\*(?: \[({_ID}(?:, {_ID})*)\])?$")


def _api(section: _Section) -> p.ApiSection:
    endpoints: list[p.Endpoint] = []
    reason: str | None = None
    for number, text in section.lines():
        endpoint = endpoints[-1] if endpoints else None
        if heading := _ENDPOINT.match(text):
            method, _, path = heading.group(1).partition(" ")
            ids = heading.group(2).split(", ") if heading.group(2) else []
            endpoints.append(
                p.Endpoint(
                    method=method,
                    path=path,
                    controller=None,
                    service=None,
                    validation=None,
                    requirement_ids=ids,
                )
            )
        elif (part := re.match(r"^- (Controller|Service): `([^`]*)`$", text)) and endpoint:
            if part.group(1) == "Controller":
                endpoint.controller = part.group(2)
            else:
                endpoint.service = part.group(2)
        elif (validation := re.match(r"^- Validation: ?(.*)$", text)) and endpoint:
            endpoint.validation = validation.group(1)
        elif not_applicable := re.match(r"^Not applicable: ?(.*)$", text):
            reason = _none_if_literal_none(not_applicable.group(1))
        elif text != "#### New Endpoints":
            section.skip(number, text)
    return p.ApiSection(endpoints=endpoints, not_applicable_reason=reason, reviews=section.reviews)


_TEST_LEVELS: dict[str, p.TestLevel] = {
    "#### Unit Tests": "unit",
    "#### Integration Tests": "integration",
    "#### E2E Tests": "e2e",
}


def _testing(section: _Section) -> p.TestingSection:
    suites: list[p.TestSuite] = []
    level: p.TestLevel | None = None
    suite: p.TestSuite | None = None
    for number, text in section.lines():
        if text in _TEST_LEVELS:
            level, suite = _TEST_LEVELS[text], None
        elif (file := re.match(r"^\*\*File\*\*: `([^`]*)`$", text)) and level:
            suite = p.TestSuite(level=level, file=file.group(1), cases=[])
            suites.append(suite)
        elif (case := re.match(r"^- (.*)$", text)) and suite:
            description, ids = _ids(case.group(1))
            suite.cases.append(p.TestCase(description=description, requirement_ids=ids))
        elif text not in _PLACEHOLDER_LINES:
            section.skip(number, text)
    return p.TestingSection(suites=suites, reviews=section.reviews)


def _steps(section: _Section) -> p.StepsSection:
    phases: list[p.Phase] = []
    for number, text in section.lines():
        if heading := re.match(r"^### Phase \d+: ?(.*)$", text):
            phases.append(p.Phase(name=heading.group(1), steps=[], estimate=""))
        elif (step := re.match(r"^\d+\. \[[ xX]\](?: (.*))?$", text)) and phases:
            description, ids = _ids(step.group(1) or "")
            phases[-1].steps.append(p.Step(description=description, requirement_ids=ids))
        elif (estimate := re.match(r"^\*\*Estimated Time\*\*: ?(.*)$", text)) and phases:
            phases[-1].estimate = estimate.group(1)
        else:
            section.skip(number, text)
    return p.StepsSection(phases=phases, reviews=section.reviews)


def _dependencies(section: _Section) -> p.DependenciesSection:
    versions: list[tuple[str, Any]] = []
    justified: list[tuple[str, str]] = []
    internal: list[p.InternalDependency] = []
    prerequisites: list[str] = []
    part = ""
    for number, text in section.lines():
        if text.startswith("### "):
            part = text
        elif text == "```json":
            content = "\n".join(raw for _, raw in section.fence())
            try:
                versions = json.loads(content, object_pairs_hook=list)
            except json.JSONDecodeError as error:
                section.unread(number, f"the dependency JSON does not parse: {error}")
        elif (item := re.match(r"^- `([^`]*)`: ?(.*)$", text)) and "External" in part:
            justified.append((item.group(1), item.group(2)))
        elif (item := re.match(r"^- \*\*(.*?)\*\*: Required for ?(.*)$", text)) and (
            "Internal" in part
        ):
            internal.append(p.InternalDependency(module=item.group(1), reason=item.group(2)))
        elif (item := re.match(r"^- (.*)$", text)) and "Prerequisite" in part:
            prerequisites.append(item.group(1))
        elif text != "**Justification**:":
            section.skip(number, text)
    return p.DependenciesSection(
        external=_external(versions, justified),
        internal=internal,
        prerequisites=prerequisites,
        reviews=section.reviews,
    )


def _external(
    versions: list[tuple[str, Any]], justified: list[tuple[str, str]]
) -> list[p.ExternalDependency]:
    def version(value: Any) -> str | None:
        return None if value == "*" or not isinstance(value, str) else value

    if len(versions) == len(justified):
        return [
            p.ExternalDependency(name=name, version=version(value), justification=why)
            for (name, value), (_, why) in zip(versions, justified, strict=True)
        ]
    # Two dependencies of one name share a JSON key: match by name instead.
    by_name = dict(versions)
    return [
        p.ExternalDependency(name=name, version=version(by_name.get(name)), justification=why)
        for name, why in justified
    ]


def _data_flow(section: _Section) -> p.DataFlowSection:
    participants: list[p.Participant] = []
    messages: list[p.Message] = []
    for number, text in section.lines():
        if text != "```mermaid":
            section.skip(number, text)
            continue
        for line, raw in section.fence():
            row = raw.strip()
            if participant := re.match(r"^participant (\w+) as ?(.*)$", row):
                label = _unmermaid(participant.group(2))
                participants.append(p.Participant(id=participant.group(1), label=label))
            elif message := re.match(r"^(\w+)(-->>|->>)(\w+): ?(.*)$", row):
                messages.append(
                    p.Message(
                        source=message.group(1),
                        target=message.group(3),
                        text=_unmermaid(message.group(4)),
                        reply=message.group(2) == "-->>",
                    )
                )
            elif row != "sequenceDiagram":
                section.unread(line, f"not a participant or message: {row!r}")
    return p.DataFlowSection(participants=participants, messages=messages, reviews=section.reviews)


_LOG_LEVELS = ("Debug", "Info", "Warn", "Error")


def _error_handling(section: _Section) -> p.ErrorHandlingSection:
    errors: list[p.ErrorType] = []
    logging: list[p.LogLevel] = []
    for number, text in section.lines():
        if text.startswith("| Error Code |"):
            for line, cells in _table(section, number):
                if len(cells) != 3:
                    section.unread(line, "an error row needs three cells")
                    continue
                description, ids = _ids(cells[1])
                errors.append(
                    p.ErrorType(
                        code=cells[0],
                        description=description,
                        handling=cells[2],
                        requirement_ids=ids,
                    )
                )
        elif (entry := re.match(r"^- \*\*(\w+)\*\*: ?(.*)$", text)) and (
            entry.group(1) in _LOG_LEVELS
        ):
            logging.append(p.LogLevel(level=entry.group(1), events=entry.group(2)))  # type: ignore[arg-type]
        else:
            section.skip(number, text)
    return p.ErrorHandlingSection(errors=errors, logging=logging, reviews=section.reviews)


def _security(section: _Section) -> p.SecuritySection:
    items: list[p.SecurityItem] = []
    for number, text in section.lines():
        if item := _CHECKBOX.match(text):
            description, ids = _ids(item.group(1) or "")
            items.append(p.SecurityItem(text=description, requirement_ids=ids))
        else:
            section.skip(number, text)
    return p.SecuritySection(items=items, reviews=section.reviews)


def _performance(section: _Section) -> p.PerformanceSection:
    targets: list[p.PerformanceTarget] = []
    techniques: list[str] = []
    part = ""
    for number, text in section.lines():
        if text.startswith("### "):
            part = text
        elif (item := re.match(r"^- (.*)$", text)) and part == "### Expected Performance":
            body, ids = _ids(item.group(1))
            # "metric: target"; a metric may hold ": " itself, a short target rarely does.
            metric, colon, target = body.rpartition(": ")
            if not colon:
                metric, target = body.removesuffix(":"), ""
            targets.append(p.PerformanceTarget(metric=metric, target=target, requirement_ids=ids))
        elif (item := re.match(r"^- (.*)$", text)) and part == "### Optimization Techniques":
            techniques.append(item.group(1))
        else:
            section.skip(number, text)
    return p.PerformanceSection(targets=targets, techniques=techniques, reviews=section.reviews)


def _rollback(section: _Section) -> p.RollbackSection:
    steps: list[p.RollbackStep] = []
    for number, text in section.lines():
        step = steps[-1] if steps else None
        if title := _NUMBERED_BOLD.match(text):
            steps.append(p.RollbackStep(title=title.group(1), detail="", command=None))
        elif text == "   ```bash" and step is not None:
            command = [raw.strip() for _, raw in section.fence("   ")]
            step.command = " ".join(command)
        elif text.startswith("   ") and step is not None and not step.detail:
            step.detail = text[3:]
        else:
            section.skip(number, text)
    return p.RollbackSection(steps=steps, reviews=section.reviews)


_VERIFICATION_PARTS = ("**Success Criteria**:", "**Requirement Coverage**:")


def _verification(section: _Section) -> p.VerificationSection:
    commands: list[p.VerificationCommand] = []
    criteria: list[p.Check] = []
    manual: list[p.ManualGroup] = []
    deployment: list[str] = []
    part = ""
    for number, text in section.lines():
        if text.startswith("### ") or text in (
            "**Success Criteria**:",
            "**Requirement Coverage**:",
        ):
            part = text
        elif text == "```bash" and part == "### Automated Tests":
            commands.extend(_commands(section.fence()))
        elif (item := re.match(r"^- (.*)$", text)) and part == "**Success Criteria**:":
            description, ids = _ids(item.group(1))
            criteria.append(p.Check(text=description, requirement_ids=ids))
        elif (group := _NUMBERED_BOLD.match(text)) and part == "### Manual Verification":
            manual.append(p.ManualGroup(title=group.group(1), checks=[]))
        elif (check := re.match(r"^   - \[[ xX]\](?: (.*))?$", text)) and manual:
            description, ids = _ids(check.group(1) or "")
            manual[-1].checks.append(p.Check(text=description, requirement_ids=ids))
        elif (step := re.match(r"^\d+\. (.*)$", text)) and part == "### Deployment Verification":
            deployment.append(step.group(1))
        elif part == "**Requirement Coverage**:" and text.startswith("|"):
            continue  # computed from the tags when rendering
        else:
            section.skip(number, text)
    return p.VerificationSection(
        commands=commands,
        success_criteria=criteria,
        manual=manual,
        deployment=deployment,
        reviews=section.reviews,
    )


def _commands(content: list[tuple[int, str]]) -> list[p.VerificationCommand]:
    # Pairs of "# comment" and the command on the next line (whatever that line holds).
    commands = []
    raws = [raw.rstrip() for _, raw in content]
    index = 0
    while index < len(raws):
        line = raws[index]
        if line.startswith("#"):
            command = raws[index + 1] if index + 1 < len(raws) else ""
            commands.append(p.VerificationCommand(comment=line[1:].lstrip(" "), command=command))
            index += 2
        else:
            index += 1
    return commands


def _open_issues(section: _Section) -> p.OpenIssuesSection:
    # The list repeats every section's review items (computed when rendering); the Open Issues
    # section's own ones appear only there, so those are read back.
    own_reviews = f"**Review** ({BY_NAME['open_issues'].title}): "
    issues: list[p.OpenIssue] = []
    for number, text in section.lines():
        item = _CHECKBOX.match(text)
        content = item.group(1) or "" if item else ""
        if item is None:
            section.skip(number, text)
        elif content.startswith(own_reviews):
            section.reviews.append(p.ReviewItem(text=content.removeprefix(own_reviews)))
        elif not content.startswith("**Review** ("):
            issue, source = _source(content)
            issues.append(p.OpenIssue(text=issue, source=source))
    return p.OpenIssuesSection(issues=issues, reviews=section.reviews)


def _source(text: str) -> tuple[str, str | None]:
    """Split a trailing " (source)"; a text ending in its own parenthesis reads the same."""
    if not text.endswith(")"):
        return text, None
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[index], 0)
        if depth == 0:
            if index > 0 and text[index - 1] == " ":
                return text[: index - 1], text[index + 1 : -1]
            return text, None
    return text, None


_FOOTER = re.compile(
    r"^\*\*(Status|Author|Created|Last Updated|Reviewers|Estimated Effort)\*\*:"
    r" ?(.*)$"
)
_STATUSES = ("Draft", "In Review", "Approved", "In Progress", "Completed")


def _references(section: _Section) -> tuple[list[p.Reference], p.Footer]:
    references: list[p.Reference] = []
    footer: dict[str, str] = {}
    footer_line = section.rows[-1][0]
    for number, text in section.lines():
        if field := _FOOTER.match(text):
            footer[field.group(1)] = field.group(2)
            footer_line = min(footer_line, number)
        elif link := re.match(r"^- \[(.*)\]\((.*)\)$", text):
            references.append(p.Reference(label=link.group(1), target=link.group(2)))
        elif item := re.match(r"^- (.*)$", text):
            references.append(p.Reference(label=item.group(1), target=None))
        else:
            section.skip(number, text)
    status = footer.get("Status", "")
    if status not in _STATUSES:
        section.unread(
            footer_line,
            f"footer Status {status!r} is not one of {', '.join(_STATUSES)}; read as Draft",
        )
        status = "Draft"
    missing = [name for name, _ in _FOOTER_FIELDS if name not in footer and name != "Status"]
    if missing:
        section.unread(footer_line, f"footer lacks {', '.join(missing)}")
    values = {key: footer.get(name, "") for name, key in _FOOTER_FIELDS if key != "status"}
    return references, p.Footer(status=status, **values)  # type: ignore[arg-type]


_FOOTER_FIELDS = (
    ("Status", "status"),
    ("Author", "author"),
    ("Created", "created"),
    ("Last Updated", "last_updated"),
    ("Reviewers", "reviewers"),
    ("Estimated Effort", "estimated_effort"),
)

_PARSERS: dict[str, Callable[[_Section], Any]] = {
    "goal": _goal,
    "architecture": _architecture,
    "components": _components,
    "database": _database,
    "api": _api,
    "testing": _testing,
    "steps": _steps,
    "dependencies": _dependencies,
    "data_flow": _data_flow,
    "error_handling": _error_handling,
    "security": _security,
    "performance": _performance,
    "rollback": _rollback,
    "verification": _verification,
    "open_issues": _open_issues,
    "references": _references,
}
