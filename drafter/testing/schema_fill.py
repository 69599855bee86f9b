"""Schema-driven answers for the fake provider: strict-mode checks and a deterministic filler.

The filler knows drafter's plan vocabulary (requirement_ids, paths, mermaid ids, SQL) so that
its objects pass drafter's own validators, and falls back to plain sentences for anything else.
Stdlib only: the fake server must run wherever Python does.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonSchema = Mapping[str, Any]

# Requirement-like IDs as spec formats write them: spec-kit (FR-001, NFR-2, SC-003), scenarios
# (US2.1), edge cases (EC1), Kiro criteria (R1.3), author IDs (DESIGN-REQ-001, DOC-REQ-XYZ) and
# OpenSpec capability requirements (`jobs:stale-recovery`, which need a hyphen to tell them from
# ordinary `word:word` text).
ID_PATTERN = re.compile(
    r"""
    (?<![\w/.:-])
    (?:
        (?:DESIGN|DOC)-REQ-[A-Z0-9]+(?:-[A-Z0-9]+)*
      | (?:FR|NFR|SC|REQ)-\d+(?:\.\d+)*
      | US\d+\.\d+
      | R\d+\.\d+
      | EC\d+
      | [a-z][a-z0-9]*(?:-[a-z0-9]+)*:[a-z][a-z0-9]*(?:-[a-z0-9]+)+
    )
    (?![\w-]|:\w|\.\d)
    """,
    re.VERBOSE,
)

# Keywords OpenAI's strict mode rejects (anyOf is the only composition it accepts).
_UNSUPPORTED = (
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "patternProperties",
    "unevaluatedProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
)


_MARKER = re.compile(r"\[NEEDS CLARIFICATION:?\s*([^\]\n]*)\]")
_FENCE = re.compile(r"^\s*(`{3,})")


def find_ids(text: str) -> list[str]:
    """Requirement IDs in `text`, each once, in order of first appearance.

    When the prompt carries drafter's "# ID index" (one `- ID (kind): text` line per ID),
    only the IDs listed there count: a constitution or spec may hold ID-like strings
    (`asdf:test-system`) that no plan may cite."""
    index = _ID_INDEX.search(text)
    if index is not None:
        return list(dict.fromkeys(_INDEX_LINE.findall(index.group(1))))
    return list(dict.fromkeys(m.group(0) for m in ID_PATTERN.finditer(text)))


def find_repository(text: str) -> tuple[list[str], list[str]]:
    """The existing files and folders of drafter's repository map, when the prompt has one:
    a grounded answer modifies only existing files and puts new ones in existing folders."""
    section = _REPOSITORY.search(text)
    if section is None:
        return [], []
    body = section.group(1)
    return _RANKED_LINE.findall(body), _FOLDER_LINE.findall(body)


_REPOSITORY = re.compile(r"^# Repository \(.*?\n(.*?)(?=^# |\Z)", re.MULTILINE | re.DOTALL)
_RANKED_LINE = re.compile(r"^- `([^`]+)`: ", re.MULTILINE)
_FOLDER_LINE = re.compile(r"^- `([^`]+)/` \(\d+\)$", re.MULTILINE)
_ID_INDEX = re.compile(r"^# ID index\n(.*?)(?=^# |\Z)", re.MULTILINE | re.DOTALL)
_INDEX_LINE = re.compile(r"^- (\S+) \(", re.MULTILINE)


@dataclass(frozen=True)
class Clarification:
    """A `[NEEDS CLARIFICATION: ...]` marker found in the prompt."""

    text: str
    line: int | None  # line in the fenced document it sits in, when a fence encloses it
    requirement_id: str | None  # the last ID before it on its line


def find_clarifications(prompt: str) -> list[Clarification]:
    """Clarification markers in `prompt`, each once (a marker with only dots is an example)."""
    found: dict[str, Clarification] = {}
    fence: tuple[int, int] | None = None  # (backtick count, index) of the open fence
    for index, line in enumerate(prompt.split("\n")):
        ticks = _FENCE.match(line)
        if fence is None and ticks:
            fence = (len(ticks.group(1)), index)
            continue
        if fence is not None and ticks and not line.strip().strip("`"):
            if len(ticks.group(1)) >= fence[0]:  # a shorter run is content (CommonMark)
                fence = None
            continue
        for match in _MARKER.finditer(line):
            text = match.group(1).strip()
            if text.strip(".…") and text not in found:
                ids = find_ids(line[: match.start()])
                found[text] = Clarification(
                    text, index - fence[1] if fence else None, ids[-1] if ids else None
                )
    return list(found.values())


class SchemaError(ValueError):
    """A schema the real API would reject in strict mode; the message mimics OpenAI's."""


def _resolve(root: JsonSchema, ref: str) -> JsonSchema:
    if not ref.startswith("#"):
        raise SchemaError(f"reference {ref!r} is not local; only '#/...' references resolve")
    node: Any = root
    for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or key not in node:
            raise SchemaError(f"reference {ref!r} can't be resolved")
        node = node[key]
    if not isinstance(node, Mapping):
        raise SchemaError(f"reference {ref!r} does not point at a schema")
    return node


def check_strict(schema: JsonSchema) -> None:
    """Raise `SchemaError` where OpenAI strict structured output would answer 400."""
    if schema.get("type") != "object" or "anyOf" in schema:
        raise SchemaError(
            "In context=(), schema must be a JSON Schema of 'type: \"object\"', "
            "got 'type: \"" + str(schema.get("type")) + "\"'."
        )
    _check(schema, schema, ())


def _check(root: JsonSchema, node: JsonSchema, ctx: tuple[str, ...]) -> None:
    where = f"In context={ctx!r}, "
    if "$ref" in node:
        _resolve(root, str(node["$ref"]))
    if node.get("default", None) is not None:
        raise SchemaError(where + "'default' is not permitted.")
    for key in _UNSUPPORTED:
        if key in node:
            raise SchemaError(where + f"'{key}' is not permitted.")
    types = node.get("type")
    if types == "object" or (isinstance(types, list) and "object" in types) or "properties" in node:
        if node.get("additionalProperties") is not False:
            raise SchemaError(
                where + "'additionalProperties' is required to be supplied and to be false."
            )
        properties: Mapping[str, Any] = node.get("properties", {})
        required = node.get("required", [])
        missing = [k for k in properties if k not in required]
        if not isinstance(required, list) or missing:
            raise SchemaError(
                where + "'required' is required to be supplied and to be an array including "
                f"every key in properties. Missing '{missing[0] if missing else ''}'."
            )
        for key, sub in properties.items():
            _check(root, sub, (*ctx, "properties", key))
    if isinstance(node.get("items"), Mapping):
        _check(root, node["items"], (*ctx, "items"))
    for keyword in ("anyOf", "allOf", "prefixItems"):
        for i, sub in enumerate(node.get(keyword, [])):
            _check(root, sub, (*ctx, keyword, str(i)))
    for keyword in ("$defs", "definitions"):
        for name, sub in node.get(keyword, {}).items():
            _check(root, sub, (*ctx, keyword, name))


# --- the filler -------------------------------------------------------------------------------

_PHRASES: dict[str, str] = {
    "feature_name": "Feature workflow {k}",
    "summary": "Implement feature workflow {k} with validated input and clear errors.",
    "goal": (
        "The service gains workflow {k}: requests are validated, persisted and reported. "
        "Unit and integration tests prove each requirement it serves."
    ),
    "purpose": "Owns the validation and persistence logic of workflow {k}.",
    "description": "Validates the request, stores the result and reports failures, step {k}.",
    "justification": "Already used by the project and covers what workflow {k} needs.",
    "usage": "Applied where workflow {k} crosses a module boundary, to keep it testable.",
    "technology": "Python 3.11 standard library",
    "component": "Workflow service {k}",
    "module": "feature.workflow_{k}",
    "reason": "Workflow {k} calls it to reuse the existing validation rules.",
    "handling": "Reject the request with a clear message and log it at warning level.",
    "events": "Workflow {k} requests, validation failures and storage errors.",
    "metric": "Request latency of workflow {k} (p95)",
    "target": "under 200 ms at 50 requests per second",
    "title": "Check workflow {k}",
    "detail": "Revert the deployment of workflow {k} and confirm the service answers.",
    "comment": "Run the unit and integration tests of workflow {k}",
    "command": "python -m pytest -q tests",
    "code": "E_WORKFLOW_{k}",
    "estimate": "1 day (size heuristic)",
    "version": ">=1.0",
    "type": "VARCHAR(255)",
    "constraints": "NOT NULL",
    "text": "Confirm workflow {k} validates every input before it is stored.",
    "label": "Workflow step {k}",
    "controller": "WorkflowController.handle_{k}",
    "service": "WorkflowService.run_{k}",
    "validation": "Request body checked against the workflow {k} schema",
}
# Names for the objects inside an array, keyed by the array's property name.
_NAMES: dict[str, str] = {
    "symbols": "handle_workflow_{k}()",
    "columns": "column_{k}",
    "tables": "workflow_item_{k}",
    "migrations": "00{k}_add_workflow_item_{k}",
    "external": "dependency-{k}",
    "phases": "Phase {k}: build and verify workflow",
}
_METHODS = ("POST", "GET", "PUT", "DELETE")
# Prose in the spec's language, as drafter's system prompt asks of a model ("Write prose in the
# spec's language"); values that are code, commands or measures stay as they are.
_LOCAL_PROSE: dict[str, str] = {
    "ja": "仕様のとおりにワークフロー {k} を実装し、検証する。",
    "zh": "按规格说明实现并验证工作流 {k}。",
    "ko": "명세대로 워크플로 {k}를 구현하고 검증한다.",
}
_TECHNICAL = frozenset(
    "command code estimate version type constraints controller service target method level "
    "status kind".split()
)
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def prompt_language(prompt: str) -> str:
    """The language of the spec quoted in `prompt`, by script: "ja", "ko", "zh" or "en"."""
    for language, script in (("ja", _KANA), ("ko", _HANGUL), ("zh", _HAN)):
        if len(script.findall(prompt)) >= 50:
            return language
    return "en"


@dataclass
class _Fill:
    """State for one answer: counters make values distinct, ids tie edges to nodes."""

    root: JsonSchema
    requirement_ids: list[str]
    clarifications: list[Clarification]
    counts: Counter[str] = field(default_factory=Counter)
    node_ids: list[str] = field(default_factory=list)
    language: str = "en"  # the spec's, for prose: a model is told to write in it
    id_lists: int = 0  # requirement_ids lists filled so far in the current top-level item
    grounded: bool = False  # the prompt carries drafter's repository map
    ranked: list[str] = field(default_factory=list)  # its existing files
    folders: list[str] = field(default_factory=list)  # … and existing folders

    def next(self, key: str) -> int:
        self.counts[key] += 1
        return self.counts[key]

    def deref(self, node: JsonSchema) -> JsonSchema:
        seen = 0
        while "$ref" in node:
            node = _resolve(self.root, str(node["$ref"]))
            seen += 1
            if seen > 64:
                raise SchemaError("reference cycle without an object in between")
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            merged = {k: v for k, v in node.items() if k != "allOf"}
            return {**self.deref(all_of[0]), **merged}
        return node


def fill(schema: JsonSchema, prompt: str) -> Any:
    """A deterministic object valid against `schema`, tracing the IDs found in `prompt`."""
    ranked, folders = find_repository(prompt)
    state = _Fill(
        grounded=_REPOSITORY.search(prompt) is not None,
        root=schema,
        requirement_ids=find_ids(prompt),
        clarifications=find_clarifications(prompt),
        language=prompt_language(prompt),
        ranked=ranked,
        folders=folders,
    )
    return _value(state, schema, name="", parent="", siblings={}, depth=0)


def _branches(node: JsonSchema) -> list[JsonSchema]:
    if "anyOf" in node:
        return list(node["anyOf"])
    types = node.get("type")
    if isinstance(types, list):
        return [{**node, "type": t} for t in types]
    return [node]


def _value(
    state: _Fill,
    node: JsonSchema,
    *,
    name: str,
    parent: str,
    siblings: Mapping[str, Any],
    depth: int,
) -> Any:
    node = state.deref(node)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        options = list(node["enum"])
        return options[(state.next(f"enum:{name}") - 1) % len(options)]
    branches = [state.deref(b) for b in _branches(node)]
    if len(branches) > 1:
        real = [b for b in branches if b.get("type") != "null"]
        # A null scalar is the harmless choice; a null object or list would drop content
        # (e.g. a database section with no database), so those are filled in.
        if len(real) < len(branches) and not any(
            b.get("type") in ("object", "array") for b in real
        ):
            return None
        node = real[0] if real else branches[0]
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return _object(state, node, parent=name, depth=depth)
    if kind == "array":
        return _array(state, node, name=name, depth=depth)
    if kind == "string":
        return _string(state, node, name=name, parent=parent, siblings=siblings)
    if kind == "integer":
        return max(int(node.get("minimum", 1)), min(int(node.get("maximum", 1 << 31)), 1))
    if kind == "number":
        return float(max(node.get("minimum", 1.0), min(node.get("maximum", 1e9), 1.0)))
    if kind == "boolean":
        return name == "reply" and state.next("reply") % 2 == 0
    return None


def _has_node_ids(state: _Fill, node: JsonSchema) -> bool:
    """Whether a property holds a list of objects with an `id` (diagram nodes, participants)."""
    node = state.deref(node)
    if node.get("type") != "array" or not isinstance(node.get("items"), Mapping):
        return False
    return "id" in state.deref(node["items"]).get("properties", {})


def _object(state: _Fill, node: JsonSchema, *, parent: str, depth: int) -> dict[str, Any]:
    properties: Mapping[str, JsonSchema] = node.get("properties", {})
    # Nodes before edges, whatever the schema's order, so edges can name existing ids.
    order = sorted(properties, key=lambda k: not _has_node_ids(state, properties[k]))
    built: dict[str, Any] = {}
    for key in order:
        built[key] = _value(
            state, properties[key], name=key, parent=parent, siblings=built, depth=depth + 1
        )
    if "source" in properties and "target" in properties and state.node_ids:
        n = state.next("edge") - 1
        ids = state.node_ids
        built["source"] = ids[n % len(ids)]
        built["target"] = ids[(n + 1) % len(ids)]
    return {key: built[key] for key in properties}


def _array(state: _Fill, node: JsonSchema, *, name: str, depth: int) -> list[Any]:
    items: JsonSchema = node.get("items", {})
    if name == "requirement_ids":
        return _trace(state)
    if name == "issues" and state.clarifications:
        return [_issue(state, items, note, depth) for note in state.clarifications]
    # Reviews are what a drafter could not decide; a happy-path answer has none. A grounded
    # answer modifies no file when the repository map ranks none.
    wanted = 0 if name == "reviews" else 2 if depth <= 2 or _has_node_ids(state, node) else 1
    if name == "modified_files" and state.grounded and not state.ranked:
        wanted = 0
    low = int(node.get("minItems", 0))
    high = int(node.get("maxItems", wanted))
    values = []
    for _ in range(max(low, min(wanted, high))):
        if depth == 1:
            # Each item of a top-level list starts over: its first ID list carries every ID,
            # so cross-section rules (every endpoint has an integration test of its IDs,
            # tests before code) hold whichever items they compare.
            state.id_lists = 0
        values.append(_value(state, items, name=name, parent=name, siblings={}, depth=depth))
    return values


def _trace(state: _Fill) -> list[str]:
    """All IDs on the first list of an item, then one each: every ID is traced somewhere."""
    ids = state.requirement_ids
    state.id_lists += 1
    if not ids:
        return []
    if state.id_lists == 1:
        return list(ids)
    return [ids[(state.next("trace") - 1) % len(ids)]]


def _issue(state: _Fill, items: JsonSchema, note: Clarification, depth: int) -> Any:
    """An open issue carrying a clarification marker, citing its line and requirement."""
    issue = _value(state, items, name="issues", parent="issues", siblings={}, depth=depth)
    if not isinstance(issue, dict):
        return issue
    parts = [f"spec line {note.line}" if note.line else None, note.requirement_id]
    where = ", ".join(part for part in parts if part)
    if "text" in issue:
        issue["text"] = f"Needs clarification ({where or 'spec'}): {note.text}"
    if "source" in issue and where:
        issue["source"] = where
    return issue


def _string(
    state: _Fill, node: JsonSchema, *, name: str, parent: str, siblings: Mapping[str, Any]
) -> str:
    fmt = node.get("format")
    if fmt == "date":
        return "2026-01-15"
    if fmt == "date-time":
        return "2026-01-15T12:00:00Z"
    # Paths and SQL count across the answer (no two files alike, `up` creates table k);
    # other values count per containing list, so the first table's first column is column_1.
    k = state.next(name if name in ("path", "file", "up", "down") else f"{parent}.{name}")
    if name == "id":
        node_id = f"n{state.next('node')}"
        state.node_ids.append(node_id)
        return node_id
    if name == "path":
        if "method" in siblings:
            return f"/api/workflows/{k}"
        if parent == "modified_files" and state.ranked:
            return state.ranked[(k - 1) % len(state.ranked)]
        if parent == "new_files" and state.grounded:
            folder = state.folders[(k - 1) % len(state.folders)] if state.folders else "."
            return f"module_{k}.py" if folder == "." else f"{folder}/module_{k}.py"
        return f"src/feature/module_{k}.py"
    if name == "file":
        level = siblings.get("level")
        folder = level if isinstance(level, str) and level.isidentifier() else "unit"
        return f"tests/{folder}/test_module_{k}.py"
    if name == "method":
        return _METHODS[(k - 1) % len(_METHODS)]
    if name == "up":
        return (
            f"CREATE TABLE workflow_item_{k} (id INTEGER PRIMARY KEY, name VARCHAR(255) NOT NULL);"
        )
    if name == "down":
        return f"DROP TABLE workflow_item_{k};"
    if name == "name":
        return _NAMES.get(parent, "Workflow {k}").format(k=k)
    if name == "description" and parent == "steps" and k == 1:
        # Constitutions commonly demand tests first; the first step carries every ID.
        return "Write failing unit and integration tests for workflow 1 before its code."
    local = _LOCAL_PROSE.get(state.language)
    if local is not None and name not in _TECHNICAL:
        return local.format(k=k)
    phrase = _PHRASES.get(name)
    if phrase is None:
        words = name.replace("_", " ").strip() or "value"
        phrase = words[0].upper() + words[1:] + " of workflow {k}, as the specification states."
    return phrase.format(k=k)
