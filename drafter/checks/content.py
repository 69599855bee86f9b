"""Structural checks on what a plan says, not only on its shape: a requirement restated
without its negation, an empty table, an identifier listed twice in one file, an external
system or dependency the inputs never mention.

Each is a pure function of the plan and the spec, so it holds for user-edited plans
(`drafter check`) as much as for drafted ones, and its message tells whoever fixes it how.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from pydantic import BaseModel

from drafter.checks.report import Finding
from drafter.core.language import NEGATED, NEGATION
from drafter.inputs.spec import Requirement, Spec
from drafter.model import plan as p

# CJK markers written before the verb they negate (不得删除); the others follow it (削除しない).
_BEFORE_VERB = re.compile(r"不得|不能|不应|不可|不允许|禁止|绝不|不要|不会")
_KEY_WORDS = 4  # words after "MUST NOT" that identify a restatement of the requirement
_KEY_CHARS = 8  # the same in characters, for scripts without spaces


def _error(rule_id: str, message: str, section: str, anchor: str | None = None) -> Finding:
    return Finding(
        rule_id=rule_id, severity="error", message=message, section=section, anchor=anchor
    )


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[*`_\"'“”]", "", text).lower().split())


def negation_key(requirement: Requirement) -> str | None:
    """The words that identify a restatement of a negative requirement: those right after
    "MUST NOT" (or before しない, after 不得), normalised; None for a positive requirement."""
    return _negation_key(requirement.text)


@cache  # every section is checked against every requirement: one reading per text
def _negation_key(text: str) -> str | None:
    match = NEGATION.search(text)
    if match is None:
        return None
    if re.match(r"[A-Za-z]", match.group(0)):
        tail = re.findall(r"[\w'-]+", text[match.end() :])
        return " ".join(tail[:_KEY_WORDS]).lower() if len(tail) >= 3 else None
    if _BEFORE_VERB.fullmatch(match.group(0)):
        key = _normal(text[match.end() :])[:_KEY_CHARS]
    else:
        key = _normal(text[: match.start()])[-_KEY_CHARS:]
    return key.strip() or None


def _texts(value: object, tags: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every string in `value`, with the requirement IDs its item is tagged with (none when
    untagged), so a text tagged with FR-001 is not read as a restatement of FR-003."""
    if isinstance(value, str):
        yield value, tags
    elif isinstance(value, BaseModel):
        own = getattr(value, "requirement_ids", None)
        tags = tuple(own) if isinstance(own, list) else tags
        for name in type(value).model_fields:
            if name != "requirement_ids":
                yield from _texts(getattr(value, name), tags)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item, tags)


def negation_findings(name: str, section: BaseModel, spec: Spec) -> Iterator[Finding]:
    """DR012: a text that restates a MUST NOT / SHALL NOT / 不得 / しない requirement without
    any negation says the opposite of the spec."""
    keys = [(r, key) for r in spec.requirements if (key := negation_key(r))]
    if not keys:
        return
    for text, tags in _texts(section):
        normal = _normal(text)
        for requirement, key in keys:
            if tags and requirement.id not in tags:
                continue
            if key in normal and not NEGATED.search(text):
                yield _error(
                    "DR012",
                    f"{requirement.id} says what must not happen; this restates it without "
                    f"the negation: keep its MUST NOT (or quote it whole) in {text[:80]!r}",
                    name,
                    text[:60],
                )


def error_table_findings(name: str, section: BaseModel, spec: Spec) -> Iterator[Finding]:
    """DR013: the spec names error cases (edge cases, IF … THEN criteria) and Error Types has
    no row: an empty table reads as "nothing can go wrong"."""
    if not isinstance(section, p.ErrorHandlingSection) or section.errors:
        return
    cases = [e.id for e in spec.edge_cases] + [r.id for r in spec.requirements if r.ears == "if"]
    if cases:
        yield _error(
            "DR013",
            f"Error Types is empty, yet the spec names error cases ({', '.join(cases[:5])}"
            + (", …" if len(cases) > 5 else "")
            + "): give each a row",
            name,
        )


def duplicate_symbol_findings(plan: p.Plan) -> Iterator[Finding]:
    """DR014: one file listing the same identifier twice (a plan made up, or merged badly)."""
    for component in plan.components.components:
        for new_file in component.new_files:
            names = [symbol.name for symbol in new_file.symbols]
            for name in sorted({n for n in names if names.count(n) > 1}):
                yield _error(
                    "DR014",
                    f"{new_file.path} lists {name} {names.count(name)} times: keep one",
                    "components",
                    name,
                )


# A justification that points at evidence: a rule or requirement ID, a quoted source, a manifest.
_EVIDENCE = re.compile(
    r"\b[A-Z][A-Z0-9]*-[\w.-]+|\"[^\"]{3,}\"|\bspec line \d+|package\.json|pyproject\.toml|"
    r"requirements[\w.-]*\.txt|go\.mod|Cargo\.toml|Gemfile|pom\.xml|build\.gradle|manifest"
)


def _spec_text(spec: Spec) -> str:
    parts = [spec.title, spec.summary, *spec.assumptions]
    parts += [r.text for r in spec.requirements] + [s.text for s in spec.stories]
    parts += [f"{e.name} {e.description}" for e in spec.entities]
    parts += [s.text for s in spec.scenarios] + [e.text for e in spec.edge_cases]
    return " ".join(parts).lower()


def evidence_findings(plan: p.Plan, spec: Spec) -> Iterator[Finding]:
    """DR015: a dependency or an external system the spec never names and whose justification
    cites nothing (no requirement, rule, quote or manifest): a reader cannot tell it is real."""
    text = _spec_text(spec)
    for dependency in plan.dependencies.external:
        named = dependency.name.lower() in text
        if not named and not _EVIDENCE.search(dependency.justification):
            yield Finding(
                rule_id="DR015",
                severity="warning",
                message=f"cite where the dependency {dependency.name!r} comes from (a spec "
                "sentence, constitution rule or manifest line), or drop it",
                section="dependencies",
                anchor=dependency.name,
            )
    for node in plan.architecture.nodes:
        words = re.findall(r"[^\W\d_]{3,}", node.label.lower())
        if node.kind in ("external", "datastore") and not any(w in text for w in words):
            if node.label == "Data Store":  # drafter's own name for the spec's stored data
                continue
            yield Finding(
                rule_id="DR015",
                severity="warning",
                message=f"the external system {node.label!r} is named nowhere in the spec: "
                "draw only the systems the feature uses, or say in the spec why it is there",
                section="architecture",
                anchor=node.label,
            )
