"""`drafter mcp` driven by the MCP SDK's own client over stdio, as an editor's agent drives it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import EXAMPLES
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

from drafter.testing.fake_openai import FakeOpenAI

TOOLS = {"spec_to_plan", "update_plan", "check_plan", "list_rules"}
SPEC = "csv-export/SPEC.md"
PLAN = "csv-export/PLAN.md"

Scenario = Callable[[ClientSession], Awaitable[None]]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository holding a copy of the bundled example, without its plan."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "csv-export", root / "csv-export")
    (root / PLAN).unlink(missing_ok=True)
    return root


def serve(root: Path, scenario: Scenario, env: dict[str, str] | None = None) -> None:
    """Start `drafter mcp` in `root` and run `scenario` against it with the SDK's client."""

    async def main() -> None:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "drafter", "mcp"], cwd=root, env=env
        )
        with anyio.fail_after(120):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                await scenario(s)

    anyio.run(main)


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def cli(root: Path, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "drafter", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(done.stdout)


def test_lists_tools_drafts_checks_and_lists_rules(repo: Path) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async def scenario(session: ClientSession) -> None:
        listed = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(listed) == TOOLS
        for tool in listed.values():
            assert tool.description and tool.output_schema, tool.name
        draft = listed["spec_to_plan"].input_schema
        assert draft["required"] == ["spec"]
        assert set(draft["properties"]) == {"spec", "constitution", "model", "write"}
        assert draft["properties"]["write"]["default"] is True
        assert listed["update_plan"].input_schema["required"] == ["plan"]
        assert listed["check_plan"].input_schema["required"] == ["plan"]
        assert "required" not in listed["list_rules"].input_schema

        drafted = await session.call_tool(
            "spec_to_plan", {"spec": SPEC}, progress_callback=on_progress
        )
        assert not drafted.is_error, drafted.content
        out = drafted.structured_content
        assert out is not None
        assert out["plan"] == PLAN and out["drafter"] == "offline"
        assert out["text"] == (repo / PLAN).read_text("utf-8")
        assert out["text"].startswith("# Implementation Plan: CSV Export")
        assert {row["id"] for row in out["traceability"]} >= {"FR-001", "FR-002"}
        assert all(f["text"].startswith(f"{PLAN}:") for f in out["findings"])

        checked = await session.call_tool("check_plan", {"plan": PLAN})
        assert not checked.is_error, checked.content
        assert checked.structured_content == cli(repo, "check", PLAN, "--format", "json")

        rules = await session.call_tool("list_rules", {"spec": SPEC})
        assert not rules.is_error, rules.content
        assert rules.structured_content is not None
        listed = [(r["id"], r["level"], r["category"]) for r in rules.structured_content["rules"]]
        expected = cli(repo / "csv-export", "rules", "--json")
        assert listed == [(r["id"], r["level"], r["category"]) for r in expected]
        assert rules.structured_content["constitution"] == "csv-export/constitution.md"

        # Resources: the plan schema, and the plan just written.
        uris = {str(r.uri) for r in (await session.list_resources()).resources}
        assert uris == {"drafter://schema/plan", f"drafter://plan/{PLAN}"}
        schema = (await session.read_resource("drafter://schema/plan")).contents[0]
        assert json.loads(getattr(schema, "text", ""))["title"] == "Plan"
        plan = (await session.read_resource(f"drafter://plan/{PLAN}")).contents[0]
        assert getattr(plan, "text", None) == out["text"]

    serve(repo, scenario)
    assert progress[0][0] == 0 and "drafting csv-export/SPEC.md" in (progress[0][2] or "")
    assert progress[-1][0] == progress[-1][1] and "done" in (progress[-1][2] or "")
    assert [p[0] for p in progress] == sorted({p[0] for p in progress})  # strictly increasing
    # One notification per plan section as it is done, out of sections + the final step.
    sections = [p for p in progress if "sections)" in (p[2] or "")]
    assert len(sections) == 15 and {p[1] for p in progress} == {16}
    assert "(15 of 15 sections)" in (sections[-1][2] or "")


def test_update_keeps_hand_edits_and_write_false_writes_nothing(repo: Path) -> None:
    async def scenario(session: ClientSession) -> None:
        preview = await session.call_tool("spec_to_plan", {"spec": SPEC, "write": False})
        assert preview.structured_content is not None
        assert preview.structured_content["plan"] is None
        assert not (repo / PLAN).exists()

        await session.call_tool("spec_to_plan", {"spec": SPEC})
        plan = repo / PLAN
        edited = plan.read_text("utf-8").replace("## Goal\n", "## Goal\n\nOur own words.\n", 1)
        plan.write_text(edited, "utf-8")
        updated = await session.call_tool("update_plan", {"plan": PLAN})
        assert not updated.is_error, updated.content
        assert updated.structured_content is not None
        assert updated.structured_content["kept"] == ["goal"]
        assert "Our own words." in plan.read_text("utf-8")

        # A trailer naming a spec outside the repository is refused like a path argument.
        moved = repo.parent / "outside" / "SPEC.md"
        moved.parent.mkdir()
        shutil.copy(repo / SPEC, moved)
        text = plan.read_text("utf-8")
        assert '"spec": "SPEC.md"' in text
        plan.write_text(text.replace('"spec": "SPEC.md"', '"spec": "../../outside/SPEC.md"'))
        refused = error_text(await session.call_tool("update_plan", {"plan": PLAN}))
        assert "spec recorded in csv-export/PLAN.md" in refused
        assert "outside the working directory" in refused
        assert not (moved.parent / "PLAN.md").exists()

    serve(repo, scenario)


def test_errors_are_tool_errors_and_the_server_keeps_serving(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "SPEC.md"
    outside.parent.mkdir()
    shutil.copy(repo / SPEC, outside)

    async def scenario(session: ClientSession) -> None:
        missing = error_text(await session.call_tool("spec_to_plan", {"spec": "nope/SPEC.md"}))
        assert "spec nope/SPEC.md not found" in missing and "(exit 2: bad input)" in missing
        for args in ({"spec": "../elsewhere/SPEC.md"}, {"spec": str(outside)}):
            refused = error_text(await session.call_tool("spec_to_plan", args))
            assert "outside the working directory" in refused and "exit 2" in refused
        refused = error_text(await session.call_tool("check_plan", {"plan": "/etc/passwd"}))
        assert "outside the working directory" in refused
        no_trailer = error_text(await session.call_tool("update_plan", {"plan": SPEC}))
        assert "no drafter comment naming its spec" in no_trailer
        bad = error_text(await session.call_tool("list_rules", {"spec": SPEC, "constitution": "x"}))
        assert "not both" in bad
        # Still serving.
        rules = await session.call_tool(
            "list_rules", {"constitution": "csv-export/constitution.md"}
        )
        assert not rules.is_error

    serve(repo, scenario)
    assert not (outside.parent / "PLAN.md").exists()


def test_drafts_through_a_model_and_reports_provider_failures(repo: Path, fake: FakeOpenAI) -> None:
    async def scenario(session: ClientSession) -> None:
        assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS
        args = {"spec": SPEC, "model": "openai:fake"}
        missing = await session.call_tool("spec_to_plan", args | {"spec": "nope/SPEC.md"})
        assert "not found (exit 2: bad input)" in error_text(missing)
        drafted = await session.call_tool("spec_to_plan", args)
        assert not drafted.is_error, drafted.content
        assert drafted.structured_content is not None
        assert drafted.structured_content["drafter"] == "openai:fake"
        assert fake.stats.completions >= 15  # one call per section at least

        checked = await session.call_tool("check_plan", {"plan": PLAN})
        assert checked.structured_content is not None
        assert checked.structured_content["read_back"] is True
        rules = await session.call_tool("list_rules", {"spec": SPEC})
        assert rules.structured_content is not None and rules.structured_content["rules"]

        fake.reset()
        fake.fault("refusal", schema="GoalSection")
        shutil.rmtree(repo / ".drafter")  # the cached answers would stand in for the provider
        failed = error_text(await session.call_tool("spec_to_plan", args | {"write": False}))
        assert "section goal" in failed and "(exit 3: provider failure)" in failed

    serve(repo, scenario, env={"DRAFTER_BASE_URL": fake.base_url})


def test_missing_root_is_one_line_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "drafter", "mcp", "--root", str(tmp_path / "absent")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"drafter: error: --root {tmp_path / 'absent'}: no such directory"
    ]
