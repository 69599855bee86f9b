"""The docs say what the app does: the CLI reference is generated from the app, the documented
`--json` keys are the keys printed, and every Python example in docs/ runs."""

from __future__ import annotations

import inspect
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, REPO
from typer.testing import CliRunner

from drafter.cli import app
from drafter.cli.reference import CLI_DOC, REFERENCE, reference, with_synopsis

DOCS = REPO / "docs"


def _doc(name: str) -> str:
    return (DOCS / name).read_text("utf-8")


# --- the CLI reference -----------------------------------------------------------------------


def test_cli_reference_is_generated_from_the_app() -> None:
    assert (REPO / REFERENCE).read_text("utf-8") == reference(), "run `make docs`"


def test_cli_synopsis_is_generated_from_the_app() -> None:
    committed = (REPO / CLI_DOC).read_text("utf-8")
    assert committed == with_synopsis(committed), "run `make docs`"


def test_synopsis_names_every_command_and_option() -> None:
    import typer

    synopsis = _doc("cli.md").split("<!-- end of synopsis -->")[0]
    group: Any = typer.main.get_command(app)
    for name, command in group.commands.items():
        assert f"drafter {name} " in synopsis or f"drafter {name}\n" in synopsis
        for param in command.params:
            for opt in param.opts if param.param_type_name == "option" else ():
                assert re.search(rf"[\[|]{re.escape(opt)}[\] |]", synopsis), (name, opt)


def test_ci_docs_say_what_no_cache_and_no_resume_each_do() -> None:
    ci = _doc("ci.md")
    for flag in ("--no-cache", "--no-resume"):
        assert f"- **`{flag}`**" in ci


def test_fake_provider_docs_list_every_fault_kind_with_its_keys() -> None:
    from drafter.testing.fake_openai import FAULTS

    doc = _doc("fake-provider.md")
    for kind, (keys, _) in FAULTS.items():
        row = re.search(rf"^\| `{kind}` \|([^|]*)\|", doc, re.M)
        assert row is not None, kind
        assert set(re.findall(r"`(\w+)`", row.group(1))) == set(keys), kind


def test_every_flag_the_docs_pass_to_a_command_exists() -> None:
    """`drafter COMMAND … --flag` anywhere in the docs, README or action.yml names an option
    of that command (continued lines joined)."""
    import typer

    group: Any = typer.main.get_command(app)
    options = {
        name: {opt for param in command.params for opt in param.opts} | {"-h", "--help"}
        for name, command in group.commands.items()
    }
    unknown, seen = [], 0
    for page in sorted([*DOCS.glob("*.md"), REPO / "README.md", REPO / "action.yml"]):
        text = re.sub(r"(\\|>)\n\s+", " ", page.read_text("utf-8"))
        for match in re.finditer(r"\bdrafter\s+([a-z][a-z-]+)\b([^\n`|]*)", text):
            command, rest = match.groups()
            if command in options:
                seen += 1
                flags = re.findall(r"(?<![\w-])(--[a-z][\w-]*|-[a-z])\b", rest)
                unknown += [(page.name, command, f) for f in flags if f not in options[command]]
    assert seen > 50 and unknown == []


# --- documented --json keys -------------------------------------------------------------------


def _braced(text: str, after: str) -> set[str]:
    """The names in the first `{a, b, c}` after `after` (backticks and line breaks ignored)."""
    start = text.index(after) + len(after)
    inner = text[text.index("{", start) + 1 : text.index("}", start)]
    return {name.strip(" `\n") for name in inner.split(",")}


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()  # discovery stops here
    for name in ("SPEC.md", "constitution.md"):
        shutil.copy(EXAMPLES / "csv-export" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.stdout


def test_spec_to_plan_json_keys_are_documented(example: Path) -> None:
    summary = json.loads(_run("spec-to-plan", "SPEC.md", "--json"))
    assert set(summary) == _braced(_doc("cli.md"), "**`--json`** prints")


def test_check_json_keys_are_documented(example: Path) -> None:
    _run("spec-to-plan", "SPEC.md")
    report = json.loads(_run("check", "PLAN.md", "--format", "json"))
    table = _doc("check.md").split("**json**: one object on stdout:")[1].split("\n\n")[1]
    documented = {
        key for row in table.splitlines()[2:] for key in re.findall(r"`(\w+)`", row.split("|")[1])
    }
    assert set(report) == documented


def test_batch_json_keys_are_documented(example: Path) -> None:
    _run("batch", "SPEC.md", "--report", "report.json")
    report = json.loads((example / "report.json").read_text("utf-8"))
    ci = _doc("ci.md")
    assert set(report) == _braced(ci, "`--report FILE` writes the same results as JSON")
    assert set(report["specs"][0]) == _braced(ci, "`specs` one object per spec,")
    assert set(report["totals"]) == _braced(ci, "`totals` the counts")


def test_ids_json_keys_are_documented(example: Path) -> None:
    [first, *_] = json.loads(_run("ids", "SPEC.md", "--json"))
    assert set(first) == _braced(_doc("cli.md"), "`--json` prints `[")


# --- examples ----------------------------------------------------------------------------------


def _python_blocks() -> list[Any]:
    blocks = []
    for page in sorted([*DOCS.glob("*.md"), REPO / "README.md"]):
        text = page.read_text("utf-8")
        for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            line = text.count("\n", 0, match.start()) + 2
            blocks.append(pytest.param(page, line, match.group(1), id=f"{page.name}:{line}"))
    return blocks


@pytest.mark.parametrize(("page", "line", "code"), _python_blocks())
def test_python_examples_in_the_docs_run(page: Path, line: int, code: str, tmp_path: Path) -> None:
    """Each block runs as a module; the `test_*` functions it defines are called (`tmp_path`
    is the one fixture they may ask for)."""
    namespace: dict[str, Any] = {"__name__": "doc_example"}
    exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    for test in tests:
        wants = inspect.signature(test).parameters
        test(**({"tmp_path": tmp_path} if "tmp_path" in wants else {}))
