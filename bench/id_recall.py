"""ID recall of the spec parser against a naive line-by-line reader, on any folder of specs.

    python bench/id_recall.py [DIR_OR_FILE ...]     (default: ../shared/corpus)

The reader below knows nothing of drafter's parser: it takes an ID wherever a line defines one
(`- **FR-001**: …`, `| SR-002 | … |`, `### FR-1 …`), numbers the criteria under Kiro-style
`Requirement N` / story headings in any of the common languages (`R2.3`, `US1.2`), and names
OpenSpec delta requirements `capability:name`. Recall is the share of its IDs drafter also
found; "extra" lists requirement IDs drafter has that the reader does not (to review for
invented ones). It is a yardstick for regressions, not ground truth: read the misses.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from drafter.core.errors import InputError
from drafter.inputs.spec import load

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
ID = r"(?:[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+|(?:FR|NFR|SC|SR|AC|REQ|BR|UR|QR)\d+)(?:\.\d+)*[a-z]?"
DEFINITION = re.compile(
    rf"^\s*(?:[-*+]|\d+[.)])?\s*(?:\[[ xX]\]\s*)?(?:\*\*|__)?\[?({ID})\]?(?:\*\*|__)?\s*"
    r"(?:\*?[(（][^)）]*[)）]\*?)?\s*(?:\*\*|__)?\s*[:：—–]"
)
ROW = re.compile(rf"^\|\s*(?:\d+\s*\|\s*)?(?:\*\*|`)?({ID})(?:\*\*|`)?\s*\|")
HEADING_ID = re.compile(rf"^#{{2,6}}\s+(?:(?:\*\*)?\[?({ID})\]?\b|.*[(（]({ID})[)）]\s*$)")
REQUIREMENT = re.compile(
    r"^(#{2,6})\s*(?:\*\*)?(?:Requirement|Req|需求|要件|要求|Требование|Requisito|요구사항|R(?=\d))"
    r"\s*(\d+)(?![.\d])",
    re.I,
)
STORY = re.compile(
    r"^(#{2,6})\s*(?:\*\*)?(?:User Story|用户故事|故事|ユーザーストーリー|US-?)\s*(\d+)\b", re.I
)
CRITERION = re.compile(r"^ {0,3}(?:[-*+] )?(?:\*\*)?\d+(?:\.\d+)*[.)]?(?:\*\*)?\s+\S")
OPENSPEC_REQUIREMENT = re.compile(r"^#{2,6}\s*Requirement:\s*(.+)$")
RENAMED_TO = re.compile(r"^\s*-\s*TO:\s*`?#*\s*Requirement:\s*(.+?)`?\s*$")
HEADING = re.compile(r"^(#{1,6})\s")
FENCE = re.compile(r"^\s*(```|~~~)")


def kebab(name: str) -> str:
    return re.sub(r"[\W_]+", "-", name.lower()).strip("-")


def read_ids(path: Path) -> set[str]:
    """The IDs a reader takes from one markdown file."""
    found: set[str] = set()
    fenced = False
    section: tuple[str, int, int] | None = None  # ("R" or "US", number, heading level)
    criteria = 0

    def close() -> None:
        if section and section[0] == "R" and criteria == 0:
            found.add(f"R{section[1]}")  # a requirement without criteria is traced itself

    for line in path.read_text("utf-8-sig", errors="replace").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        if heading := HEADING.match(line):
            if section and len(heading.group(1)) <= section[2]:
                close()
                section = None
            if m := REQUIREMENT.match(line) or STORY.match(line):
                close()
                kind = "R" if REQUIREMENT.match(line) else "US"
                section, criteria = (kind, int(m.group(2)), len(m.group(1))), 0
            elif m := HEADING_ID.match(line):
                found.add(m.group(1) or m.group(2))
            continue
        if m := DEFINITION.match(line) or ROW.match(line):
            found.add(m.group(1))
            criteria += 1 if section else 0
        elif section and CRITERION.match(line):
            criteria += 1
            found.add(f"{section[0]}{section[1]}.{criteria}")
    close()
    return found


def read_change(proposal: Path) -> set[str]:
    """OpenSpec: the requirements of the delta specs beside a proposal."""
    found: set[str] = set()
    for delta in sorted(proposal.parent.glob("specs/**/spec.md")):
        fenced = False
        for line in delta.read_text("utf-8", errors="replace").splitlines():
            if FENCE.match(line):
                fenced = not fenced
            elif not fenced and (m := OPENSPEC_REQUIREMENT.match(line) or RENAMED_TO.match(line)):
                found.add(f"{delta.parent.name}:{kebab(m.group(1).strip())}")
    return found


def specs(roots: list[Path]) -> list[Path]:
    """Files named on the command line, and the specs in the folders named there (OpenSpec
    delta specs are read through their proposal)."""
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
            continue
        for path in sorted(root.rglob("*.md")):
            delta = path.name == "spec.md" and (path.parents[2] / "proposal.md").exists()
            if path.name in ("spec.md", "requirements.md", "proposal.md", "SPEC.md") and not delta:
                found.append(path)
    return found


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or [CORPUS]
    shares: list[float] = []
    none_found = 0
    for path in specs(roots):
        expected = read_change(path) if path.name == "proposal.md" else read_ids(path)
        if not expected:
            continue
        try:
            spec = load(path)
        except InputError as error:
            print(f"  skipped {path}: {error}")
            continue
        seen = (
            {r.id for r in spec.requirements}
            | {s.id for s in spec.scenarios}
            | {s.id for s in spec.stories}
        )
        hit = len(expected & seen)
        shares.append(hit / len(expected))
        none_found += hit == 0
        extra = sorted(r.id for r in spec.requirements if r.id not in expected)
        if hit < len(expected) or extra:
            missed = sorted(expected - seen)
            print(f"  {hit}/{len(expected)} {path}  missed {missed[:5]}  extra {extra[:5]}")
    if not shares:
        print("no specs with IDs found")
        return 1
    print(
        f"{len(shares)} specs: mean ID recall {sum(shares) / len(shares):.1%}, "
        f"{none_found} with none found"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
