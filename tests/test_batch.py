"""`drafter batch`: shards, --check, JUnit/JSON, failures isolated, one shared call bound."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from conftest import EXAMPLES
from typer.testing import CliRunner

from drafter.app import batch
from drafter.cli import app
from drafter.model.sections import SECTIONS
from drafter.providers.limiter import CallBound
from drafter.testing.fake_openai import FakeOpenAI

EXAMPLE = EXAMPLES / "csv-export"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three features sharing one constitution under specs/, the working directory at the root."""
    (tmp_path / ".git").mkdir()  # config and constitution discovery stop at the repo root
    shutil.copy(EXAMPLE / "constitution.md", tmp_path / "constitution.md")
    for name in ("alpha", "beta", "gamma"):
        (tmp_path / "specs" / name).mkdir(parents=True)
        shutil.copy(EXAMPLE / "SPEC.md", tmp_path / "specs" / name / "SPEC.md")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for variable in [v for v in os.environ if v.startswith("DRAFTER_")]:
        monkeypatch.delenv(variable)
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["batch", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


# --- shards and names ----------------------------------------------------------------------


def test_shards_cover_every_spec_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    specs = [Path(f"specs/{i:03d}-feature/SPEC.md") for i in range(200)]
    for n in (1, 2, 3, 7):
        shards = [{s for s in specs if batch.shard_of(s, n) == k} for k in range(1, n + 1)]
        assert set().union(*shards) == set(specs)
        assert sum(len(shard) for shard in shards) == len(specs)  # no overlap
        if n > 1:
            assert all(shard for shard in shards)  # a hash, not a range: every shard gets some


def test_shard_is_stable_across_processes(tmp_path: Path) -> None:
    """hash() is salted per process; the shard must not be."""
    code = "from pathlib import Path; from drafter.app.batch import shard_of; "
    code += "print([shard_of(Path(f's/{i}/SPEC.md'), 5) for i in range(20)])"
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1


def test_shard_option_splits_a_batch(project: Path) -> None:
    drafted: list[str] = []
    for k in (1, 2):
        code, _ = invoke("specs/*/SPEC.md", "--shard", f"{k}/2", "--report", f"r{k}.json")
        assert code in (0, 1)
        report = json.loads((project / f"r{k}.json").read_text())
        drafted += [entry["spec"] for entry in report["specs"]]
    assert sorted(drafted) == [f"specs/{n}/SPEC.md" for n in ("alpha", "beta", "gamma")]


@pytest.mark.parametrize("shard", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_bad_shard_is_a_usage_error(project: Path, shard: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "drafter", "batch", "specs/*/SPEC.md", "--shard", shard],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--shard" in result.stderr


def test_a_pattern_matching_nothing_is_a_usage_error(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "drafter", "batch", "nowhere/**/SPEC.md"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "matches no file" in result.stderr


def test_cassette_path_follows_the_spec_path(project: Path) -> None:
    spec = Path("specs/alpha/SPEC.md")
    assert batch.cassette_for(Path("cassettes"), spec) == Path("cassettes/specs/alpha/SPEC.yaml")


# --- drafting, checking, reports -----------------------------------------------------------


def test_check_passes_on_fresh_plans_and_finds_a_one_line_drift(project: Path) -> None:
    assert invoke("specs/*/SPEC.md")[0] in (0, 1)  # writes the PLAN.md files
    plans = sorted(project.glob("specs/*/PLAN.md"))
    assert len(plans) == 3
    before = [p.read_bytes() for p in plans]

    assert invoke("specs/*/SPEC.md", "--check")[0] == 0

    text = plans[1].read_text("utf-8")
    first_heading = next(line for line in text.splitlines() if line.startswith("## "))
    plans[1].write_text(text.replace(first_heading, first_heading + " (edited)", 1), "utf-8")
    code, output = invoke("specs/*/SPEC.md", "--check")

    assert code == 1
    assert f"-{first_heading} (edited)" in output and f"+{first_heading}" in output
    assert re.search(r"^specs/beta/SPEC.md +drifted ", output, re.MULTILINE)
    assert re.search(r"^specs/alpha/SPEC.md +ok ", output, re.MULTILINE)
    assert [p.read_bytes() for p in plans][0::2] == before[0::2]  # --check writes nothing


def test_one_bad_spec_does_not_stop_the_others(project: Path) -> None:
    (project / "specs" / "beta" / "SPEC.md").write_bytes(b"\xff\xfe not utf-8 \x00")
    code, _ = invoke("specs/*/SPEC.md", "--junit", "out/junit.xml", "--report", "out/r.json")

    assert code == 1
    assert (project / "specs" / "alpha" / "PLAN.md").is_file()
    assert (project / "specs" / "gamma" / "PLAN.md").is_file()
    report = json.loads((project / "out" / "r.json").read_text())
    statuses = {entry["spec"]: entry["status"] for entry in report["specs"]}
    assert statuses["specs/beta/SPEC.md"] == "error"
    assert report["totals"]["error"] == 1 and report["totals"]["specs"] == 3

    suite = ElementTree.parse(project / "out" / "junit.xml").getroot()
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == list(statuses)
    assert len(cases) == 3 and suite.get("tests") == "3" and suite.get("errors") == "1"
    beta = next(c for c in cases if c.get("name") == "specs/beta/SPEC.md")
    assert beta.find("error") is not None


def test_no_cache_and_no_resume_reach_every_spec(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[batch.BatchOptions] = []
    ok = batch.SpecResult(spec="specs/alpha/SPEC.md", status="ok")
    monkeypatch.setattr(batch, "run", lambda specs, options, done: seen.append(options) or [ok])
    assert invoke("specs/*/SPEC.md", "--no-cache", "--no-resume")[0] == 0
    assert seen[0].settings_flags["cache"] is False
    assert seen[0].settings_flags["resume"] is False
    invoke("specs/*/SPEC.md")
    assert seen[1].settings_flags["cache"] is None and seen[1].settings_flags["resume"] is None


def test_must_findings_are_junit_failures() -> None:
    results = [
        batch.SpecResult(spec="a/SPEC.md", status="ok"),
        batch.SpecResult(
            spec="b/SPEC.md", status="must-failed", must_findings=["b/PLAN.md:1:1: error: C-I.1 x"]
        ),
    ]
    suite = ElementTree.fromstring(batch.junit(results, 1.0))
    failing = suite.findall("testcase/failure")
    assert suite.get("failures") == "1" and len(failing) == 1
    assert "C-I.1" in (failing[0].text or "")
    assert batch.exit_code(results) == 1 and batch.exit_code(results[:1]) == 0


# --- against the fake provider -------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(latency_ms=50) as server:
        yield server


def test_specs_share_one_bound_on_calls_in_flight(project: Path, fake: FakeOpenAI) -> None:
    options = batch.BatchOptions(
        jobs=3,
        max_concurrency=2,
        check=True,
        settings_flags={"model": "openai:fake", "base_url": fake.base_url, "cache": False},
    )
    results = batch.run(sorted(project.glob("specs/*/SPEC.md")), options)

    assert min(r.calls for r in results) >= len(SECTIONS)
    assert fake.stats.max_in_flight == 2  # bound reached, never passed, across three specs


def test_record_dir_then_replay_dir_with_jobs(project: Path) -> None:
    flags = ["--model", "openai:fake", "--jobs", "3", "--check"]
    with FakeOpenAI() as server:
        code, _ = invoke(
            "specs/*/SPEC.md", *flags, "--record-dir", "tapes", "--base-url", server.base_url
        )
        calls = server.stats.requests
    assert code == 1  # the fake's answers drift from the absent PLAN.md files
    tapes = sorted(project.glob("tapes/specs/*/SPEC.yaml"))
    assert len(tapes) == 3
    # Three cassettes recorded at once in three threads: none lost an interaction.
    counts = [len(yaml.safe_load(t.read_text())["interactions"]) for t in tapes]
    assert min(counts) >= len(SECTIONS) and sum(counts) == calls

    code, output = invoke("specs/*/SPEC.md", *flags, "--replay-dir", "tapes", "--report", "r.json")
    report = json.loads((project / "r.json").read_text())
    assert {entry["status"] for entry in report["specs"]} == {"drifted"}, output
    assert [entry["calls"] for entry in report["specs"]] == counts


def test_call_bound_hands_slots_across_event_loops() -> None:
    bound = CallBound(2)
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    async def call() -> None:
        nonlocal in_flight, peak
        await bound.acquire()
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        with lock:
            in_flight -= 1
        bound.release()

    async def many() -> None:
        await asyncio.gather(*(call() for _ in range(10)))

    threads = [threading.Thread(target=asyncio.run, args=(many(),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert peak == 2 and in_flight == 0


def test_a_cancelled_waiter_passes_its_slot_on() -> None:
    async def scenario() -> None:
        bound = CallBound(1)
        await bound.acquire()
        gave_up = asyncio.ensure_future(bound.acquire())
        waits = asyncio.ensure_future(bound.acquire())
        await asyncio.sleep(0)
        gave_up.cancel()
        bound.release()
        await asyncio.wait_for(waits, 1)  # the slot skipped the cancelled waiter

    asyncio.run(scenario())
