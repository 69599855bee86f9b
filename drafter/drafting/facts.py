"""What the offline drafter derives once from the inputs: technologies, actors, components.

Everything here is extractive and deterministic: each fact points back at the spec line,
requirement or constitution rule it came from, so the plan can cite it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from drafter.core.language import DEFAULT
from drafter.drafting import DraftInputs
from drafter.drafting.messages import Messages, prose_language
from drafter.drafting.placement import Grounding, ground
from drafter.drafting.text import short, slug, words
from drafter.inputs.constitution import asks_tests_first
from drafter.inputs.spec import Requirement, Spec, UserStory


@dataclass(frozen=True)
class Technology:  # hashable: patterns are cached per technology
    name: str
    kind: str
    aliases: tuple[str, ...]
    extension: str = ""
    source_dir: str = "src"
    test_dir: str = "tests"
    test_prefix: str = ""
    test_suffix: str = ""
    test_command: str = ""
    file_test_command: str = ""
    naming: str = "snake"
    container: bool = False  # self-hosted: runs as its own service (a compose file entry)


@dataclass(frozen=True)
class Sighting:
    """A technology and where the inputs name it."""

    tech: Technology
    source: str  # e.g. "FR-012", "C-II.1", "spec line 5"
    version: str | None  # a version the source states next to the name, e.g. "3.11+"
    quote: str = ""  # the words around the name in the source: the evidence a reader checks

    @property
    def evidence(self) -> str:
        return f'{self.source}: "{self.quote}"' if self.quote else self.source

    @property
    def from_spec(self) -> bool:
        """Named by the spec itself, not only by the project-wide constitution."""
        return not self.source.startswith("C-")

    @property
    def label(self) -> str:
        return f"{self.tech.name} {self.version}" if self.version else self.tech.name


@dataclass
class ComponentPlan:
    """A code component: a user story (or a requirement group) and the requirements it serves."""

    name: str
    slug: str
    story: UserStory | None
    requirements: list[Requirement] = field(default_factory=list)


@dataclass(frozen=True)
class Facts:
    spec: Spec
    sightings: tuple[Sighting, ...]
    language: Technology | None
    actors: tuple[str, ...]
    components: tuple[ComponentPlan, ...]
    test_first: str | None  # the constitution rule ID that asks for tests first
    feature_slug: str
    persisted: bool  # the spec describes stored data
    grounding: Grounding | None = None  # the repository the plan is for, when there is one
    say: Messages = field(default_factory=lambda: Messages(DEFAULT))  # prose, spec's language
    # What the spec's own prose says to do to a file it names: path → its change lines.
    explicit_changes: dict[str, tuple[str, ...]] = field(default_factory=dict)


@cache
def catalogue() -> tuple[Technology, ...]:
    path = Path(__file__).resolve().parent.parent / "data" / "technologies.toml"
    entries = tomllib.loads(path.read_text("utf-8"))["tech"]
    return tuple(Technology(**{**e, "aliases": tuple(e["aliases"])}) for e in entries)


@cache
def _scanners() -> tuple[tuple[re.Pattern[str], dict[str, list[Technology]]], ...]:
    """Three patterns over the whole catalogue, so a text is scanned three times, not once
    per alias: capitalised aliases match exactly ("React", not "react quickly"), the others
    ignore case, and file extensions (".ts") match only right after a name."""
    exact: dict[str, list[Technology]] = {}
    folded: dict[str, list[Technology]] = {}
    extensions: dict[str, list[Technology]] = {}
    for tech in catalogue():
        for alias in tech.aliases:
            if alias.startswith("."):
                extensions.setdefault(alias, []).append(tech)
            elif any(c.isupper() for c in alias):
                exact.setdefault(alias, []).append(tech)
            else:
                folded.setdefault(alias, []).append(tech)

    def alternatives(aliases: dict[str, list[Technology]]) -> str:
        return "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))

    # ASCII word boundaries: in CJK text a name touches the next character ("MCPサーバー").
    return (
        (re.compile(rf"(?<![A-Za-z0-9_-])(?:{alternatives(exact)})(?![A-Za-z0-9_-])"), exact),
        (
            re.compile(
                rf"(?<![A-Za-z0-9_-])(?:{alternatives(folded)})(?![A-Za-z0-9_-])", re.IGNORECASE
            ),
            folded,
        ),
        (re.compile(rf"(?<=\w)(?:{alternatives(extensions)})\b"), extensions),
    )


# A name in one of these contexts is not part of the feature: a comparison ("similar to GitHub
# inbox", "the same patterns as … (Jira)"), an absence ("WHERE a Rust toolchain is
# unavailable"), or a rejected option ("instead of Redis").
_NOT_USED = re.compile(
    r"\b(?:similar to|same (?:patterns?|way) as|like|such as existing|inspired by|instead of|"
    r"rather than|unlike|without|lacks?|unavailable|not available|absent|for example|"
    r"prefer \w+(?: \w+)? over)\b|\be\.g\.",
    re.IGNORECASE,
)
_QUOTE_CHARS = 90


def _sightings(inputs: DraftInputs) -> tuple[Sighting, ...]:
    spec = inputs.spec
    sources: list[tuple[str, str]] = [(r.id, r.text) for r in spec.requirements]
    sources += [(f"spec line {p_line}", text) for p_line, text in _spec_prose(spec)]
    if inputs.constitution is not None:
        sources += [(rule.id, rule.text) for rule in inputs.constitution.rules]
    first_seen: dict[str, tuple[str, str, str]] = {}
    for where, text in sources + _constitution_lines(inputs):
        only_tests = where.startswith("constitution line")
        for scanner, (pattern, aliases) in enumerate(_scanners()):
            for match in pattern.finditer(text):
                extension = scanner == 2  # ".ts" counts in a path; a name in a path does not
                if _unused(text, match.start()) or (not extension and _in_path(text, match)):
                    continue
                for tech in aliases.get(match.group(0)) or aliases[match.group(0).lower()]:
                    if only_tests and tech.kind != "test":
                        continue
                    first_seen.setdefault(tech.name, (where, text, _quote(text, match)))
    return tuple(
        Sighting(tech, where, _version(tech, text), quote)
        for tech in catalogue()
        if tech.name in first_seen
        for where, text, quote in [first_seen[tech.name]]
    )


def _constitution_lines(inputs: DraftInputs) -> list[tuple[str, str]]:
    """The constitution's prose outside its rules, where it often names the test framework
    ("Integration tests run under the Rove framework"); read for test frameworks only."""
    if inputs.constitution is None:
        return []
    try:
        text = inputs.constitution.path.read_text("utf-8", errors="replace")
    except OSError:
        return []
    return [(f"constitution line {n}", line) for n, line in enumerate(text.splitlines(), 1)]


def _clause(text: str, position: int) -> str:
    """The clause of `text` around `position`: between the punctuation that bounds it."""
    start = max(text.rfind(mark, 0, position) for mark in (".", ";", ",", "(", ":"))
    ends = [i for i in (text.find(mark, position) for mark in (".", ";", ",", ")")) if i != -1]
    return text[start + 1 : min(ends) if ends else len(text)]


def _unused(text: str, position: int) -> bool:
    """True for a name in a URL, after a comparison in its sentence, or in a clause that says
    it is absent."""
    if any(m.start() <= position < m.end() for m in re.finditer(r"https?://\S+", text)):
        return True
    sentence_start = max(text.rfind(". ", 0, position), text.rfind(";", 0, position))
    lead_in = text[sentence_start + 1 : position]
    return bool(_NOT_USED.search(lead_in) or _NOT_USED.search(_clause(text, position)))


def _in_path(text: str, match: re.Match[str]) -> bool:
    start = text.rfind(" ", 0, match.start()) + 1
    end = text.find(" ", match.end())
    return "/" in text[start : end if end != -1 else len(text)]


def _quote(text: str, match: re.Match[str]) -> str:
    """About `_QUOTE_CHARS` characters of `text` around the match, cut at word boundaries."""
    half = (_QUOTE_CHARS - len(match.group(0))) // 2
    start, end = max(0, match.start() - half), min(len(text), match.end() + half)
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    quote = " ".join(text[start:end].replace('"', "'").replace("`", "").split())
    return ("…" if start > 0 else "") + quote + ("…" if end < len(text) else "")


def _version(tech: Technology, text: str) -> str | None:
    match = re.search(rf"{re.escape(tech.name)}\s+v?(\d+(?:\.\d+)*\+?)", text, re.IGNORECASE)
    return match.group(1) if match else None


def _spec_prose(spec: Spec) -> list[tuple[int, str]]:
    prose = [(1, spec.title), (1, spec.summary)]
    prose += [(s.line, s.text) for s in spec.stories]
    prose += [(e.line, f"{e.name} {e.description}") for e in spec.entities]
    prose += [(1, path) for path in spec.named_paths]
    return prose


def _language(sightings: tuple[Sighting, ...], spec: Spec) -> Technology | None:
    by_path = [
        t
        for t in catalogue()
        if t.kind == "language" and any(path.endswith(t.extension) for path in spec.named_paths)
    ]
    if by_path:
        return by_path[0]
    return next((s.tech for s in sightings if s.tech.kind == "language"), None)


_ACTOR = re.compile(r"\bAs an? ([^,]+?)(?:,| I want| I need)", re.IGNORECASE)
_ACTOR_JA = re.compile(r"^(.{1,20}?)として")
_ACTOR_TAIL = re.compile(r"\s+(?:who|that|with|in|on|using|for|\w+ing)\b")


def _actors(spec: Spec) -> tuple[str, ...]:
    actors: list[str] = []
    for story in spec.stories:
        match = _ACTOR.search(story.text) or _ACTOR_JA.search(story.text)
        if match:
            actor = _ACTOR_TAIL.split(match.group(1).strip(), maxsplit=1)[0]
            actor = re.sub(r"^(?:a|an|the)\s+", "", actor, flags=re.IGNORECASE)
            actor = short(actor[:1].upper() + actor[1:], 40)
            if actor not in actors:
                actors.append(actor)
    return tuple(actors[:4]) or ("User",)


def _priority_key(story: UserStory) -> tuple[int, int]:
    rank = int(story.priority[1:]) if story.priority and story.priority[1:].isdigit() else 9
    return rank, 0


def _components(spec: Spec) -> tuple[ComponentPlan, ...]:
    """One component per user story; each requirement joins the story it belongs to, or the
    story whose words it shares most (spec-kit FRs are not tied to stories)."""
    buildable = [r for r in spec.requirements if r.kind != "success"]
    stories = sorted(spec.stories, key=_priority_key)  # sorted() is stable: document order kept
    if not stories:
        component = ComponentPlan(name=_core_name(spec), slug="core", story=None)
        component.requirements.extend(buildable)
        return (component,)
    plans = {
        story.id: ComponentPlan(
            name=short(story.title, 60) or story.id,
            slug=_unique_slug(story, spec),
            story=story,
        )
        for story in stories
    }
    story_words = {story.id: set(words(f"{story.title} {story.text}")) for story in stories}
    for requirement in buildable:
        if requirement.story_id in plans:
            plans[requirement.story_id].requirements.append(requirement)
            continue
        requirement_words = set(words(requirement.text))
        best = max(stories, key=lambda s: len(requirement_words & story_words[s.id]))
        plans[best.id].requirements.append(requirement)
    return tuple(plans[story.id] for story in stories)


def _core_name(spec: Spec) -> str:
    return short(spec.title, 60) or "Core"


def _unique_slug(story: UserStory, spec: Spec) -> str:
    """A module name from the story title; the story ID when the title has no ASCII words (IDs
    are unique, so no suffix); never named like a test (`test_prompt…` is a test file)."""
    base = _module_slug(story.title)
    if not base:
        return story.id.lower().replace(".", "_")
    taken = [_module_slug(s.title) for s in spec.stories]
    return base if taken.count(base) == 1 else f"{base}_{story.id.lower()}"


@cache  # every story's name is compared with every other story's
def _module_slug(title: str) -> str:
    kept = [w for w in words(title) if w not in ("test", "tests", "testing", "spec")]
    return "_".join(kept[:3])


def _test_first(inputs: DraftInputs) -> str | None:
    if inputs.constitution is None:
        return None
    return next((rule.id for rule in inputs.constitution.rules if asks_tests_first(rule)), None)


_PERSISTENCE = re.compile(
    r"\b(?:database|SQL|schema migration|persist(?:s|ed|ent)? (?:in|to) (?:the )?"
    r"(?:database|db|store)|PostgreSQL|Postgres|SQLite|MySQL)\b",
    re.IGNORECASE,
)


def derive(inputs: DraftInputs) -> Facts:
    spec = inputs.spec
    sightings = _sightings(inputs)
    grounding = ground(inputs)
    return Facts(
        spec=spec,
        sightings=sightings,
        language=_repository_language(grounding) or _language(sightings, spec),
        actors=_actors(spec),
        components=_components(spec),
        test_first=_test_first(inputs),
        feature_slug=_feature_slug(spec),
        persisted=any(_PERSISTENCE.search(r.text) for r in spec.requirements)
        and bool(spec.entities),
        grounding=grounding,
        say=Messages(prose_language(spec)),
        explicit_changes=_explicit_changes(spec),
    )


# A change line: a list item that starts with what to do ("- Add `releaseJobs()` method to …").
_CHANGE_LINE = re.compile(
    r"^\s*(?:[-*+]|\d+\.)\s+(?:\*\*)?(?:Add|Adds|Modify|Update|Remove|Delete|Create|Rename|Call|"
    r"Extend|Move|Replace|Change|Implement|Expose|Introduce|Refactor|Wire)\b"
)


def _explicit_changes(spec: Spec) -> dict[str, tuple[str, ...]]:
    """Per spec-named file, the spec's own change lines that name it (by path, file name or
    stem, e.g. `Neo4jJobStore`), in order; read from the spec's files as written."""
    lines: list[str] = []
    for source in (spec.path, *spec.extra_sources):
        try:
            lines += source.read_text("utf-8", errors="replace").splitlines()
        except OSError:
            continue
    changes = [line for line in lines if _CHANGE_LINE.match(line)]
    found: dict[str, tuple[str, ...]] = {}
    for path in spec.named_paths:
        name = path.rsplit("/", 1)[-1]
        stem = name.split(".")[0]
        keys = {path, name} | ({stem} if len(stem) >= 6 else set())
        own = [
            short(re.sub(r"^\s*(?:[-*+]|\d+\.)\s+", "", line), 160)
            for line in changes
            if any(re.search(rf"(?<![\w/.-]){re.escape(key)}(?![\w-])", line) for key in keys)
        ]
        if own:
            found[path] = tuple(dict.fromkeys(own))
    return found


def _repository_language(grounding: Grounding | None) -> Technology | None:
    """The language of the files the plan touches, else the repository's main one."""
    if grounding is None:
        return None
    name = grounding.language()
    return next((t for t in catalogue() if t.kind == "language" and t.name == name), None)


def _feature_slug(spec: Spec) -> str:
    return slug(spec.title, 3) or spec.path.parent.name.replace("-", "_") or "feature"
