"""Constitution discovery and parsing: rule IDs, levels, categories, lines, stability.

Golden files (tests/golden/rules/<case>.json) hold each corpus constitution's rules. After a
deliberate parser change, refresh them with `DRAFTER_UPDATE_GOLDEN=1 pytest
tests/test_constitution.py` and review the diff before committing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import corpus_case, corpus_params
from typer.testing import CliRunner

from drafter.cli import app
from drafter.core.errors import InputError
from drafter.inputs.constitution import (
    Constitution,
    categorize,
    discover,
    load,
    parse,
    section_letter,
)

FIXTURES = Path(__file__).parent / "fixtures" / "constitutions"
GOLDEN = Path(__file__).parent / "golden" / "rules"


def corpus_constitution(case: str) -> Constitution:
    path = corpus_case(case) / "constitution.md"
    if not path.is_file():
        pytest.skip(f"{case} has no constitution.md")
    return load(path)


def by_id(constitution: Constitution) -> dict[str, str]:
    return {rule.id: rule.text for rule in constitution.rules}


# --- golden ---------------------------------------------------------------------------------------


@corpus_params
def test_corpus_rules_match_golden(case: str) -> None:
    parsed = corpus_constitution(case)
    actual = [
        {"id": r.id, "level": r.level, "category": r.category, "line": r.line} for r in parsed.rules
    ]
    golden = GOLDEN / f"{case}.json"
    if os.environ.get("DRAFTER_UPDATE_GOLDEN"):
        rows = ",\n".join(f"  {json.dumps(row, ensure_ascii=False)}" for row in actual)
        golden.write_text(f"[\n{rows}\n]\n" if actual else "[]\n", encoding="utf-8")
    assert golden.is_file(), f"no golden file; run with DRAFTER_UPDATE_GOLDEN=1: {golden}"
    assert actual == json.loads(golden.read_text(encoding="utf-8"))


@corpus_params
def test_corpus_rules_are_well_formed(case: str) -> None:
    parsed = corpus_constitution(case)
    ids = [rule.id for rule in parsed.rules]
    assert len(ids) == len(set(ids)), "rule IDs are unique"
    lines = parsed.path.read_text(encoding="utf-8").splitlines()
    for rule in parsed.rules:
        assert rule.text.strip()
        source = lines[rule.line - 1]
        # The rule's first words sit on its source line (markup and bullets aside).
        first_word = rule.text.replace("`", "").split()[0].strip("*:")
        assert first_word in source.replace("`", "") or " — " in rule.text, (rule.id, source)


# --- what the corpus files say (checked by reading them) ---------------------------------------


def test_lem_has_five_principles_and_keeps_its_numerals() -> None:
    parsed = corpus_constitution("lem-toml-mode")
    assert [p.number for p in parsed.principles] == ["I", "II", "III", "IV", "V"]
    assert parsed.principles[2].title == "Test-Driven Development (NON-NEGOTIABLE)"
    assert parsed.version == "1.0.0"
    assert parsed.title == "Lem Editor Constitution"
    rules = {rule.id: rule for rule in parsed.rules}
    # Line 43: "- **Dependency direction MUST flow downward only.** Lower layers MUST NOT …"
    assert rules["C-I.1"].text == "Dependency direction MUST flow downward only."
    assert (rules["C-I.1"].line, rules["C-I.2"].line) == (43, 43)
    assert rules["C-I.2"].level == "MUST NOT"
    # "Internal symbol access (`lem::`) is PROHIBITED." — an uppercase prohibition.
    assert rules["C-I.4"].level == "MUST NOT"
    # Principle III is NON-NEGOTIABLE: its imperative steps ("Write a failing test…") are MUST.
    assert rules["C-III.2"].text == "Write a failing test that captures the expected behavior."
    assert rules["C-III.2"].level == "MUST"
    assert {rules[f"C-III.{k}"].category for k in range(1, 6)} == {"testing"}
    # Principle II's "PREFER extending existing protocols" is a SHOULD.
    assert rules["C-II.2"].level == "SHOULD"
    # Sections after Core Principles (A): Architectural Constraints B, Extension C, Governance D.
    assert rules["C-D.1"].text == "A migration plan MUST be provided for breaking changes."
    assert rules["C-D.1"].principle == "Governance"
    # Rationale paragraphs are explanations, not rules.
    assert not any(rule.text.startswith("Rationale") for rule in parsed.rules)


def test_unfilled_template_gives_no_rules_and_one_warning() -> None:
    parsed = corpus_constitution("ambient-workflow-dashboard")
    assert parsed.rules == ()
    assert parsed.principles == ()
    assert len(parsed.warnings) == 1
    assert "is an unfilled template: no rules taken" in parsed.warnings[0]
    assert parsed.version is None  # "[CONSTITUTION_VERSION]" is not a version


def test_ambient_principles_version_and_categories() -> None:
    parsed = corpus_constitution("ambient-gerrit-integration")
    assert len(parsed.principles) == 10
    assert parsed.version == "1.1.0"  # the footer, not the changelog comment
    rules = {rule.id: rule for rule in parsed.rules}
    contract = rules["C-IV.2"]
    assert "Every API endpoint/library interface MUST have contract tests" in contract.text
    assert (contract.level, contract.category) == ("MUST", "testing")
    assert rules["C-II.1"].category == "security"
    assert rules["C-I.1"].category == "architecture"  # "Kubernetes-Native Architecture"
    # A nested bullet with no subject of its own is prefixed with its parent's label.
    assert rules["C-X.3"].text == "Refactoring: ≤400 lines — MUST NOT mix with feature/bug changes"


def test_openspec_project_conventions_become_should_rules() -> None:
    parsed = corpus_constitution("openspec-memento-job-lease-recovery")
    assert parsed.rules, "project.md conventions are rules"
    assert {rule.level for rule in parsed.rules} == {"SHOULD"}
    # Only the bullets under "## Project Conventions" (the third ## section), not Purpose etc.
    assert {rule.principle for rule in parsed.rules} == {"Project Conventions"}
    assert all(rule.id.startswith("C-C.") for rule in parsed.rules)
    testing = [r for r in parsed.rules if r.category == "testing"]
    assert any("Vitest" in r.text for r in testing)


def test_ids_stay_stable_between_two_versions_of_a_real_constitution() -> None:
    """MoonMind's later constitution adds rules at the end of IX, two new principles XII and
    XIII and rewrites one constraint; every other rule keeps its ID and text."""
    older = by_id(corpus_constitution("moonmind-agent-adapters-phase3"))
    newer = by_id(corpus_constitution("moonmind-post-merge-jira"))
    for rule_id, text in older.items():
        if rule_id.startswith("C-B."):  # the section whose text changed
            continue
        assert newer[rule_id] == text, rule_id
    assert "C-XIII.1" in newer and "C-XIII.1" not in older


# --- stability under unrelated edits ------------------------------------------------------------


def test_ids_stay_stable_when_unrelated_text_changes(tmp_path: Path) -> None:
    source = corpus_case("lem-toml-mode") / "constitution.md"
    if not source.is_file():
        pytest.skip("lem-toml-mode constitution absent")
    text = source.read_text(encoding="utf-8")
    before = by_id(parse(text, source))
    edited = text.replace(
        "### II. Protocol-First Design\n",
        "### II. Protocol-First Design\n\nA new paragraph. Macros MUST be hygienic.\n",
    ).replace(
        "## Governance\n",
        "## Governance\n\nAn inserted paragraph with no rule in it.\n",
    )
    assert edited != text
    after = by_id(parse(edited, source))
    changed = {rule_id for rule_id in before if after.get(rule_id) != before[rule_id]}
    assert changed and all(rule_id.startswith("C-II.") for rule_id in changed)
    assert after["C-II.1"] == "Macros MUST be hygienic."


# --- fixtures: levels, languages, numbering -----------------------------------------------------


def test_numbered_headings_preamble_and_rationale() -> None:
    parsed = load(FIXTURES / "numbered.md")
    assert [(p.number, p.title) for p in parsed.principles] == [
        ("I", "Security"),
        ("II", "Code Style"),
    ]
    rules = {rule.id: rule for rule in parsed.rules}
    assert rules["C-0.1"].text == "Every contributor MUST read this document."
    assert (rules["C-I.1"].level, rules["C-I.1"].category) == ("MUST NOT", "security")
    assert rules["C-I.2"].level == "SHALL"
    # "(e.g. Python files)" does not end the sentence.
    assert rules["C-II.2"].text == "Lines MUST be at most 100 characters (e.g. Python files)."
    assert "C-II.3" not in rules  # the **Rationale** paragraph is not a rule


def test_japanese_modals() -> None:
    parsed = load(FIXTURES / "ja.md")
    assert [(r.id, r.level) for r in parsed.rules] == [
        ("C-I.1", "MUST"),  # …書かなければならない。
        ("C-I.2", "MUST NOT"),  # …出力してはならない。
        ("C-I.3", "SHOULD"),  # …小さくすべき。
    ]
    assert parsed.rules[0].text == "すべての機能はテストを先に書かなければならない。"
    assert parsed.rules[1].category == "security"


def test_drafter_rules_block_restates_and_adds_rules() -> None:
    parsed = load(FIXTURES / "checks.md")
    rules = {rule.id: rule for rule in parsed.rules}
    assert parsed.warnings == ()
    assert parsed.version == "2.0.1"
    # "Reviewers SHOULD read the plan." is raised to MUST by the block.
    assert rules["C-B.2"].level == "MUST"
    added = rules["C-X.1"]
    assert (added.level, added.category, added.principle) == (
        "MUST",
        "architecture",
        "drafter-rules",
    )
    assert added.line == 38  # its [[rule]] header
    check = parsed.check_for("C-X.1")
    assert check is not None and check.require == "exists(api.endpoints[*].path)"
    assert check.line == 42  # its require key


def test_drafter_rules_faults_are_warnings_with_lines() -> None:
    parsed = load(FIXTURES / "broken-rules.md")
    assert [rule.id for rule in parsed.rules] == ["C-I.1"]
    joined = "\n".join(parsed.warnings)
    assert "broken-rules.md:12: drafter-rules: C-I.1: bad require condition" in joined
    assert "no field 'componnts'" in joined
    assert "broken-rules.md:14: drafter-rules: C-I.2: level must be one of" in joined
    assert "broken-rules.md:20: drafter-rules: not valid TOML" in joined
    assert len(parsed.warnings) == 3


def test_partial_placeholders_warn_but_keep_rules(tmp_path: Path) -> None:
    text = (
        "# [PROJECT_NAME] Constitution\n\n## Core Principles\n\n"
        "### I. Simple\n\nCode MUST be simple.\n"
    )
    parsed = parse(text, tmp_path / "constitution.md")
    assert [rule.id for rule in parsed.rules] == ["C-I.1"]
    assert len(parsed.warnings) == 1 and "[PROJECT_NAME]" in parsed.warnings[0]


def test_negated_requirement_is_not_a_rule(tmp_path: Path) -> None:
    text = "# C\n\n## Notes\n\nAliases are NOT REQUIRED here. Secrets MUST NOT leak.\n"
    parsed = parse(text, tmp_path / "c.md")
    assert [(r.id, r.level, r.text) for r in parsed.rules] == [
        ("C-A.1", "MUST NOT", "Secrets MUST NOT leak.")
    ]


def test_categories_by_keyword() -> None:
    assert categorize("Every feature MUST have unit tests", "Quality") == "testing"
    assert categorize("Secrets MUST NOT be logged", "Operations") == "security"
    assert categorize("Use dependency injection", "Style") == "architecture"
    assert categorize("Services MUST stay stateless", "Style") == "architecture"
    assert categorize("Names MUST be kebab-case", "Style") == "coding"
    assert categorize("Names MUST be kebab-case", "Testing Strategy") == "testing"


def test_section_letters() -> None:
    assert [section_letter(n) for n in (0, 1, 25, 26, 27)] == ["A", "B", "Z", "AA", "AB"]


# --- loading -----------------------------------------------------------------------------------


def test_bom_and_crlf_parse_like_plain_text(tmp_path: Path) -> None:
    plain = (FIXTURES / "numbered.md").read_text(encoding="utf-8")
    path = tmp_path / "constitution.md"
    path.write_bytes(b"\xef\xbb\xbf" + plain.replace("\n", "\r\n").encode("utf-8"))
    expected = load(FIXTURES / "numbered.md")
    assert load(path).rules == expected.rules


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x00\x01binary", "not text"), (b"\xff\xfe bad", "not UTF-8")],
)
def test_bad_bytes_are_input_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "constitution.md"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load(path)


def test_directory_and_missing_file_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory"):
        load(tmp_path)
    with pytest.raises(InputError, match="cannot read"):
        load(tmp_path / "absent.md")


# --- discovery -----------------------------------------------------------------------------------


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# C\n", encoding="utf-8")
    return path


def test_discovery_order(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    spec = _touch(repo / "specs" / "001-feature" / "spec.md")
    memory = _touch(repo / "memory" / "constitution.md")
    assert discover(spec, None, None) == memory.resolve()
    specify = _touch(repo / ".specify" / "memory" / "constitution.md")
    assert discover(spec, None, None) == specify.resolve()  # same directory: .specify first
    nearer = _touch(repo / "specs" / "001-feature" / "memory" / "constitution.md")
    assert discover(spec, None, None) == nearer.resolve()  # the spec's own directory first
    parent = _touch(repo / "specs" / "constitution.md")
    assert discover(spec, None, None) == parent.resolve()
    beside = _touch(repo / "specs" / "001-feature" / "constitution.md")
    assert discover(spec, None, None) == beside.resolve()
    configured = _touch(tmp_path / "configured.md")
    assert discover(spec, None, configured) == configured
    explicit = _touch(tmp_path / "explicit.md")
    assert discover(spec, explicit, configured) == explicit


def test_discovery_stops_at_the_repository_root(tmp_path: Path) -> None:
    _touch(tmp_path / "memory" / "constitution.md")  # outside the repository
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    spec = _touch(repo / "a" / "b" / "spec.md")
    assert discover(spec, None, None) is None
    assert discover(repo / "a" / "b", None, None) is None  # a directory works as the spec's


def test_explicit_or_configured_path_must_exist(tmp_path: Path) -> None:
    spec = _touch(tmp_path / "spec.md")
    with pytest.raises(InputError, match="-c/--constitution"):
        discover(spec, tmp_path / "missing.md", None)
    with pytest.raises(InputError, match="constitution setting"):
        discover(spec, None, tmp_path / "missing.md")


# --- `drafter rules` ----------------------------------------------------------------------------


def test_rules_command_json() -> None:
    result = CliRunner().invoke(app, ["rules", str(FIXTURES / "numbered.md"), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[1] == {
        "id": "C-I.1",
        "level": "MUST NOT",
        "category": "security",
        "principle": "Security",
        "line": 7,
        "text": "Credentials MUST NOT be committed.",
    }
    assert [row["id"] for row in rows] == ["C-0.1", "C-I.1", "C-I.2", "C-II.1", "C-II.2"]


def test_rules_command_table_discovers_from_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "constitution.md").write_text(
        (FIXTURES / "checks.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["rules"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Checks Constitution 2.0.1")
    assert "II. Simplicity" in lines
    row = next(line for line in lines if line.strip().startswith("C-X.1"))
    assert "[drafter-rules]" in row and "architecture" in row


@pytest.mark.parametrize("where", ["missing-file", "nothing-to-discover"])
def test_rules_command_without_a_constitution_is_exit_2_one_line(
    tmp_path: Path, where: str
) -> None:
    (tmp_path / ".git").mkdir()
    args = [str(tmp_path / "nope.md")] if where == "missing-file" else []
    result = subprocess.run(
        [sys.executable, "-m", "drafter", "rules", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("drafter: error:") and "constitution" in result.stderr
