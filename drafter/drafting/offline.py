"""The offline drafter: deterministic, extractive, no model and no network.

It builds every section from what the spec and constitution say. What it cannot know (the
repository's real layout, effort, the choice between options the spec leaves open) becomes a
review item, so a person sees exactly what to confirm. Same inputs, same bytes out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from pydantic import BaseModel

from drafter.drafting import Drafted, DraftInputs
from drafter.drafting.facts import ComponentPlan, Facts, Technology, derive
from drafter.drafting.messages import N_, Messages
from drafter.drafting.placement import Grounding
from drafter.drafting.text import (
    after_modal,
    camel,
    clean,
    mentions,
    named_identifiers,
    short,
    summary_sentences,
    words,
)
from drafter.inputs.repository import SOURCE_EXTENSIONS
from drafter.inputs.spec import Requirement
from drafter.model import plan as p
from drafter.model.sections import NAMES, Section, SectionName, Upstream

NAME = "offline"
OFFLINE_NOTICE = (
    "drafted offline (deterministic, no model): set --model provider:name "
    "(e.g. openai:gpt-4o-mini) or DRAFTER_MODEL to draft with an LLM"
)

_SECURITY_TERMS = (
    "auth",
    "authenticate",
    "authentication",
    "authorization",
    "credential",
    "credentials",
    "token",
    "secret",
    "password",
    "encrypt",
    "encrypted",
    "encryption",
    "permission",
    "SSRF",
    "injection",
    "privacy",
    "private",
    "PII",
    "HTTPS",
    "redact",
    "sanitize",
    "plaintext",
    "API key",
    "private key",
    "secret key",
)
_FAILURE_WORDS = re.compile(
    r"\b(?:reject|rejects|rejected|invalid|error|errors|fail|fails|failure|refuse|missing|"
    r"unavailable|timeout|conflict|exceed|exceeds)\b",
    re.IGNORECASE,
)
_UI_WORDS = re.compile(
    r"\b(?:display|click|button|page|screen|dashboard|UI|user interface|form|icon|highlight\w*|"
    r"visual|view|navigate)\b",
    re.IGNORECASE,
)
_NUMBER_UNIT = re.compile(
    r"(?:<|≤|<=|>|≥|>=|under|within|at least|at most|less than|fewer than|up to)?\s*"
    r"\d+(?:\.\d+)?\s*(?:ms|milliseconds?|s\b|seconds?|minutes?|hours?|%|MB|GB|KB|"
    r"requests?|users?|files?|lines?|jobs?|times?)",
    re.IGNORECASE,
)
_ENDPOINT = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE)\s+`?(/[\w/{}:.\-]*)")
# An endpoint the feature itself provides, named in words: "provide a test endpoint", "include
# … in the unified integrations status endpoint". Endpoints it calls elsewhere are not matched.
_NAMED_ENDPOINT = re.compile(
    r"\b(?:provides?|exposes?|adds?|creates?|offers?|in|when)\s+(?:a|an|the)\s+"
    r"(?P<name>(?:[\w-]+\s+){0,3}?endpoint)\b(?!\s+(?:of|at|on)\b)",
    re.IGNORECASE,
)
# A requirement met by writing or publishing, not by code: a README, guidance, a deployment.
_DOCUMENTATION = re.compile(
    r"\b(?:README|documentation|quickstart|guidance|setup instructions|instructions for|"
    r"(?:deployed|published|hosted) (?:to|on|in)|changelog|document (?:the|how|its|each|all))\b",
    re.IGNORECASE,
)
_TEST_PATH = re.compile(r"(?:^|/)(?:tests?|__tests__|__vitest__|spec)(?:/|$)|[._-]test\.|_test\.")
_QUESTION_WORDS = frozenset(
    [
        "what",
        "happens",
        "how",
        "does",
        "handle",
        "handled",
        "handles",
        "occurs",
        "occur",
        "there",
        "happen",
    ]
)


class OfflineDrafter:
    """Drafts each section from the spec's own content."""

    name = NAME

    def __init__(self) -> None:
        # The facts of the inputs drafted last, with those inputs: holding them keeps their
        # identity from being reused by other inputs.
        self._last: tuple[DraftInputs, Facts] | None = None

    def facts(self, inputs: DraftInputs) -> Facts:
        if self._last is None or self._last[0] is not inputs:
            self._last = (inputs, derive(inputs))
        return self._last[1]

    async def draft_section(
        self,
        section: Section,
        inputs: DraftInputs,
        upstream: Upstream,
        feedback: Sequence[str],
    ) -> Drafted:
        builder = _BUILDERS[section.name]
        return Drafted(builder(self.facts(inputs), inputs, upstream))


# --- naming ------------------------------------------------------------------------------------


def _file_stem(component: ComponentPlan, language: Technology | None) -> str:
    if language and language.naming == "kebab":
        return component.slug.replace("_", "-")
    if language and language.naming == "camel" and language.extension != ".go":
        return camel(component.slug.replace("_", " ")) or component.slug
    return component.slug


def _ext(facts: Facts) -> str:
    return facts.language.extension if facts.language else ".py"


def _source_path(facts: Facts, component: ComponentPlan) -> str:
    source_dir = facts.language.source_dir if facts.language else "src"
    feature = facts.feature_slug.replace("_", "-") if _kebab(facts) else facts.feature_slug
    return f"{source_dir}/{feature}/{_file_stem(component, facts.language)}{_ext(facts)}"


def _kebab(facts: Facts) -> bool:
    return facts.language is not None and facts.language.naming == "kebab"


def _test_path(facts: Facts, level: str, stem: str) -> str:
    language = facts.language
    test_dir = language.test_dir if language else "tests"
    prefix = language.test_prefix if language else "test_"
    suffix = language.test_suffix if language else ""
    return f"{test_dir}/{level}/{prefix}{stem}{suffix}{_ext(facts)}"


def _ids(*groups: Sequence[str]) -> list[str]:
    seen: list[str] = []
    for group in groups:
        seen.extend(i for i in group if i not in seen)
    return seen


def _named_source_paths(facts: Facts) -> list[str]:
    return [path for path in facts.spec.named_paths if not _TEST_PATH.search(path)]


def _named_test_paths(facts: Facts) -> list[str]:
    return [path for path in facts.spec.named_paths if _TEST_PATH.search(path)]


# --- Goal --------------------------------------------------------------------------------------


def goal(facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]) -> p.GoalSection:
    _ = facts.say
    spec = facts.spec
    buildable = [r for r in spec.requirements if r.kind != "success"]
    criteria = [r for r in spec.requirements if r.kind == "success"]
    summary = summary_sentences(spec.summary)
    parts = [_.stop(summary) if summary else _("Implement {title}.", title=spec.title)]
    firsts = [s for s in spec.stories if s.priority == "P1"] or list(spec.stories[:1])
    if firsts:
        parts.append(
            _(
                "First deliverable ({ids}): {titles}.",
                ids=", ".join(s.id for s in firsts[:3]),
                titles="; ".join(_.stop(short(s.title, 60)).rstrip(".。") for s in firsts[:3]),
            )
        )
    if criteria:
        parts.append(
            _(
                "It implements {requirements} requirements and is proven by checks for "
                "{criteria} success criteria, each traced to steps and tests below.",
                requirements=len(buildable),
                criteria=len(criteria),
            )
        )
    else:
        parts.append(
            _(
                "It implements {requirements} requirements, each traced to steps and tests below.",
                requirements=len(buildable),
            )
        )
    return p.GoalSection(
        feature_name=short(spec.title, 80),
        summary=_("Technical implementation plan for {title}", title=short(spec.title, 80)),
        goal=(" " if _.language not in ("zh", "ja") else "").join(parts),
        reviews=[
            p.ReviewItem(
                text=_(
                    "State what exists in the repository today and what this change replaces "
                    "(offline drafting cannot read the repository)."
                )
            )
        ],
    )


# --- Architecture ------------------------------------------------------------------------------


def architecture(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.ArchitectureSection:
    _ = facts.say
    nodes: list[p.DiagramNode] = []
    edges: list[p.DiagramEdge] = []
    for index, actor in enumerate(facts.actors, 1):
        nodes.append(p.DiagramNode(id=f"actor{index}", label=actor, kind="actor"))
    for index, component in enumerate(facts.components, 1):
        nodes.append(p.DiagramNode(id=f"comp{index}", label=component.name, kind="component"))
        edges.append(p.DiagramEdge(source="actor1", target=f"comp{index}", label=None))
    # An external system is drawn only where a component's own requirements use it: a name
    # the spec mentions in passing (or only the constitution names) is no part of the design.
    externals = []
    for sighting in facts.sightings:
        if sighting.tech.kind not in ("service", "datastore") or not sighting.from_spec:
            continue
        users = [
            f"comp{i}"
            for i, component in enumerate(facts.components, 1)
            if any(_names(r.text, sighting.tech) for r in component.requirements)
        ]
        if not users:
            continue
        externals.append(sighting)
        node_id = f"ext{len(externals)}"
        kind: p.NodeKind = "datastore" if sighting.tech.kind == "datastore" else "external"
        nodes.append(p.DiagramNode(id=node_id, label=sighting.tech.name, kind=kind))
        edges.extend(p.DiagramEdge(source=user, target=node_id, label=None) for user in users)
    if facts.persisted and not any(s.tech.kind == "datastore" for s in externals):
        nodes.append(p.DiagramNode(id="store", label="Data Store", kind="datastore"))
        edges.append(p.DiagramEdge(source="comp1", target="store", label="persists"))

    stack = [
        p.StackRow(
            component=_stack_role(s.tech),
            technology=s.label,
            justification=_("named in {evidence}", evidence=s.evidence),
        )
        for s in facts.sightings
    ]
    reviews = []
    if facts.grounding is not None:
        declared = facts.grounding.stack()
        named = {row.technology.split(" ")[0].lower() for row in declared}
        # The repository's own language wins over a named one; without it (a repository of
        # markdown only) the language the spec or constitution names stays.
        has_language = any(row.component == "Implementation language" for row in declared)
        stack = declared + [
            row for row in stack if row.technology.split(" ")[0].lower() not in named
            and not (has_language and row.component == "Implementation language")
        ]  # fmt: skip
        if not declared:
            reviews.append(p.ReviewItem(text=_("Confirm the stack: no manifest was read.")))
    elif facts.language is None:
        stack.insert(
            0,
            p.StackRow(
                component="Implementation language",
                technology=_("Python (assumed)"),
                justification=_("the spec and constitution name no language; confirm"),
            ),
        )
        reviews.append(p.ReviewItem(text=_("Confirm the implementation language and stack.")))
    patterns = _patterns(facts)
    return p.ArchitectureSection(
        nodes=nodes, edges=edges, stack=stack, patterns=patterns, reviews=reviews
    )


def _names(text: str, tech: Technology) -> bool:
    return any(mentions(text, alias) for alias in tech.aliases if not alias.startswith("."))


def _stack_role(tech: Technology) -> str:
    return {
        "language": "Implementation language",
        "framework": "Framework",
        "library": "Library",
        "service": "External service",
        "datastore": "Data store",
        "test": "Test framework",
        "platform": "Platform",
    }[tech.kind]


_PATTERN_CUES: tuple[tuple[str, str, str], ...] = (
    ("adapter", "Adapter", N_("wrap each external system behind one interface")),
    ("idempot", "Idempotent operations", N_("repeat-safe steps so retries cannot duplicate work")),
    ("retry", "Retry with backoff", N_("recover from transient failures the spec names")),
    ("chain", "Pipeline / chain of tasks", N_("discrete stages that run in order")),
    ("queue", "Work queue", N_("decouple producers from workers")),
    ("cache", "Cache-aside", N_("serve repeated reads without recomputation")),
    ("plugin", "Plugin registry", N_("extend behaviour without changing the core")),
    ("mode", "Mode / strategy", N_("behaviour selected per file type or configuration")),
    ("event", "Event-driven updates", N_("react to state changes as they happen")),
    ("polling", "Bounded polling", N_("wait for a remote state with a limit")),
)


def _patterns(facts: Facts) -> list[p.DesignPattern]:
    patterns: list[p.DesignPattern] = []
    for cue, name, why in _PATTERN_CUES:
        cited = [r.id for r in facts.spec.requirements if cue in r.text.lower()]
        if cited:
            usage = f"{facts.say(why)} ({', '.join(cited[:4])})"
            patterns.append(p.DesignPattern(name=name, usage=usage))
    return patterns


# --- Proposed changes --------------------------------------------------------------------------


def components(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.ComponentsSection:
    _ = facts.say
    if facts.grounding is not None:
        return _grounded_components(facts, facts.grounding)
    named = _named_source_paths(facts)
    placement = _placement(facts, named)
    result: list[p.Component] = []
    for component in facts.components:
        on_named: dict[str, list[Requirement]] = {}
        elsewhere: list[Requirement] = []
        for requirement in component.requirements:
            path = placement.get(requirement.id)
            if path is None and _is_documentation(requirement):
                continue  # written, not coded: a Documentation & Release step (no source file)
            if path is None:
                elsewhere.append(requirement)
            else:
                on_named.setdefault(path, []).append(requirement)
        modified = [
            _modified_file(path, related, facts.explicit_changes.get(path, ()))
            for path, related in on_named.items()
        ]
        new_files = []
        if elsewhere or not modified:
            new_files.append(
                p.NewFile(
                    path=_source_path(facts, component),
                    purpose=_file_purpose(component, elsewhere, _),
                    symbols=_symbols(elsewhere),
                    requirement_ids=[r.id for r in elsewhere],
                    proposed=True,
                )
            )
        result.append(
            p.Component(
                name=component.name,
                purpose=_component_purpose(component, _),
                new_files=new_files,
                modified_files=modified,
            )
        )
    untouched = [path for path in named if path not in placement.values()]
    if untouched and result:  # named by the spec, but no requirement says what changes there
        result[0].modified_files.extend(
            _modified_file(path, [], facts.explicit_changes.get(path, ()))
            if facts.explicit_changes.get(path)
            else p.ModifiedFile(
                path=path,
                changes=[
                    p.FileChange(
                        description=_("apply the changes the spec describes for this file"),
                        requirement_ids=[],
                    )
                ],
                proposed=False,
            )
            for path in untouched
        )
    if facts.spec.entities:
        result.append(_data_model_component(facts))
    reviews = (
        [
            p.ReviewItem(
                text=_(
                    "Confirm the proposed file paths against the repository layout "
                    "(offline drafting cannot read the repository)."
                )
            )
        ]
        if any(f.proposed for c in result for f in c.new_files)
        else []
    )
    return p.ComponentsSection(components=result, reviews=reviews + _unnamed_review(facts, result))


def _grounded_components(facts: Facts, grounding: Grounding) -> p.ComponentsSection:
    """Modified Files are the ranked existing files (with their evidence); new files sit in
    the folder of the code they join, named like their siblings."""
    result: list[p.Component] = []
    taken: set[str] = set()
    for index, component in enumerate(facts.components):
        ids = {r.id for r in component.requirements}
        modified = [f for f in grounding.modified(ids, first=index == 0) if f.path not in taken]
        taken.update(f.path for f in modified)
        uncovered = [
            r for r in component.requirements if not any(
                r.id in c.requirement_ids for f in modified for c in f.changes
            )
        ]  # fmt: skip
        new_files = []
        sibling = grounding.sibling() if index == 0 else None
        if uncovered or not modified or sibling:
            path = sibling or _free(
                grounding, grounding.folder_for(ids), _name_words(facts, component)
            )
            new_files.append(
                p.NewFile(
                    path=path,
                    purpose=_file_purpose(component, uncovered, facts.say),
                    symbols=_symbols(uncovered),
                    requirement_ids=[r.id for r in uncovered],
                    proposed=True,
                )
            )
        result.append(
            p.Component(
                name=component.name,
                purpose=_component_purpose(component, facts.say),
                new_files=new_files,
                modified_files=modified,
            )
        )
    if result:
        result[0].modified_files.extend(
            f for f in _service_files(facts, grounding) if f.path not in taken
        )
    if facts.spec.entities:
        data = _data_model_component(facts)
        folder = grounding.folder_for(set(data.new_files[0].requirement_ids))
        path = _free(grounding, folder, [*facts.feature_slug.split("_")[:2], "models"])
        data.new_files[0] = data.new_files[0].model_copy(update={"path": path})
        result.append(data)
    reviews = [
        p.ReviewItem(
            text=facts.say(
                "Confirm the files to modify (ranked from the spec's words against {root}/; "
                "the evidence is beside each change) and the names of the new files (placed "
                "beside the code they join).",
                root=grounding.repository.root.name,
            )
        )
    ]
    return p.ComponentsSection(components=result, reviews=reviews + _unnamed_review(facts, result))


def _service_files(facts: Facts, grounding: Grounding) -> list[p.ModifiedFile]:
    """The compose files (and the env template beside them) a self-hosted service the spec
    names must be added to, when no compose file runs it yet."""
    services = [s for s in facts.sightings if s.tech.container]
    composes = grounding.compose_files()
    missing = [
        s
        for s in services
        if not any(mentions(text, alias) for text in composes.values() for alias in s.tech.aliases)
    ]
    if not missing:
        return []
    names = ", ".join(s.tech.name for s in missing)
    ids = [s.source for s in missing if facts.spec.requirement(s.source)]
    why = f"Why this file: the spec names {names}, which no compose file runs yet"
    result = [
        p.ModifiedFile(
            path=path,
            changes=[
                p.FileChange(description=f"add the {names} service(s)", requirement_ids=ids),
                p.FileChange(description=why, requirement_ids=[]),
            ],
            proposed=True,
        )
        for path in composes
    ]
    template = grounding.env_template()
    if composes and template:
        result.append(
            p.ModifiedFile(
                path=template,
                changes=[
                    p.FileChange(
                        description=f"add the settings {names} needs, with safe defaults",
                        requirement_ids=ids,
                    ),
                    p.FileChange(description=why, requirement_ids=[]),
                ],
                proposed=True,
            )
        )
    return result


def _name_words(facts: Facts, component: ComponentPlan) -> list[str]:
    if len(facts.components) == 1:
        return facts.feature_slug.split("_")
    return component.slug.split("_")


def _free(grounding: Grounding, folder: str, name_words: list[str]) -> str:
    """A new file's path that is not taken yet (an existing file is never "new")."""
    path = grounding.new_file(folder, name_words)
    extra = 2
    while grounding.repository.exists(path):
        path = grounding.new_file(folder, [*name_words, str(extra)])
        extra += 1
    return path


def _placement(facts: Facts, named: list[str]) -> dict[str, str]:
    """Requirement ID → the spec-named file it most likely changes, by shared words with the
    file's name (`Neo4jJobStore.ts` → neo4j, job, store). A spec without user stories (an
    OpenSpec change) lists exactly the files it touches, so every requirement lands on one."""
    if not named:
        return {}
    path_words = {path: set(words(_split_camel(path.rsplit("/", 1)[-1]))) for path in named}
    placement = {}
    for requirement in facts.spec.requirements:
        if requirement.kind == "success":
            continue
        requirement_words = set(words(requirement.text))
        best = max(named, key=lambda path: len(path_words[path] & requirement_words))
        if path_words[best] & requirement_words or not facts.spec.stories:
            placement[requirement.id] = best
    return placement


def _split_camel(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.split(".")[0]).replace("_", " ")


def _component_purpose(component: ComponentPlan, say: Messages) -> str:
    if component.story is not None:
        return short(component.story.text, 200) or component.name
    return say("Implements {ids}", ids=", ".join(r.id for r in component.requirements[:6])) + (
        "…" if len(component.requirements) > 6 else ""
    )


_PURPOSE_ITEMS = 6


def _file_purpose(
    component: ComponentPlan, requirements: Sequence[Requirement], say: Messages
) -> str:
    """What a new file does, in the requirements' own words (negations kept), since offline
    drafting names no functions the spec does not name."""
    if not requirements:
        return _component_purpose(component, say)
    actions = [short(after_modal(r.text), 100) for r in requirements[:_PURPOSE_ITEMS]]
    more = len(requirements) - _PURPOSE_ITEMS
    tail = say("; and {count} more (see Implementation Steps)", count=more) if more > 0 else ""
    text = "; ".join(a.rstrip(".。") for a in actions) + tail
    return text[:1].upper() + text[1:]


def _modified_file(
    path: str, requirements: Sequence[Requirement], explicit: Sequence[str] = ()
) -> p.ModifiedFile:
    """The changes to a spec-named file: what the spec itself says to do there ("Add
    `releaseJobs()` to …"), then what each requirement placed on it asks."""
    changes = [p.FileChange(description=line, requirement_ids=[]) for line in explicit]
    changes += [
        p.FileChange(description=short(after_modal(r.text), 120), requirement_ids=[r.id])
        for r in requirements
    ]
    return p.ModifiedFile(path=path, changes=changes, proposed=False)


def _is_documentation(requirement: Requirement) -> bool:
    return requirement.kind != "success" and bool(_DOCUMENTATION.search(requirement.text))


def _symbols(requirements: Sequence[Requirement]) -> list[p.CodeSymbol]:
    """Only the identifiers the requirements name themselves, each once per file: a name made
    up from prose (`limit_select_limit()`) misleads whoever trusts it, so the file's purpose
    and the review item describe the rest in words."""
    symbols: dict[str, p.CodeSymbol] = {}
    for requirement in requirements:
        for name, kind in named_identifiers(requirement.text):
            symbols.setdefault(
                name,
                p.CodeSymbol(
                    name=name,
                    kind=kind,
                    description=f"{short(requirement.text, 110)} [{requirement.id}]",
                ),
            )
    return list(symbols.values())


def _unnamed_review(facts: Facts, result: list[p.Component]) -> list[p.ReviewItem]:
    texts = {r.id: r.text for r in facts.spec.requirements}
    listed = {i for c in result for f in c.new_files for i in f.requirement_ids}
    unnamed = [i for i in texts if i in listed and not named_identifiers(texts[i])]
    if not unnamed:
        return []
    return [
        p.ReviewItem(
            text=facts.say(
                "Name the functions and types for {ids}: the spec names none, and offline "
                "drafting invents no identifiers.",
                ids=_id_list(unnamed, facts.say),
            )
        )
    ]


def _id_list(ids: Sequence[str], say: Messages, limit: int = 8) -> str:
    shown = ", ".join(ids[:limit])
    more = len(ids) - limit
    return shown + (say(" and {count} more", count=more) if more > 0 else "")


def _data_model_component(facts: Facts) -> p.Component:
    symbols = []
    related: list[str] = []
    for entity in facts.spec.entities:
        type_name = _type_name(entity.name)
        symbols.append(
            p.CodeSymbol(name=type_name, kind="class", description=short(entity.description, 110))
        )
        related += [
            r.id
            for r in facts.spec.requirements
            if r.kind != "success" and mentions(r.text, entity.name) and r.id not in related
        ]
    stem = "models" if not _kebab(facts) else "model"
    source_dir = facts.language.source_dir if facts.language else "src"
    feature = facts.feature_slug.replace("_", "-") if _kebab(facts) else facts.feature_slug
    return p.Component(
        name="Data model",
        purpose=facts.say("Types for the key entities the spec names"),
        new_files=[
            p.NewFile(
                path=f"{source_dir}/{feature}/{stem}{_ext(facts)}",
                purpose=facts.say("Key entities as types"),
                symbols=symbols,
                requirement_ids=related,
                proposed=True,
            )
        ],
        modified_files=[],
    )


def _type_name(name: str) -> str:
    """The entity's own name when it is already an identifier (`GerritInstance`), else its
    words joined in PascalCase, keeping their inner capitals ("Gerrit instance")."""
    if re.fullmatch(r"[A-Za-z_]\w*", name):
        return name
    parts = re.findall(r"[A-Za-z0-9]+", name)
    return "".join(part[:1].upper() + part[1:] for part in parts) or re.sub(r"\W", "", name)


def database(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.DatabaseSection:
    _ = facts.say
    if not facts.persisted:
        reason = (
            _("the spec describes no stored data, so there is no schema change")
            if not facts.spec.entities
            else _("the spec's entities are not described as stored in a database")
        )
        return p.DatabaseSection(database=None, not_applicable_reason=reason, reviews=[])
    tables = []
    migrations = []
    for index, entity in enumerate(facts.spec.entities, 1):
        table = re.sub(r"\W+", "_", "_".join(words(entity.name)) or f"entity_{index}")
        columns = [p.Column(name="id", type="BIGINT", constraints="PRIMARY KEY")]
        columns += [
            p.Column(name=attribute, type="TEXT", constraints=None)
            for attribute in _attributes(entity.description)
        ]
        columns.append(
            p.Column(
                name="created_at",
                type="TIMESTAMP",
                constraints="NOT NULL DEFAULT CURRENT_TIMESTAMP",
            )
        )
        related = [r.id for r in facts.spec.requirements if mentions(r.text, entity.name)]
        tables.append(p.Table(name=table, columns=columns, requirement_ids=related))
        migrations.append(
            p.Migration(
                name=f"{index:03d}_create_{table}",
                up=f"CREATE TABLE {table} (\n  "
                + ",\n  ".join(
                    f"{c.name} {c.type}{' ' + c.constraints if c.constraints else ''}"
                    for c in columns
                )
                + "\n);",
                down=f"DROP TABLE {table};",
            )
        )
    return p.DatabaseSection(
        database=p.Database(tables=tables, migrations=migrations),
        not_applicable_reason=None,
        reviews=[
            p.ReviewItem(
                text=_(
                    "Confirm column types, indexes and the migration tool: offline drafting "
                    "derives columns from the entity descriptions and types them TEXT."
                )
            )
        ],
    )


def _attributes(description: str) -> list[str]:
    match = re.search(r"\b(?:contains|includes|has|with)\b(.*)", description, re.IGNORECASE)
    if not match:
        return []
    names = []
    for part in re.split(r",|\band\b", match.group(1)):
        name = "_".join(words(part)[:2])
        if name and name not in names and name not in ("id", "created_at"):
            names.append(name)
    return names[:6]


def api(facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]) -> p.ApiSection:
    _ = facts.say
    endpoints: dict[tuple[str, str], list[str]] = {}
    unrouted: dict[str, list[str]] = {}  # endpoints the spec names without a method and route
    sources = [(r.id, r.text) for r in facts.spec.requirements]
    sources += [(s.id, s.text) for s in facts.spec.scenarios]
    for source_id, text in sources:
        for method, path in _ENDPOINT.findall(text):
            endpoints.setdefault((method.upper(), path.rstrip(".,")), []).append(source_id)
        for match in _NAMED_ENDPOINT.finditer(text):
            unrouted.setdefault(clean(match.group("name")).lower(), []).append(source_id)
    for short_name in [
        n for n in unrouted if any(o != n and o.endswith(" " + n) for o in unrouted)
    ]:
        longer = next(o for o in unrouted if o != short_name and o.endswith(" " + short_name))
        unrouted[longer] = _ids(unrouted[longer], unrouted.pop(short_name))  # one endpoint
    if not endpoints and not unrouted:
        return p.ApiSection(
            endpoints=[],
            not_applicable_reason=_(
                "the spec names no HTTP endpoint; the feature is reached through the "
                "components above"
            ),
            reviews=[],
        )
    result = [
        p.Endpoint(
            method=method,
            path=path,
            controller=None,  # never made up from the route: the spec names no handler
            service=None,
            validation=_("validate the request body and parameters against the spec's rules"),
            requirement_ids=_ids(ids),
        )
        for (method, path), ids in sorted(endpoints.items(), key=lambda item: item[0][1])
    ]
    result += [
        p.Endpoint(
            method="HTTP",
            path=_("{name} (route to choose)", name=name),
            controller=None,
            service=None,
            validation=_("validate the request body and parameters against the spec's rules"),
            requirement_ids=_ids(ids),
        )
        for name, ids in unrouted.items()
    ]
    reviews = [p.ReviewItem(text=_("Name the handler and service functions behind each endpoint."))]
    if unrouted:
        reviews.append(
            p.ReviewItem(
                text=_(
                    "Choose the method and route for: {names} (the spec names the endpoint but "
                    "not its route).",
                    names="; ".join(unrouted),
                )
            )
        )
    return p.ApiSection(endpoints=result, not_applicable_reason=None, reviews=reviews)


def testing(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.TestingSection:
    _ = facts.say
    spec = facts.spec
    unit_cases: dict[str, list[p.TestCase]] = {}
    e2e: list[p.TestCase] = []
    for component in facts.components:
        stem = _file_stem(component, facts.language)
        cases = unit_cases.setdefault(stem, [])
        for requirement in component.requirements:
            if _is_documentation(requirement):  # checked where it is published, not unit-tested
                e2e.append(
                    p.TestCase(
                        description=_(
                            "Check the published documentation or deployment: {text}",
                            text=short(requirement.text, 150),
                        ),
                        requirement_ids=[requirement.id],
                    )
                )
                continue
            case = p.TestCase(
                description=_case_text(requirement, _), requirement_ids=[requirement.id]
            )
            if _UI_WORDS.search(requirement.text):
                e2e.append(case)
            else:
                cases.append(case)
            if requirement.delta == "modified":  # what the change keeps must keep working
                cases.append(
                    p.TestCase(
                        description=_(
                            "Regression: the behaviour of {id} that this change keeps still holds",
                            id=requirement.id,
                        ),
                        requirement_ids=[requirement.id],
                    )
                )
    integration = [
        p.TestCase(
            description=_scenario_text(s.given, s.when, s.then, s.text, _), requirement_ids=[s.id]
        )
        for s in spec.scenarios
    ]
    integration += [
        p.TestCase(
            description=_("Edge case: {text}", text=short(e.text, 140)), requirement_ids=[e.id]
        )
        for e in spec.edge_cases
    ]
    endpoints = upstream.get("api")
    if isinstance(endpoints, p.ApiSection):
        integration += [
            p.TestCase(
                description=_(
                    "{method} {path} answers as specified and rejects bad input",
                    method=e.method,
                    path=e.path,
                ),
                requirement_ids=e.requirement_ids,
            )
            for e in endpoints.endpoints
        ]
    e2e += [
        p.TestCase(
            description=_("Check {id}: {text}", id=r.id, text=short(r.text, 140)),
            requirement_ids=[r.id],
        )
        for r in spec.requirements
        if r.kind == "success"
    ]
    suites = [
        p.TestSuite(level="unit", file=_test_path(facts, "unit", stem), cases=cases)
        for stem, cases in unit_cases.items()
        if cases
    ]
    feature = facts.feature_slug.replace("_", "-") if _kebab(facts) else facts.feature_slug
    for named in _named_test_paths(facts):
        suites.append(p.TestSuite(level="unit", file=named, cases=[]))
    if integration:
        suites.append(
            p.TestSuite(
                level="integration",
                file=_test_path(facts, "integration", feature),
                cases=integration,
            )
        )
    if e2e:
        suites.append(p.TestSuite(level="e2e", file=_test_path(facts, "e2e", feature), cases=e2e))
    if facts.grounding is not None:
        suites = _grounded_suites(facts, facts.grounding, upstream.get("components"), suites)
    suites = [s for s in suites if s.cases]
    reviews = []
    if facts.grounding is not None:
        pass  # the test framework comes from the manifests (Architecture Overview)
    elif not any(s.tech.kind == "test" for s in facts.sightings):
        reviews.append(
            p.ReviewItem(
                text=_("Confirm the test framework: neither spec nor constitution names one.")
            )
        )
    return p.TestingSection(suites=suites, reviews=reviews)


def _grounded_suites(
    facts: Facts,
    grounding: Grounding,
    components_section: BaseModel | None,
    suites: list[p.TestSuite],
) -> list[p.TestSuite]:
    """The same cases, in the files where the repository keeps the tests of the code they
    cover: an existing test file when the code has one, else a new one named like its
    neighbours. Modified files with tests of their own get a regression suite."""
    drafted = (
        components_section.components if isinstance(components_section, p.ComponentsSection) else []
    )
    sources = []
    for component in drafted[: len(facts.components)]:
        files = [f.path for f in component.new_files] + [
            f.path for f in component.modified_files if _is_source(f.path)
        ]
        sources.append(files[0] if files else None)
    all_ids = {r.id for r in facts.spec.requirements}
    fallback = grounding.new_file(grounding.folder_for(all_ids), facts.feature_slug.split("_"))
    result: list[p.TestSuite] = []
    unit_suites = [s for s in suites if s.level == "unit" and s.cases]
    for suite, source in zip(unit_suites, sources + [None] * len(unit_suites), strict=False):
        place = grounding.test_for(source or fallback)
        result.append(suite.model_copy(update={"file": place.path}))
    for suite in suites:
        if suite.level != "unit":
            words_for = [*facts.feature_slug.split("_")[:3], suite.level]
            source = grounding.new_file(grounding.folder_for(all_ids), words_for)
            result.append(suite.model_copy(update={"file": grounding.test_for(source).path}))
    covered = {s.file for s in result}
    for component in drafted:
        for modified in component.modified_files:
            if not _is_source(modified.path):
                continue
            ids = _ids(*(c.requirement_ids for c in modified.changes))
            for place in grounding.tests_for(modified.path, most=2):
                if not place.exists or place.path in covered:
                    continue
                covered.add(place.path)
                result.append(
                    p.TestSuite(
                        level="unit",
                        file=place.path,
                        cases=[
                            p.TestCase(
                                description=f"Extend the existing tests of `{modified.path}` "
                                f"for {', '.join(ids) or 'the change'}; what they cover still "
                                "holds",
                                requirement_ids=ids,
                            )
                        ],
                    )
                )
    return result


def _is_source(path: str) -> bool:
    return path.rsplit(".", 1)[-1] in {e.lstrip(".") for e in SOURCE_EXTENSIONS}


def _case_text(requirement: Requirement, say: Messages) -> str:
    text = short(requirement.text, 150)
    if requirement.delta == "removed":
        return say("The removed behaviour is gone: {text}", text=text)
    if requirement.ears == "if":
        return say("Rejects / recovers as specified: {text}", text=text)
    return say("Verify: {text}", text=text)


def _scenario_text(
    given: str | None, when: str | None, then: str | None, text: str, say: Messages
) -> str:
    if given or when or then:
        parts = [
            say(label, text=short(value, 70))
            for label, value in (
                (N_("Given {text}"), given),
                (N_("when {text}"), when),
                (N_("then {text}"), then),
            )
            if value
        ]
        return ("、" if say.language in ("zh", "ja") else ", ").join(parts)
    return short(text, 160)


# --- Implementation steps ----------------------------------------------------------------------

# OpenSpec deltas: what a step does to the requirement's behaviour.
_DELTA_VERBS = {
    "added": N_("Implement: {text}"),
    "modified": N_("Change: {text}"),
    "removed": N_("Remove: {text}"),
    "renamed": N_("Rename: {text}"),
}
_DAYS_PER_REQUIREMENT = 0.5
_DAYS_PER_TEST_STEP = 0.25


def steps(facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]) -> p.StepsSection:
    _ = facts.say
    spec = facts.spec
    phases: list[p.Phase] = []
    tests: list[p.Step] = []  # steps that write or run tests: sized as such
    setup = [
        p.Step(
            description=_("Create the module layout listed under Proposed Changes"),
            requirement_ids=[],
        )
    ]
    db = upstream.get("database")
    if isinstance(db, p.DatabaseSection) and db.database is not None:
        setup.append(
            p.Step(
                description=_("Write the schema migrations (up and down) and run them locally"),
                requirement_ids=_ids(*(t.requirement_ids for t in db.database.tables)),
            )
        )
    if spec.entities:
        setup.append(
            p.Step(description=_("Define the key entity types (Data model)"), requirement_ids=[])
        )
    phases.append(_phase("Setup & Foundation", setup, _, extra_days=0.5))

    for label, group in _priority_groups(facts):
        phase_steps: list[p.Step] = []
        for component in group:
            if not component.requirements:
                continue
            story_tests = _story_test_ids(facts, component)
            test_step = p.Step(
                description=(
                    _("Write the tests for {name} first, and see them fail", name=component.name)
                    if facts.test_first
                    else _("Write the tests for {name}", name=component.name)
                ),
                requirement_ids=_ids([r.id for r in component.requirements], story_tests),
            )
            tests.append(test_step)
            if facts.test_first:
                phase_steps.append(test_step)
            phase_steps += [
                p.Step(
                    description=_(_DELTA_VERBS[r.delta or "added"], text=short(r.text, 120)),
                    requirement_ids=[r.id],
                )
                for r in component.requirements
                if not _is_documentation(r)
            ]
            if not facts.test_first:
                phase_steps.append(test_step)
        if phase_steps:
            phases.append(_phase(label, phase_steps, _, tests))

    testing_section = upstream.get("testing")
    verification = [
        p.Step(
            description=_(
                "Handle and test edge case {id}: {text}", id=e.id, text=short(e.text, 90)
            ),
            requirement_ids=[e.id],
        )
        for e in spec.edge_cases
    ]
    verification += [
        p.Step(
            description=_("Measure {id}: {text}", id=r.id, text=short(r.text, 110)),
            requirement_ids=[r.id],
        )
        for r in spec.requirements
        if r.kind == "success"
    ]
    if isinstance(testing_section, p.TestingSection) and testing_section.suites:
        verification.append(
            p.Step(
                description=_("Run every suite listed under Testing and fix failures"),
                requirement_ids=[],
            )
        )
    if verification:
        phases.append(_phase("Testing & Verification", verification, _, verification))
    phases.append(
        _phase(
            "Documentation & Release",
            [
                p.Step(
                    description=_("Document: {text}", text=short(r.text, 120)),
                    requirement_ids=[r.id],
                )
                for r in spec.requirements
                if _is_documentation(r)
            ]
            + [
                p.Step(description=_("Document the feature for its users"), requirement_ids=[]),
                p.Step(
                    description=_("Release following the Rollback Plan's safeguards"),
                    requirement_ids=[],
                ),
            ],
            _,
            extra_days=0,
        )
    )
    return p.StepsSection(
        phases=phases,
        reviews=[
            p.ReviewItem(
                text=_(
                    "Replace the size-heuristic estimates with the team's own ({requirement} day "
                    "per requirement, {test} day per test or check step).",
                    requirement=_DAYS_PER_REQUIREMENT,
                    test=_DAYS_PER_TEST_STEP,
                )
            )
        ],
    )


def _story_test_ids(facts: Facts, component: ComponentPlan) -> list[str]:
    if component.story is None:
        return []
    return [s.id for s in facts.spec.scenarios if s.story_id == component.story.id]


def _priority_groups(facts: Facts) -> list[tuple[str, list[ComponentPlan]]]:
    groups: dict[str, list[ComponentPlan]] = {}
    for component in facts.components:
        priority = component.story.priority if component.story else None
        groups.setdefault(priority or "", []).append(component)
    labelled = []
    for priority, members in groups.items():
        if priority:
            label = f"Core Implementation ({priority})"
        elif facts.spec.stories:
            label = "Core Implementation (unranked: the spec sets no priorities)"
        else:
            label = "Core Implementation"
        labelled.append((label, members))
    return labelled


def _phase(
    name: str,
    phase_steps: list[p.Step],
    say: Messages,
    tests: Sequence[p.Step] = (),
    extra_days: float = 0.0,
) -> p.Phase:
    days = extra_days
    for step in phase_steps:
        is_test = any(step is test for test in tests)
        days += (
            _DAYS_PER_TEST_STEP
            if is_test
            else _DAYS_PER_REQUIREMENT
            if step.requirement_ids
            else 0.25
        )
    days = max(0.5, round(days * 2) / 2)
    # "N day(s)" stays English: the footer sums the phases' durations from it.
    unit = "day" if days == 1 else "days"
    heuristic = say("size heuristic; review")
    return p.Phase(
        name=name,
        steps=phase_steps,
        estimate=f"{days:g} {unit} ({heuristic})",
    )


# --- Dependencies, data flow -------------------------------------------------------------------


def dependencies(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.DependenciesSection:
    _ = facts.say
    external = [
        p.ExternalDependency(
            name=s.tech.name,
            version=None,
            justification=_("named in {evidence}", evidence=s.evidence),
        )
        for s in facts.sightings
        if s.tech.kind in ("library", "framework", "test")
    ]
    internal = []
    for requirement in facts.spec.requirements:
        if requirement.kind == "success":  # a criterion measures the feature; it needs nothing
            continue
        match = re.search(r"\b(?:existing|reuse|current)\s+([^,.;()]{3,60})", requirement.text)
        if match:
            internal.append(
                p.InternalDependency(
                    module=short(match.group(1), 50),
                    reason=f"{requirement.id} ({short(after_modal(requirement.text), 80)})",
                )
            )
    reviews = []
    if external:
        reviews.append(p.ReviewItem(text=_("Pin versions for the external dependencies.")))
    return p.DependenciesSection(
        external=external,
        internal=internal,
        prerequisites=[short(a, 160) for a in facts.spec.assumptions],
        reviews=reviews,
    )


def data_flow(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.DataFlowSection:
    _ = facts.say
    spec = facts.spec
    first = facts.components[0]
    participants = [
        p.Participant(id="actor1", label=facts.actors[0]),
        p.Participant(id="comp1", label=first.name),
    ]
    messages: list[p.Message] = []
    story_id = first.story.id if first.story else None
    scenarios = [s for s in spec.scenarios if s.story_id == story_id] or list(spec.scenarios)
    for scenario in scenarios[:3]:
        request = scenario.when or scenario.text
        messages.append(
            p.Message(source="actor1", target="comp1", text=short(request, 80), reply=False)
        )
        if scenario.then:
            messages.append(
                p.Message(
                    source="comp1", target="actor1", text=short(scenario.then, 80), reply=True
                )
            )
    if not messages:
        for requirement in first.requirements[:3]:
            messages.append(
                p.Message(
                    source="actor1",
                    target="comp1",
                    text=short(after_modal(requirement.text), 80),
                    reply=False,
                )
            )
    # The external system this flow talks to, if its own requirements or scenarios name one.
    flow_text = [r.text for r in first.requirements] + [s.text for s in scenarios[:3]]
    store = next(
        (
            s
            for s in facts.sightings
            if s.tech.kind in ("datastore", "service")
            and any(_names(text, s.tech) for text in flow_text)
        ),
        None,
    )
    if store is not None and messages:
        participants.append(p.Participant(id="ext1", label=store.tech.name))
        messages.insert(
            1, p.Message(source="comp1", target="ext1", text="read / write", reply=False)
        )
        messages.insert(2, p.Message(source="ext1", target="comp1", text="result", reply=True))
    return p.DataFlowSection(participants=participants, messages=messages, reviews=[])


# --- Errors, security, performance, rollback -----------------------------------------------------


def error_handling(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.ErrorHandlingSection:
    _ = facts.say
    rows: list[p.ErrorType] = []
    codes: set[str] = set()

    def add(
        code_words: str, fallback: str, description: str, handling: str, ids: list[str]
    ) -> None:
        significant = [w for w in words(code_words) if w not in _QUESTION_WORDS][:3]
        code = "E_" + ("_".join(significant).upper() or fallback)
        while code in codes:
            code += "_2"
        codes.add(code)
        rows.append(
            p.ErrorType(code=code, description=description, handling=handling, requirement_ids=ids)
        )

    for requirement in facts.spec.requirements:
        if requirement.ears == "if" or (
            requirement.kind != "success" and _FAILURE_WORDS.search(requirement.text)
        ):
            fallback = re.sub(r"\W", "_", requirement.id).upper()
            handling = _then_part(requirement.text) or _("Handle as the requirement states")
            add(
                after_modal(requirement.text),
                fallback,
                short(requirement.text, 120),
                short(handling, 120),
                [requirement.id],
            )
    for edge in facts.spec.edge_cases:
        answer = re.search(r"\(([^)]{3,})\)\s*$", edge.text)
        question = re.sub(r"\s*\([^)]*\)\s*$", "", edge.text)
        handling = (
            answer.group(1) if answer else _("Decide the behaviour (the spec leaves it open)")
        )
        add(question, edge.id, short(question, 120), short(handling, 120), [edge.id])
    logging = [
        p.LogLevel(level="Debug", events=_("inputs and decisions of each step, without secrets")),
        p.LogLevel(level="Info", events=_("each completed user-visible operation")),
        p.LogLevel(level="Warn", events=_("recoverable errors from the table above")),
        p.LogLevel(level="Error", events=_("unrecoverable errors, with context to reproduce")),
    ]
    return p.ErrorHandlingSection(errors=rows, logging=logging, reviews=[])


def _then_part(text: str) -> str | None:
    match = re.search(r"\bTHEN\b(.*)", text)
    return clean(match.group(1)) if match else None


def security(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.SecuritySection:
    _ = facts.say
    items = [
        p.SecurityItem(
            text=_("Implement and test: {text}", text=short(r.text, 140)), requirement_ids=[r.id]
        )
        for r in facts.spec.requirements
        if r.kind != "success" and any(mentions(r.text, term) for term in _SECURITY_TERMS)
    ]
    if inputs.constitution is not None:
        items += [
            p.SecurityItem(
                text=_("Comply with {id}: {text}", id=rule.id, text=short(rule.text, 140)),
                requirement_ids=[],
            )
            for rule in inputs.constitution.rules
            if rule.category == "security"
        ]
    api_section = upstream.get("api")
    if isinstance(api_section, p.ApiSection) and api_section.endpoints:
        items.append(
            p.SecurityItem(
                text=_("Validate input on every endpoint listed under API Layer"),
                requirement_ids=_ids(*(e.requirement_ids for e in api_section.endpoints)),
            )
        )
    items.append(
        p.SecurityItem(
            text=_("Keep credentials out of code, logs, error messages and this plan"),
            requirement_ids=[],
        )
    )
    return p.SecuritySection(items=items, reviews=[])


def performance(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.PerformanceSection:
    _ = facts.say
    targets = []
    for requirement in facts.spec.requirements:
        if requirement.kind not in ("success", "non_functional"):
            continue
        match = _NUMBER_UNIT.search(requirement.text)
        if match:
            # The metric is the sentence up to its number, which is the target beside it; a
            # sentence that starts with its number ("100% of files …") is the metric whole.
            before = re.sub(r"[\s,;:.]+$", "", clean(requirement.text[: match.start()]))
            leads = len(before.split()) < 3
            targets.append(
                p.PerformanceTarget(
                    metric=short(requirement.text.rstrip(". ") if leads else before, 100),
                    target=_("as stated") if leads else clean(match.group(0)),
                    requirement_ids=[requirement.id],
                )
            )
    techniques = []
    for cue, technique in (
        ("incremental", _("Incremental processing where the spec allows it")),
        ("cache", _("Cache repeated reads")),
        ("pagination", _("Paginate large result sets")),
        ("index", _("Index the fields the feature queries")),
        ("concurren", _("Bound concurrency explicitly")),
        ("large", _("Measure with the largest input the spec mentions")),
    ):
        cited = [r.id for r in facts.spec.requirements if cue in r.text.lower()] + [
            e.id for e in facts.spec.edge_cases if cue in e.text.lower()
        ]
        if cited:
            techniques.append(f"{technique} ({', '.join(cited[:4])})")
    return p.PerformanceSection(targets=targets, techniques=techniques, reviews=[])


def rollback(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.RollbackSection:
    _ = facts.say
    result: list[p.RollbackStep] = []
    flags = [
        r
        for r in facts.spec.requirements
        if re.search(r"feature flag|enable/disable|disable|kill switch|toggle", r.text, re.I)
    ]
    if flags:
        result.append(
            p.RollbackStep(
                title=_("Disable the feature by configuration"),
                detail=_(
                    "Turn it off as {ids} allows; no deploy needed",
                    ids=", ".join(r.id for r in flags[:3]),
                ),
                command=None,
            )
        )
    db = upstream.get("database")
    if isinstance(db, p.DatabaseSection) and db.database is not None:
        result.append(
            p.RollbackStep(
                title=_("Revert database migrations"),
                detail=_("Apply the down migrations under Database Schema, newest first"),
                command=None,
            )
        )
    else:
        result.append(
            p.RollbackStep(
                title=_("No data to migrate back"),
                detail=_("The plan changes no schema, so reverting the code is enough"),
                command=None,
            )
        )
    result.append(
        p.RollbackStep(
            title=_("Revert code"),
            detail=_("Revert the merge commit of this feature and redeploy"),
            command='git revert -m 1 "$FEATURE_MERGE_COMMIT"',
        )
    )
    result.append(
        p.RollbackStep(
            title=_("Notify stakeholders"),
            detail=_("Tell the spec's owners what was rolled back and why"),
            command=None,
        )
    )
    return p.RollbackSection(steps=result, reviews=[])


# --- Verification, open issues -----------------------------------------------------------


def verification(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.VerificationSection:
    _ = facts.say
    spec = facts.spec
    command = facts.language.test_command if facts.language else "python -m pytest"
    commands = [p.VerificationCommand(comment="Run all tests", command=command)]
    testing_section = upstream.get("testing")
    per_file = facts.language.file_test_command if facts.language else "python -m pytest {file}"
    own = facts.grounding.commands() if facts.grounding is not None else []
    if own:  # the repository's own commands; no per-file guess in a runner we did not read
        commands, per_file = own, ""
    if isinstance(testing_section, p.TestingSection) and per_file:
        for suite in testing_section.suites:
            directory = suite.file.rsplit("/", 1)[0]
            commands.append(
                p.VerificationCommand(
                    comment=f"{suite.level.capitalize()} tests",
                    command=per_file.format(file=suite.file, dir=directory),
                )
            )
    criteria = [
        p.Check(text=_("All tests listed under Testing pass"), requirement_ids=[]),
        p.Check(
            text=_("Every requirement has at least one passing test (Requirement Coverage below)"),
            requirement_ids=[],
        ),
    ]
    criteria += [
        p.Check(
            text=_(
                "{id} holds: {text} — {kind}",
                id=r.id,
                text=short(r.text, 140),
                kind=_check_kind(r, _),
            ),
            requirement_ids=[r.id],
        )
        for r in spec.requirements
        if r.kind == "success"
    ]
    manual = []
    firsts = [s for s in spec.stories if s.priority in ("P1", None)][:4]
    if firsts:
        manual.append(
            p.ManualGroup(
                title="Functional Testing",
                checks=[
                    p.Check(
                        text=_("Walk through {id}: {title}", id=s.id, title=short(s.title, 80)),
                        requirement_ids=[s.id],
                    )
                    for s in firsts
                ],
            )
        )
    if spec.edge_cases:
        manual.append(
            p.ManualGroup(
                title="Edge Cases",
                checks=[
                    p.Check(text=short(e.text, 100), requirement_ids=[e.id])
                    for e in spec.edge_cases[:6]
                ],
            )
        )
    security_section = upstream.get("security")
    if isinstance(security_section, p.SecuritySection):
        secured = [i for i in security_section.items if i.requirement_ids][:4]
        if secured:
            manual.append(
                p.ManualGroup(
                    title="Security Testing",
                    checks=[
                        p.Check(
                            text=_("Try to break: {text}", text=short(i.text, 100)),
                            requirement_ids=i.requirement_ids,
                        )
                        for i in secured
                    ],
                )
            )
    deployment = [
        _("Run the full test suite on the main branch"),
        _("Release through the project's usual process"),
        _("Watch the logs for the errors listed under Error Handling"),
        _("Confirm the success criteria above with the spec's owners"),
    ]
    return p.VerificationSection(
        commands=commands,
        success_criteria=criteria,
        manual=manual,
        deployment=deployment,
        reviews=[]
        if own or (facts.language and facts.grounding is None)
        else [p.ReviewItem(text=_("Confirm the test command for the project's language."))],
    )


def _check_kind(requirement: Requirement, say: Messages) -> str:
    if _NUMBER_UNIT.search(requirement.text):
        return say("measured by a benchmark or timed test")
    if re.search(r"\b(?:survey|satisf|percent of users|report)\w*", requirement.text, re.I):
        return say("post-release metric with a named owner")
    return say("checked by the tests tagged with it")


def open_issues(
    facts: Facts, inputs: DraftInputs, upstream: Mapping[str, BaseModel]
) -> p.OpenIssuesSection:
    _ = facts.say
    spec = facts.spec
    issues = [
        p.OpenIssue(
            text=_("Clarify: {text}", text=clean(marker.text)),
            source=f"spec line {marker.line}"
            + (f", {marker.requirement_id}" if marker.requirement_id else ""),
        )
        for marker in spec.clarifications
    ]
    reviews = []
    if not spec.requirements:
        reviews.append(
            p.ReviewItem(
                text=_(
                    "The spec has no requirement IDs: add them (FR-001, …) so the plan can "
                    "trace each requirement to steps and tests."
                )
            )
        )
    # What the constitution lacks is added when the plan is assembled (drafting.notices).
    return p.OpenIssuesSection(issues=issues, reviews=reviews)


_Builder = Callable[[Facts, DraftInputs, Mapping[str, BaseModel]], BaseModel]
_BUILDERS: dict[SectionName, _Builder] = {
    "goal": goal,
    "architecture": architecture,
    "components": components,
    "database": database,
    "api": api,
    "testing": testing,
    "steps": steps,
    "dependencies": dependencies,
    "data_flow": data_flow,
    "error_handling": error_handling,
    "security": security,
    "performance": performance,
    "rollback": rollback,
    "verification": verification,
    "open_issues": open_issues,
}
if set(_BUILDERS) != set(NAMES):
    raise AssertionError(f"offline builders missing for {set(NAMES) - set(_BUILDERS)}")
