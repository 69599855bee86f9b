"""`drafter init`: the editor files it writes, how it merges, and that editors read drafter's
findings with what it writes (VS Code's problem matcher, Vim/Neovim's errorformat)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from drafter.app import editors
from drafter.app.editors import Editor
from drafter.checks.report import Finding
from drafter.core import config, files
from drafter.core.errors import InputError
from drafter.core.resources import data_dir
from tests.conftest import EXAMPLES

ALL = [flag for editor in Editor for flag in ("--editor", editor.value)]
DRAFTER_LABELS = ["drafter: spec-to-plan (current file)", "drafter: check plan"]
TEMPLATE = json.loads((data_dir("templates") / "editors" / "vscode" / "tasks.json").read_text())

# Findings as `drafter check` prints them, chosen for what could trip a pattern: colons in the
# message, a path with spaces, Windows drive letters, each severity and each rule-ID family.
FINDINGS = [
    Finding(
        rule_id="DR003",
        severity="error",
        message="requirement FR-002 has no test",
        file=Path("docs/PLAN.md"),
        line=12,
        col=3,
    ),
    Finding(
        rule_id="C-III.2",
        severity="warning",
        message="SHOULD: log in a structured format: needs review",
        file=Path("/abs/dir with space/PLAN.md"),
        line=7,
        col=1,
    ),
    Finding(
        rule_id="DR-STALE",
        severity="note",
        message="the spec changed since drafting: FR-001, FR-004",
        file=Path("PLAN.md"),
        line=1,
        col=1,
    ),
    Finding(
        rule_id="DR010",
        severity="error",
        message="path escapes the repository: ../x:1:2",
        file=Path(r"C:\work\specs\PLAN.md"),
        line=240,
        col=17,
    ),
]


def app() -> typer.Typer:
    # Imported here, not at module level: drafter.cli imports every command module, and this
    # file's library tests should run even while another command fails to import.
    from drafter.cli import app as drafter_app

    return drafter_app


def run(*args: str) -> Any:
    return CliRunner().invoke(app(), ["init", *args])


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def matchers(root: Path) -> list[dict[str, Any]]:
    text = (root / ".vscode" / "tasks.json").read_text("utf-8")
    tasks = json.loads(text)["tasks"]
    return [task["problemMatcher"] for task in tasks if task["label"] in DRAFTER_LABELS]


def js_regexp(source: str) -> re.Pattern[str]:
    """VS Code compiles `regexp` with JavaScript's RegExp (no flags). The constructs drafter's
    pattern uses (^ $ ( ) .+? \\d \\s \\S alternation) mean the same in Python's re; JS-only
    syntax is rejected rather than silently misread."""
    if re.search(r"\(\?<(?![=!])", source):
        raise AssertionError(f"JS named group in {source!r}: translate it to (?P<...>)")
    return re.compile(source)


def vscode_parse(matcher: dict[str, Any], line: str) -> dict[str, str] | None:
    """What VS Code's single-line problem matcher takes from `line` (it trims each value)."""
    pattern = matcher["pattern"]
    found = js_regexp(pattern["regexp"]).search(line)
    if found is None:
        return None
    keys = ("file", "line", "column", "severity", "code", "message")
    return {key: found.group(pattern[key]).strip() for key in keys}


# -- VS Code ----------------------------------------------------------------------------------


def test_vscode_problem_matcher_reads_every_finding(tmp_path: Path) -> None:
    assert run("--dir", str(tmp_path), "--editor", "vscode").exit_code == 0
    found = matchers(tmp_path)
    assert len(found) == 2
    for matcher in found:
        assert matcher["owner"] == "drafter"
        assert matcher["fileLocation"][0] in ("relative", "absolute", "autoDetect")
        for finding in FINDINGS:
            line = finding.format()
            assert vscode_parse(matcher, line) == {
                "file": str(finding.file),
                "line": str(finding.line),
                "column": str(finding.col),
                "severity": finding.severity,
                "code": finding.rule_id,
                "message": finding.message,
            }, line
        # A finding with no file cannot be placed in the editor; it must not be misread.
        unplaced = Finding(rule_id="DR001", severity="error", message="no spec: x.md:3:4")
        assert vscode_parse(matcher, unplaced.format()) is None
        assert vscode_parse(matcher, "drafter: error: cannot read PLAN.md") is None


def test_vscode_problem_matcher_reads_real_check_output(tmp_path: Path) -> None:
    plans = sorted(EXAMPLES.rglob("PLAN.md")) if EXAMPLES.is_dir() else []
    if not plans:
        pytest.skip("no examples/**/PLAN.md to check")
    if CliRunner().invoke(app(), ["check", "--help"]).exit_code != 0:
        pytest.skip("`drafter check` is not in this tree yet")
    assert run("--dir", str(tmp_path), "--editor", "vscode").exit_code == 0
    matcher = matchers(tmp_path)[1]
    seen = 0
    for plan in plans:
        result = CliRunner().invoke(app(), ["check", str(plan), "--format", "text"])
        assert result.exit_code in (0, 1), result.output
        for line in result.stdout.splitlines():
            if not line.startswith((str(plan), os.path.relpath(plan))):
                continue  # check names files relative to the working directory when it can
            parsed = vscode_parse(matcher, line)
            assert parsed is not None, line
            assert Path(parsed["file"]).resolve() == plan.resolve()
            assert 1 <= int(parsed["line"]) <= len(plan.read_text("utf-8").splitlines()) + 1
            assert parsed["severity"] in ("error", "warning", "note")
            rebuilt = (
                f"{parsed['file']}:{parsed['line']}:{parsed['column']}: {parsed['severity']}: "
                f"{parsed['code']} {parsed['message']}"
            )
            assert rebuilt == line.rstrip()
            seen += 1
    if not seen:
        pytest.skip("the example plans have no findings to read")


# -- Neovim -----------------------------------------------------------------------------------

QF_TYPES = {"e": "error", "w": "warning", "n": "note"}


def compiler_option(root: Path, name: str) -> str:
    """The value a `CompilerSet name=value` line sets, with :set's backslash escapes undone."""
    text = (root / ".nvim" / "compiler" / "drafter.vim").read_text("utf-8")
    (raw,) = re.findall(rf"^CompilerSet {name}=(.*)$", text, re.M)
    return re.sub(r"\\(.)", r"\1", raw)


def errorformat_regexes(efm: str) -> list[re.Pattern[str]]:
    """Translate the errorformat items drafter uses into Python regexes, as Vim does
    (efm_to_regpat in quickfix.c): %f followed by a literal becomes a lazy `.\\{-1,}`, %l and
    %c digits, %t one character, %m the rest, %*[...] a character class repeated; the
    whole line must match. Unknown items fail loudly instead of being guessed."""
    items = {
        "l": r"(?P<line>\d+)",
        "c": r"(?P<col>\d+)",
        "t": r"(?P<type>.)",
        "m": r"(?P<message>.+)",
        "%": "%",
    }
    patterns = []
    for part in re.split(r"(?<!\\),", efm):
        out, i = "", 0
        while i < len(part):
            if part[i] != "%":
                out += re.escape(part[i])
                i += 1
                continue
            item = part[i + 1]
            if item == "f":
                assert i + 2 < len(part) and part[i + 2] not in "%\\", "only %f before a literal"
                out += r"(?P<file>.+?)"
                i += 2
            elif item == "*" and part[i + 2] == "[":
                end = part.index("]", i + 3)
                out += part[i + 2 : end + 1] + "+"
                i = end + 1
            elif item in items:
                out += items[item]
                i += 2
            else:
                raise AssertionError(f"errorformat item %{item} is not translated")
        patterns.append(re.compile(out))
    return patterns


def quickfix_entry(patterns: list[re.Pattern[str]], line: str) -> tuple[Any, ...] | None:
    for pattern in patterns:
        found = pattern.fullmatch(line)
        if found:
            kind = QF_TYPES[found["type"]]
            return (found["file"], int(found["line"]), int(found["col"]), kind, found["message"])
    return None


def expected_entry(finding: Finding) -> tuple[Any, ...]:
    # %t keeps the severity; the rule ID has no errorformat item of its own (%n is numeric
    # only), so it leads the message.
    message = f"{finding.rule_id} {finding.message}"
    return (str(finding.file), finding.line, finding.col, finding.severity, message)


def test_neovim_errorformat_reads_every_finding(tmp_path: Path) -> None:
    assert run("--dir", str(tmp_path), "--editor", "neovim").exit_code == 0
    assert compiler_option(tmp_path, "makeprg") == "drafter check %:S"
    patterns = errorformat_regexes(compiler_option(tmp_path, "errorformat"))
    for finding in FINDINGS:
        assert quickfix_entry(patterns, finding.format()) == expected_entry(finding)
    assert quickfix_entry(patterns, "drafter: error: cannot read PLAN.md") is None


VIM = shutil.which("nvim") or shutil.which("vim")


@pytest.mark.skipif(VIM is None, reason="neither nvim nor vim is installed")
def test_neovim_errorformat_in_the_real_editor(tmp_path: Path) -> None:
    assert VIM is not None
    assert run("--dir", str(tmp_path), "--editor", "neovim").exit_code == 0
    findings = [f for f in FINDINGS if not str(f.file).startswith("C:")]  # a drive on POSIX
    (tmp_path / "out.txt").write_text("".join(f.format() + "\n" for f in findings))
    result = tmp_path / "qf.json"
    dump = (
        "call writefile([json_encode(map(getqflist(), {_, e -> "
        f"[bufname(e.bufnr), e.lnum, e.col, e.type, e.text, e.valid]}}))], '{result}')"
    )
    headless = ["--headless"] if VIM.endswith("nvim") else ["-N", "-es"]
    subprocess.run(
        [
            *(VIM, *headless, "-u", "NONE", "-i", "NONE"),
            *("--cmd", f"set rtp^={tmp_path / '.nvim'}", "-c", "compiler drafter"),
            *("-c", f"cgetfile {tmp_path / 'out.txt'}", "-c", dump, "-c", "qa!"),
        ],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=True,
    )
    entries = json.loads(result.read_text())
    patterns = errorformat_regexes(compiler_option(tmp_path, "errorformat"))
    for finding, (name, lnum, col, kind, text, valid) in zip(findings, entries, strict=True):
        assert valid == 1
        assert (name, lnum, col, QF_TYPES[kind], text) == expected_entry(finding)
        assert quickfix_entry(patterns, finding.format()) == expected_entry(finding)


@pytest.mark.skipif(shutil.which("nvim") is None, reason="nvim is not installed")
def test_neovim_snippet_defines_commands_and_compiler(tmp_path: Path) -> None:
    assert run("--dir", str(tmp_path), "--editor", "neovim").exit_code == 0
    (tmp_path / "PLAN.md").write_text("# Plan\n")
    result = tmp_path / "state.json"
    probe = (
        'call writefile([json_encode([exists(":DrafterPlan"), exists(":DrafterCheck"), '
        f"get(b:, 'current_compiler', ''), &l:makeprg])], '{result}')"
    )
    subprocess.run(
        [
            *("nvim", "--headless", "-u", "NONE", "-i", "NONE", "-c", "luafile .nvim.lua"),
            *("-c", "edit PLAN.md", "-c", probe, "-c", "qa!"),
        ],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.read_text()) == [2, 2, "drafter", "drafter check %:S"]


# -- init: idempotence, merging, --force --------------------------------------------------------


def test_init_twice_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    first = run("--dir", str(tmp_path), *ALL)
    assert first.exit_code == 0, first.output
    assert all(line.startswith(("wrote", "merged")) for line in first.stdout.splitlines())
    written = snapshot(tmp_path)
    assert set(written) >= {
        ".vscode/tasks.json",
        ".nvim/compiler/drafter.vim",
        ".nvim/drafter.lua",
        ".nvim.lua",
        ".claude/commands/drafter-plan.md",
        ".cursor/commands/drafter-plan.md",
        ".github/prompts/drafter-plan.prompt.md",
        ".mcp.json",
        ".cursor/mcp.json",
        ".vscode/mcp.json",
        ".gitignore",
        "pyproject.toml",
    }
    assert not [name for name in written if name.endswith(".tmp")]
    second = run("--dir", str(tmp_path), *ALL)
    assert second.exit_code == 0
    assert snapshot(tmp_path) == written
    lines = second.stdout.splitlines()
    assert len(lines) == len(first.stdout.splitlines())
    assert all(line.startswith("unchanged") for line in lines), lines


USER_TASKS = """\
// Project tasks: keep this comment
{
\t"version": "2.0.0",
\t"tasks": [
\t\t{
\t\t\t"label": "build", // the build
\t\t\t"type": "shell",
\t\t\t"command": "make",
\t\t\t"detail": "not comments: // /* ] } \\" */",
\t\t}, /* a trailing comma above, JSONC allows it */
\t],
}
"""


def strip_known_jsonc(text: str) -> Any:
    """Parse the merged file without drafter's parser: remove this test's comments by value,
    then trailing commas, and hand the rest to json."""
    for comment in (
        "// Project tasks: keep this comment",
        "// the build",
        "/* a trailing comma above, JSONC allows it */",
    ):
        assert text.count(comment) == 1, comment
        text = text.replace(comment, "")
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def test_existing_tasks_json_keeps_user_task_and_comments(tmp_path: Path) -> None:
    tasks_json = tmp_path / ".vscode" / "tasks.json"
    tasks_json.parent.mkdir()
    tasks_json.write_text(USER_TASKS)
    result = run("--dir", str(tmp_path), "--editor", "vscode")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("merged    .vscode/tasks.json (added ")
    merged = tasks_json.read_text()
    # The user's lines are untouched; drafter's tasks follow theirs, in their indentation.
    assert merged.startswith(USER_TASKS.split("\t],")[0])
    data = strip_known_jsonc(merged)
    assert [task["label"] for task in data["tasks"]] == ["build", *DRAFTER_LABELS]
    assert data["tasks"][0] == {
        "label": "build",
        "type": "shell",
        "command": "make",
        "detail": 'not comments: // /* ] } " */',
    }
    assert data["tasks"][1:] == TEMPLATE["tasks"]
    assert '\n\t\t{\n\t\t\t"label": "drafter: check plan"' in merged
    again = run("--dir", str(tmp_path), "--editor", "vscode")
    assert again.stdout.splitlines()[0] == "unchanged .vscode/tasks.json"
    assert tasks_json.read_text() == merged


@pytest.mark.parametrize(
    "text",
    ['{"version": "2.0.0"}\n', '{\n  "version": "2.0.0",\n  "tasks": []\n}\n', "{}", "  {\n}  "],
)
def test_tasks_array_created_or_filled(tmp_path: Path, text: str) -> None:
    tasks_json = tmp_path / ".vscode" / "tasks.json"
    tasks_json.parent.mkdir()
    tasks_json.write_text(text)
    assert run("--dir", str(tmp_path), "--editor", "vscode").exit_code == 0
    data = json.loads(tasks_json.read_text())
    assert [task["label"] for task in data["tasks"]] == DRAFTER_LABELS
    assert data.get("version") == json.loads(text).get("version")


USER_TASK = {"label": "build", "command": "make", "args": ["a", {"x": [1, 2.5e3, None, True]}]}


@pytest.mark.parametrize(
    "document",
    [{"version": "2.0.0", "tasks": [USER_TASK]}, {"tasks": []}, {"version": "2.0.0"}, {}],
)
@pytest.mark.parametrize(
    "layout", [{}, {"indent": 2}, {"indent": "\t"}, {"separators": (",", ":")}], ids=str
)
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_merge_keeps_any_layout_valid(
    document: dict[str, Any], layout: dict[str, Any], newline: str
) -> None:
    text = json.dumps(document, **layout).replace("\n", newline) + newline
    change = editors.merge_tasks(text, TEMPLATE["tasks"], False, "tasks.json")
    assert change.content is not None
    merged = json.loads(change.content)
    assert merged["tasks"] == document.get("tasks", []) + TEMPLATE["tasks"]
    assert {k: v for k, v in merged.items() if k != "tasks"} == {
        k: v for k, v in document.items() if k != "tasks"
    }
    if newline == "\r\n":
        assert "\n" not in change.content.replace("\r\n", "")
    again = editors.merge_tasks(change.content, TEMPLATE["tasks"], False, "tasks.json")
    assert (again.action, again.content) == ("unchanged", None)


def test_edited_drafter_task_is_kept_unless_force(tmp_path: Path) -> None:
    assert run("--dir", str(tmp_path), "--editor", "vscode").exit_code == 0
    tasks_json = tmp_path / ".vscode" / "tasks.json"
    edited = tasks_json.read_text().replace('"drafter"', '".venv/bin/drafter"', 1)
    tasks_json.write_text(edited)
    kept = run("--dir", str(tmp_path), "--editor", "vscode")
    assert kept.exit_code == 0
    assert kept.stdout.splitlines()[0] == (
        'kept      .vscode/tasks.json (task "drafter: spec-to-plan (current file)" differs; '
        "use --force)"
    )
    assert tasks_json.read_text() == edited
    forced = run("--dir", str(tmp_path), "--editor", "vscode", "--force")
    assert forced.stdout.splitlines()[0].startswith("merged    .vscode/tasks.json (replaced ")
    assert json.loads(tasks_json.read_text()) == TEMPLATE


@pytest.mark.parametrize("text", ['{"tasks": [ { "label": "x" ', "[1, 2]", '{"tasks": {}}', "{,}"])
def test_unparsable_tasks_json_is_refused_not_clobbered(tmp_path: Path, text: str) -> None:
    tasks_json = tmp_path / ".vscode" / "tasks.json"
    tasks_json.parent.mkdir()
    tasks_json.write_text(text)
    result = run("--dir", str(tmp_path), "--editor", "vscode", "--editor", "claude", "--force")
    assert result.exit_code == 2
    assert tasks_json.read_text() == text
    assert "drafter: error: .vscode/tasks.json: cannot parse it as JSONC, line 1 column" in (
        result.stderr
    )
    assert "Traceback" not in result.output
    # The other editor's file is still written.
    assert (tmp_path / ".claude" / "commands" / "drafter-plan.md").is_file()


def test_edited_own_file_kept_unless_force(tmp_path: Path) -> None:
    assert run("--dir", str(tmp_path), "--editor", "claude").exit_code == 0
    command = tmp_path / ".claude" / "commands" / "drafter-plan.md"
    original = command.read_text()
    command.write_text(original + "\nAlso run the linter.\n")
    kept = run("--dir", str(tmp_path), "--editor", "claude")
    assert kept.exit_code == 0
    assert "kept      .claude/commands/drafter-plan.md (differs; use --force)" in kept.stdout
    assert command.read_text().endswith("Also run the linter.\n")
    forced = run("--dir", str(tmp_path), "--editor", "claude", "--force")
    assert "replaced  .claude/commands/drafter-plan.md" in forced.stdout
    assert command.read_text() == original


def test_crlf_checkout_of_own_file_is_unchanged(tmp_path: Path) -> None:
    assert run("--dir", str(tmp_path), "--editor", "cursor").exit_code == 0
    command = tmp_path / ".cursor" / "commands" / "drafter-plan.md"
    command.write_bytes(command.read_bytes().replace(b"\n", b"\r\n"))
    result = run("--dir", str(tmp_path), "--editor", "cursor")
    assert "unchanged .cursor/commands/drafter-plan.md" in result.stdout


# -- detection ----------------------------------------------------------------------------------


def test_detects_editors_from_directories(tmp_path: Path) -> None:
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".github").mkdir()
    (tmp_path / ".nvim.lua").write_text("vim.o.number = true\n")
    assert editors.detect(tmp_path) == [Editor.neovim, Editor.claude, Editor.copilot]
    result = run("--dir", str(tmp_path))
    assert result.exit_code == 0
    assert (tmp_path / ".claude/commands/drafter-plan.md").is_file()
    assert (tmp_path / ".github/prompts/drafter-plan.prompt.md").is_file()
    assert (tmp_path / ".nvim/compiler/drafter.vim").is_file()
    assert not (tmp_path / ".vscode").exists()
    assert not (tmp_path / ".cursor").exists()


def test_no_editor_detected_exits_2_listing_choices(tmp_path: Path) -> None:
    result = run("--dir", str(tmp_path))
    assert result.exit_code == 2
    for editor in Editor:
        assert editor.value in result.stderr
    assert "--editor" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_dir_or_unknown_editor_exits_2(tmp_path: Path) -> None:
    result = run("--dir", str(tmp_path / "absent"), "--editor", "claude")
    assert result.exit_code == 2
    assert "no such directory" in result.stderr
    assert run("--dir", str(tmp_path), "--editor", "emacs").exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_empty_tasks_json_is_filled(tmp_path: Path) -> None:
    tasks_json = tmp_path / ".vscode" / "tasks.json"
    tasks_json.parent.mkdir()
    tasks_json.write_text("\n")
    assert "wrote     .vscode/tasks.json" in run("--dir", str(tmp_path), "-e", "vscode").stdout
    assert json.loads(tasks_json.read_text()) == TEMPLATE


# -- settings -----------------------------------------------------------------------------------


def uncommented_settings(text: str) -> dict[str, Any]:
    keys = "\n".join(line[2:] for line in text.splitlines() if re.match(r"# [a-z_]+ = ", line))
    return tomllib.loads(keys)


def test_pyproject_gets_tool_drafter_appended(tmp_path: Path) -> None:
    original = b'[project]\r\nname = "demo"\r\n\r\n[tool.ruff]\r\nline-length = 100'  # no EOL
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes(original)
    result = run("--dir", str(tmp_path), "--editor", "claude")
    assert "merged    pyproject.toml (appended [tool.drafter])" in result.stdout
    written = pyproject.read_bytes()
    assert written.startswith(original + b"\r\n")
    assert b"\n" not in written.replace(b"\r\n", b"")  # the file's line endings are kept
    data = tomllib.loads(written.decode())
    assert data["tool"]["drafter"] == {}
    assert data["tool"]["ruff"] == {"line-length": 100}
    assert config.find_config_file(tmp_path) == pyproject
    settings = uncommented_settings(written.decode().split("[tool.drafter]")[1])
    assert set(settings) == {
        "model",
        "base_url",
        "constitution",
        "max_concurrency",
        "repair_attempts",
        "cache_dir",
    }
    config.Settings.model_validate(settings)
    again = run("--dir", str(tmp_path), "--editor", "claude")
    assert "unchanged pyproject.toml (has [tool.drafter])" in again.stdout
    assert pyproject.read_bytes() == written


def test_pyproject_with_settings_is_left_alone(tmp_path: Path) -> None:
    text = '[project]\nname = "demo"\n\n[tool.drafter]\nmodel = "openai:gpt-4o-mini"\n'
    (tmp_path / "pyproject.toml").write_text(text)
    result = run("--dir", str(tmp_path), "--editor", "claude")
    assert "unchanged pyproject.toml" in result.stdout
    assert (tmp_path / "pyproject.toml").read_text() == text
    assert not (tmp_path / "drafter.toml").exists()


def test_invalid_pyproject_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 1\n")
    result = run("--dir", str(tmp_path), "--editor", "claude")
    assert result.exit_code == 2
    assert "drafter: error: pyproject.toml: not valid TOML" in result.stderr
    assert (tmp_path / "pyproject.toml").read_text() == "[project\nname = 1\n"
    assert not (tmp_path / "drafter.toml").exists()


def test_drafter_toml_when_no_pyproject(tmp_path: Path) -> None:
    result = run("--dir", str(tmp_path), "--editor", "claude")
    assert "wrote     drafter.toml" in result.stdout
    drafter_toml = tmp_path / "drafter.toml"
    assert tomllib.loads(drafter_toml.read_text()) == {}
    assert config.load(tmp_path).source == drafter_toml
    config.Settings.model_validate(uncommented_settings(drafter_toml.read_text()))
    # Once the user sets a key it is their file: not replaced, not even with --force.
    drafter_toml.write_text('model = "ollama:llama3"\n')
    forced = run("--dir", str(tmp_path), "--editor", "claude", "--force")
    assert "unchanged drafter.toml (your settings)" in forced.stdout
    assert drafter_toml.read_text() == 'model = "ollama:llama3"\n'


def test_nvim_lua_gets_one_line_appended(tmp_path: Path) -> None:
    exrc = tmp_path / ".nvim.lua"
    exrc.write_text("vim.o.number = true")
    result = run("--dir", str(tmp_path), "--editor", "neovim")
    assert "merged    .nvim.lua" in result.stdout
    text = exrc.read_text()
    assert text.startswith("vim.o.number = true\n")
    assert text.count('dofile(".nvim/drafter.lua")') == 1
    run("--dir", str(tmp_path), "--editor", "neovim")
    assert exrc.read_text() == text


def test_writes_are_atomic_and_keep_permissions(tmp_path: Path) -> None:
    target = tmp_path / "pyproject.toml"
    target.write_text('[project]\nname = "demo"\n')
    target.chmod(0o640)
    files.write_atomic(target, "[project]\n")
    assert target.read_text() == "[project]\n"
    assert target.stat().st_mode & 0o777 == 0o640
    fresh = tmp_path / "new" / "file.md"
    umask = os.umask(0o022)
    try:
        files.write_atomic(fresh, "x\n")
    finally:
        os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o644  # as a plain open() would make it
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["file.md", "new", "pyproject.toml"]


def test_unreadable_file_stops_before_writing(tmp_path: Path) -> None:
    tasks_json = tmp_path / ".vscode" / "tasks.json"
    tasks_json.parent.mkdir()
    tasks_json.write_bytes(b'{"tasks": ["\xff"]}')
    with pytest.raises(InputError, match=r"tasks\.json is not UTF-8 text"):
        editors.changes_for(tmp_path, [Editor.claude, Editor.vscode])
    assert sorted(p.name for p in tmp_path.rglob("*")) == [".vscode", "tasks.json"]


# -- command names ----------------------------------------------------------------------------


def test_commands_do_not_shadow_the_editors_own_plan(tmp_path: Path) -> None:
    """Claude Code, Cursor and Copilot have a built-in /plan: drafter's is /drafter-plan."""
    assert run("--dir", str(tmp_path), *ALL).exit_code == 0
    commands = [
        p.relative_to(tmp_path).as_posix()
        for folder in (".claude/commands", ".cursor/commands", ".github/prompts")
        for p in (tmp_path / folder).iterdir()
    ]
    assert sorted(commands) == [
        ".claude/commands/drafter-plan.md",
        ".cursor/commands/drafter-plan.md",
        ".github/prompts/drafter-plan.prompt.md",
    ]


def test_old_plan_command_is_removed_unless_edited(tmp_path: Path) -> None:
    """A /plan that an earlier drafter wrote goes; one a person edited stays, reported."""
    assert run("--dir", str(tmp_path), "-e", "claude", "-e", "cursor").exit_code == 0
    claude_old = tmp_path / ".claude/commands/plan.md"
    cursor_old = tmp_path / ".cursor/commands/plan.md"
    claude_old.write_bytes((tmp_path / ".claude/commands/drafter-plan.md").read_bytes())
    cursor_old.write_text("my own plan command\n")
    result = run("--dir", str(tmp_path), "-e", "claude", "-e", "cursor")
    assert result.exit_code == 0
    assert "removed   .claude/commands/plan.md (renamed; /plan is the editor's own command)" in (
        result.stdout
    )
    assert "kept      .cursor/commands/plan.md (drafter's old name, edited" in result.stdout
    assert not claude_old.exists()
    assert cursor_old.read_text() == "my own plan command\n"


# -- .gitignore ---------------------------------------------------------------------------------


def test_gitignore_is_created_with_the_cache_dir(tmp_path: Path) -> None:
    result = run("--dir", str(tmp_path), "-e", "claude")
    assert "wrote     .gitignore" in result.stdout
    assert ".drafter/" in (tmp_path / ".gitignore").read_text().splitlines()
    again = run("--dir", str(tmp_path), "-e", "claude")
    assert "unchanged .gitignore" in again.stdout


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("node_modules/\n", "merged"),
        ("dist", "merged"),
        ("build/\r\n", "merged"),
        ("/.drafter\n", "unchanged"),
        ("x\n  .drafter/  \n", "unchanged"),
    ],
)
def test_gitignore_gets_the_cache_dir_once(tmp_path: Path, text: str, action: str) -> None:
    ignore = tmp_path / ".gitignore"
    ignore.write_bytes(text.encode())
    result = run("--dir", str(tmp_path), "-e", "claude")
    assert f"{action:<9} .gitignore" in result.stdout
    after = ignore.read_bytes().decode()
    assert after.startswith(text)
    if action == "merged":
        lines = after.splitlines()
        assert lines.count(".drafter/") == 1 and lines[0] == text.strip()
        assert ("\r\n" in after) == ("\r\n" in text) and "\n\n\n" not in after
    else:
        assert after == text
    run("--dir", str(tmp_path), "-e", "claude")
    assert ignore.read_bytes().decode() == after


def test_gitignore_keeps_the_cache_out_of_git(tmp_path: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".drafter" / "cache").mkdir(parents=True)
    (tmp_path / ".drafter" / "cache" / "answer.json").write_text("{}")
    assert run("--dir", str(tmp_path), "-e", "claude").exit_code == 0
    status = subprocess.run(
        [git, "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ".drafter" not in status.stdout
    assert ".gitignore" in status.stdout


# -- MCP server configs ---------------------------------------------------------------------------

MCP = {
    "claude": (".mcp.json", "mcpServers", {"type": "stdio", "command": "drafter", "args": ["mcp"]}),
    "cursor": (".cursor/mcp.json", "mcpServers", {"command": "drafter", "args": ["mcp"]}),
    "vscode": (
        ".vscode/mcp.json",
        "servers",
        {
            "type": "stdio",
            "command": "drafter",
            "args": ["mcp", "--root", "${workspaceFolder}"],
        },
    ),
}


@pytest.mark.parametrize("editor", MCP)
def test_mcp_server_registered_in_the_editors_format(tmp_path: Path, editor: str) -> None:
    rel, key, entry = MCP[editor]
    result = run("--dir", str(tmp_path), "-e", editor)
    assert f"wrote     {rel}" in result.stdout
    assert json.loads((tmp_path / rel).read_text()) == {key: {"drafter": entry}}
    assert f"unchanged {rel}" in run("--dir", str(tmp_path), "-e", editor).stdout


USER_MCP = """\
{
    // the team's servers
    "servers": {
        "github": {"type": "http", "url": "https://api.example.invalid/mcp"},
    },
    "inputs": []
}
"""


def test_mcp_config_merged_keeping_the_users_servers(tmp_path: Path) -> None:
    config_file = tmp_path / ".vscode" / "mcp.json"
    config_file.parent.mkdir()
    config_file.write_text(USER_MCP)
    result = run("--dir", str(tmp_path), "-e", "vscode")
    assert 'merged    .vscode/mcp.json (added server "drafter")' in result.stdout
    merged = config_file.read_text()
    assert merged.startswith(USER_MCP.split('    },\n    "inputs"')[0])
    assert '\n        "drafter": {\n            "type": "stdio",' in merged
    data = json.loads(re.sub(r",(\s*[}\]])", r"\1", merged.replace("// the team's servers", "")))
    assert list(data["servers"]) == ["github", "drafter"]
    assert data["servers"]["drafter"] == MCP["vscode"][2] and data["inputs"] == []
    assert "unchanged .vscode/mcp.json" in run("--dir", str(tmp_path), "-e", "vscode").stdout
    assert config_file.read_text() == merged


@pytest.mark.parametrize("text", ["{}", '{"other": 1}\n', '{\n  "mcpServers": {}\n}\n'])
def test_mcp_servers_object_created_or_filled(tmp_path: Path, text: str) -> None:
    (tmp_path / ".mcp.json").write_text(text)
    assert run("--dir", str(tmp_path), "-e", "claude").exit_code == 0
    data = json.loads((tmp_path / ".mcp.json").read_text())
    assert data["mcpServers"] == {"drafter": MCP["claude"][2]}
    assert data.get("other") == json.loads(text).get("other")


def test_edited_mcp_entry_kept_unless_force(tmp_path: Path) -> None:
    assert run("--dir", str(tmp_path), "-e", "cursor").exit_code == 0
    config_file = tmp_path / ".cursor" / "mcp.json"
    edited = config_file.read_text().replace('"drafter",', '".venv/bin/drafter",')
    config_file.write_text(edited)
    kept = run("--dir", str(tmp_path), "-e", "cursor")
    assert 'kept      .cursor/mcp.json (server "drafter" differs; use --force)' in kept.stdout
    assert config_file.read_text() == edited
    forced = run("--dir", str(tmp_path), "-e", "cursor", "--force")
    assert "merged    .cursor/mcp.json (replaced server" in forced.stdout
    assert json.loads(config_file.read_text()) == {"mcpServers": {"drafter": MCP["cursor"][2]}}


@pytest.mark.parametrize("text", ['{"mcpServers": [] }', "[]", '{"mcpServers": {'])
def test_unparsable_mcp_config_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / ".mcp.json").write_text(text)
    result = run("--dir", str(tmp_path), "-e", "claude")
    assert result.exit_code == 2
    assert "drafter: error: .mcp.json: cannot parse it as JSONC, line 1 column" in result.stderr
    assert (tmp_path / ".mcp.json").read_text() == text
