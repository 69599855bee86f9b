"""Every Mermaid block drafter writes parses with Mermaid's own parser.

The parser is the `mermaid` npm package run under Node (tests/mermaid/parse.mjs), installed by
`make mermaid` into .cache/mermaid (`make test` does it when npm is present). Blocks go to one
Node process per call: starting Mermaid costs about a second, so the corpus test
(tests/test_plan_quality.py) sends every plan's blocks at once. Without Node or the install,
the tests skip and say why; the Python structural check (DR007) still runs everywhere.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from conftest import EXAMPLES, REPO
from planfactory import make_plan

from drafter.checks.report import Report
from drafter.document.render import render
from drafter.inputs import spec as spec_module
from drafter.model import plan as p

CACHE = REPO / ".cache" / "mermaid"
SCRIPT = REPO / "tests" / "mermaid" / "parse.mjs"
_BLOCK = re.compile(r"^```mermaid\n(.*?)^```", re.MULTILINE | re.DOTALL)


def mermaid_blocks(markdown: str) -> list[str]:
    return [match.group(1) for match in _BLOCK.finditer(markdown)]


def parse_all(blocks: list[str]) -> list[str | None]:
    """Mermaid's verdict per block: None when it parses, else the parser's error."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: Mermaid's parser runs under Node (make mermaid)")
    if not (CACHE / "node_modules" / "mermaid").is_dir():
        pytest.skip(f"Mermaid's parser is not installed in {CACHE}: run `make mermaid` (needs npm)")
    script = CACHE / SCRIPT.name  # beside node_modules, so Node resolves the packages
    script.write_text(SCRIPT.read_text("utf-8"), "utf-8")
    run = subprocess.run(
        [node, str(script)],
        input=json.dumps(blocks),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results: list[str | None] = json.loads(run.stdout)
    return results


# Whatever a model puts into a diagram: keywords as IDs, IDs that collide once cleaned,
# punctuation Mermaid treats as syntax in labels and message texts.
_HOSTILE_IDS = [
    "actor",
    "end",
    "participant",
    "End",
    "graph",
    "a b",
    "a_b",
    "1st",
    "",
    "o",
    "x",
    "class",
    "style",
    "loop",
    "alt",
    "note",
    "box",
    "default",
    "subgraph",
    "é-ü",
]
_HOSTILE_TEXT = [
    'say "hi"; then',
    "a | b",
    "x --> y",
    "[brackets] (parens) {braces}",
    "#1 #quot; &amp;",
    "`code`",
    "%% not a comment",
    "a: b: c",
    "end",
    "<br> <b>bold</b>",
    "->> arrow",
    "+ activate",
    "- deactivate",
    "line\nbreak",
    "",
    "   ",
    "emoji 🚀 and 日本語",
    "ends with backslash \\",
]


def hostile_plan() -> p.Plan:
    kinds: list[p.NodeKind] = ["actor", "component", "service", "external", "datastore"]
    nodes = [
        p.DiagramNode(id=node_id, label=_HOSTILE_TEXT[i % len(_HOSTILE_TEXT)], kind=kinds[i % 5])
        for i, node_id in enumerate(_HOSTILE_IDS)
    ]
    edges = [
        p.DiagramEdge(source=a, target=b, label=_HOSTILE_TEXT[i % len(_HOSTILE_TEXT)] or None)
        for i, (a, b) in enumerate(
            zip(_HOSTILE_IDS, [*_HOSTILE_IDS[1:], "undeclared one"], strict=True)
        )
    ]
    participants = [
        p.Participant(id=node_id, label=_HOSTILE_TEXT[i % len(_HOSTILE_TEXT)])
        for i, node_id in enumerate(_HOSTILE_IDS)
    ]
    messages = [
        p.Message(source=a, target=b, text=text, reply=i % 2 == 1)
        for i, (a, b, text) in enumerate(
            zip(_HOSTILE_IDS, reversed(_HOSTILE_IDS), _HOSTILE_TEXT, strict=False)
        )
    ]
    return make_plan(
        architecture=p.ArchitectureSection(
            nodes=nodes, edges=edges, stack=[], patterns=[], reviews=[]
        ),
        data_flow=p.DataFlowSection(participants=participants, messages=messages, reviews=[]),
    )


def _render(plan: p.Plan) -> str:
    spec = spec_module.load(EXAMPLES / "csv-export" / "SPEC.md")
    report = Report(findings=(), verdicts=(), constitution_found=False, warnings=())
    return render(plan, report, spec)


def test_hostile_diagrams_parse() -> None:
    """Whatever a model puts into IDs and labels, the renderer writes diagrams that parse."""
    blocks = mermaid_blocks(_render(hostile_plan()))
    assert len(blocks) == 2
    assert parse_all(blocks) == [None, None], blocks


def test_the_parser_rejects_what_it_should() -> None:
    """The harness is live: Mermaid reports a keyword used as a participant."""
    bad = "sequenceDiagram\n    participant actor as User\n    actor->>comp: go\n"
    assert parse_all([bad, "graph TB\n    a --> b\n"])[0] is not None
