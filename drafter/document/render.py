"""Render a `Plan` and its `Report` to markdown through a Jinja2 template.

Values reach the template as data and are escaped for where they land (table cell, mermaid
label, inline code), so spec text holding `{{ … }}` or `|` comes out literally and intact.
A user's `--template` runs in Jinja2's SandboxedEnvironment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
)
from jinja2.sandbox import SandboxedEnvironment

from drafter.checks.compliance import MERMAID_KEYWORDS, CoverageRow, coverage
from drafter.checks.report import Report
from drafter.core.errors import InputError
from drafter.core.language import DEFAULT
from drafter.core.resources import data_dir
from drafter.drafting.messages import Messages, prose_language
from drafter.inputs.constitution import CATEGORY_LABELS
from drafter.inputs.spec import Spec
from drafter.model import plan as p

DEFAULT_TEMPLATE = "plan.md.j2"

_SHAPES = {
    "actor": '(["{}"])',
    "component": '["{}"]',
    "service": '[["{}"]]',
    "external": '{{{{"{}"}}}}',
    "datastore": '[("{}")]',
}


def inline(text: str) -> str:
    """One line of markdown: whitespace collapsed, HTML comments neutralised."""
    return " ".join(str(text).split()).replace("<!--", "&lt;!--")


def cell(text: str) -> str:
    return inline(text).replace("|", "\\|")


def code(text: str) -> str:
    return inline(text).replace("`", "'")


def mermaid_id(identifier: str) -> str:
    """An ID Mermaid reads as a plain name: ASCII word characters, never a keyword, never
    starting with a digit. Idempotent, so a plan read back renders the same IDs."""
    safe = re.sub(r"\W", "_", str(identifier), flags=re.ASCII) or "node"
    if safe[0].isdigit() or safe.lower() in MERMAID_KEYWORDS:
        safe = f"n_{safe}"
    return safe


def mermaid_text(text: str) -> str:
    """A label or message text as Mermaid entity codes where its characters are syntax: `#`
    starts an entity, `;` ends a statement, `"` a string, `|` an edge label."""
    escaped = {"#": "#35;", ";": "#59;", '"': "#quot;", "|": "#124;", "\\": "#92;"}
    return re.sub(r'[#;"|\\]', lambda match: escaped[match.group(0)], inline(text))


def mermaid_edge_label(label: str | None) -> str:
    """`|"label"|` for an edge, quoted so brackets and arrows in it stay text; "" for none."""
    text = mermaid_text(label or "")
    return f'|"{text}"|' if text else ""


def mermaid_shape(node: p.DiagramNode) -> str:
    return _SHAPES[node.kind].format(mermaid_text(node.label) or mermaid_id(node.id))


def _unique_ids(ids: Iterable[str]) -> dict[str, str]:
    """Each raw ID to a Mermaid-safe one; IDs that clean to the same name get numbered."""
    mapping: dict[str, str] = {}
    for raw in ids:
        if raw in mapping:
            continue
        safe = base = mermaid_id(raw)
        number = 2
        while safe in mapping.values():
            safe, number = f"{base}_{number}", number + 1
        mapping[raw] = safe
    return mapping


def safe_diagrams(plan: p.Plan) -> p.Plan:
    """The plan with diagram IDs made valid and unique, whoever drafted it: a model's
    structured output can put anything in an ID, and an ID is syntax, not text."""
    arch, flow = plan.architecture, plan.data_flow
    nodes = _unique_ids(
        [n.id for n in arch.nodes] + [e.source for e in arch.edges] + [e.target for e in arch.edges]
    )
    people = _unique_ids(
        [x.id for x in flow.participants]
        + [m.source for m in flow.messages]
        + [m.target for m in flow.messages]
    )
    architecture = arch.model_copy(
        update={
            "nodes": [n.model_copy(update={"id": nodes[n.id]}) for n in arch.nodes],
            "edges": [
                e.model_copy(update={"source": nodes[e.source], "target": nodes[e.target]})
                for e in arch.edges
            ],
        }
    )
    data_flow = flow.model_copy(
        update={
            "participants": [x.model_copy(update={"id": people[x.id]}) for x in flow.participants],
            "messages": [
                m.model_copy(update={"source": people[m.source], "target": people[m.target]})
                for m in flow.messages
            ],
        }
    )
    return plan.model_copy(update={"architecture": architecture, "data_flow": data_flow})


def dependency_json(dependencies: Iterable[p.ExternalDependency]) -> str:
    """The dependencies with a known version, as a manifest would list them: a name with no
    version ("*") would read as a package to install that nobody has checked exists."""
    return json.dumps({d.name: d.version for d in dependencies if d.version}, indent=2)


@dataclass(frozen=True)
class Box:
    label: str
    ticked: bool
    note: str


@dataclass(frozen=True)
class VerdictRow:
    id: str
    level: str
    verdict: str
    evidence: str


@dataclass(frozen=True)
class ComplianceView:
    rule_count: int
    summary: str
    boxes: list[Box]
    rows: list[VerdictRow]


def compliance_view(report: Report, say: Messages | None = None) -> ComplianceView:
    """The Compliance Check section, computed from the report (never from a model)."""
    say = say or Messages(DEFAULT)
    boxes = []
    for category, label in CATEGORY_LABELS.items():
        ticked, open_ids = report.box(category)
        mandatory = [v for v in report.verdicts if v.rule.category == category and v.rule.mandatory]
        if not report.constitution_found:
            note = say("not checked: no constitution")
        elif not mandatory:
            note = say("not assessed: the constitution states no MUST rule in this category")
        elif open_ids:
            note = say("open: {ids}", ids=", ".join(open_ids))
        else:
            note = say("all MUST rules pass: {ids}", ids=", ".join(v.rule.id for v in mandatory))
        boxes.append(Box(label=label, ticked=ticked, note=note))
    counts: dict[str, int] = {}
    for verdict in report.verdicts:
        counts[verdict.value] = counts.get(verdict.value, 0) + 1
    summary = ", ".join(f"{n} {value.replace('_', ' ')}" for value, n in sorted(counts.items()))
    rows = [
        VerdictRow(v.rule.id, v.rule.level, v.value.replace("_", " "), v.evidence)
        for v in report.verdicts
    ]
    return ComplianceView(len(report.verdicts), summary or "no rules", boxes, rows)


def review_items(plan: p.Plan) -> list[tuple[str, p.ReviewItem]]:
    """Every section's review items, with the section's title, for the Open Issues list."""
    from drafter.model.sections import BY_NAME

    items = []
    for name in type(plan).model_fields:
        section = getattr(plan, name)
        for item in getattr(section, "reviews", []):
            items.append((BY_NAME[name].title, item))
    return items


def _bytecode_cache(directory: Path | None) -> FileSystemBytecodeCache | None:
    """Compiled templates kept in `directory` (the run's `<cache_dir>/jinja2`): compiling
    plan.md.j2 costs ~40 ms a run. Jinja keys the cache on the template's source checksum, so
    an edited template recompiles."""
    if directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(directory)) if os.access(directory, os.W_OK) else None


def _environment(
    environment_class: type[Environment],
    search_path: Path,
    cache_dir: Path | None,
    say: Messages,
) -> Environment:
    env = environment_class(
        extensions=["jinja2.ext.i18n"],
        loader=FileSystemLoader(str(search_path)),
        bytecode_cache=_bytecode_cache(cache_dir),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(
        inline=inline,
        cell=cell,
        code=code,
        mermaid_id=mermaid_id,
        mermaid_text=mermaid_text,
        mermaid_shape=mermaid_shape,
        mermaid_edge_label=mermaid_edge_label,
        dependency_json=dependency_json,
        symbol_heading=lambda kind: p.SYMBOL_HEADINGS[kind],
    )
    env.tests["undrafted"] = p.undrafted  # `{% if plan.security is undrafted %}`
    # `_("…")` in a template: the template's sentences in the spec's language.
    env.install_gettext_translations(say.gettext, newstyle=True)  # type: ignore[attr-defined]
    return env


def render(
    plan: p.Plan,
    report: Report,
    spec: Spec,
    template: Path | None = None,
    cache_dir: Path | None = None,
) -> str:
    """The plan as markdown; `template` is a user's Jinja2 file, run sandboxed. Compiled
    templates are kept in `cache_dir` when given (nowhere else)."""
    say = Messages(prose_language(spec))
    if template is None:
        env = _environment(Environment, data_dir("templates"), cache_dir, say)
        name = DEFAULT_TEMPLATE
    else:
        if not template.is_file():
            raise InputError(f"template not found: {template}")
        env = _environment(SandboxedEnvironment, template.resolve().parent, cache_dir, say)
        name = template.name
    rows: list[CoverageRow] = coverage(plan, spec)
    try:
        text = env.get_template(name).render(
            plan=safe_diagrams(plan),
            report=report,
            compliance=compliance_view(report, say),
            coverage=rows,
            review_items=review_items(plan),
        )
    except TemplateError as error:
        where = f"{template}:{getattr(error, 'lineno', '?')}" if template else name
        raise InputError(f"template {where}: {error}") from error
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"
