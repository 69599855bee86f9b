"""Ctrl-C: stop within a second or two, write no half plan, keep drafted sections, say how to
resume, exit 130 — for one spec and for `drafter batch`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES

from drafter.app.workflow import DraftRequest, spec_to_plan
from drafter.core.errors import Interrupted
from drafter.testing.fake_openai import FakeOpenAI

EXAMPLE = EXAMPLES / "csv-export"


def _project(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("SPEC.md", "constitution.md"):
        shutil.copy(EXAMPLE / name, directory / name)
    return directory / "SPEC.md"


def _kept(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("partial/*/*.json"))


def _wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the run to reach the point under test")
        time.sleep(0.02)


def test_a_stop_interrupts_the_run_and_keeps_what_was_drafted(tmp_path: Path) -> None:
    spec_path = _project(tmp_path / "project")
    cache_dir = tmp_path / "cache"
    stop = threading.Event()
    with FakeOpenAI(latency_ms=300) as fake:
        flags = {"model": "openai:fake", "base_url": fake.base_url, "cache_dir": cache_dir}
        threading.Thread(
            target=lambda: (_wait_for(lambda: _kept(cache_dir)), stop.set()), daemon=True
        ).start()
        started = time.monotonic()
        with pytest.raises(Interrupted, match="run the same command again") as raised:
            spec_to_plan(DraftRequest(spec_path=spec_path, settings_flags=flags, stop=stop))
        assert time.monotonic() - started < 10
    assert raised.value.exit_code == 130
    assert not (spec_path.parent / "PLAN.md").exists()
    assert _kept(cache_dir)


def _cli(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRAFTER_", "OPENAI_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "drafter", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _interrupt_once_drafting(process: subprocess.Popen[str], cache_dir: Path) -> tuple[str, float]:
    _wait_for(lambda: _kept(cache_dir) or process.poll() is not None, timeout=60)
    assert process.poll() is None, process.communicate()[1]
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    return stderr, time.monotonic() - sent


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_on_one_spec(tmp_path: Path) -> None:
    spec_path = _project(tmp_path)
    with FakeOpenAI(latency_ms=1000) as fake:
        process = _cli(
            ["spec-to-plan", str(spec_path), "--model", "openai:fake", "--base-url", fake.base_url],
            cwd=tmp_path,
        )
        stderr, took = _interrupt_once_drafting(process, tmp_path / ".drafter")
    assert process.returncode == 130, stderr
    assert took < 3, took
    assert "Traceback" not in stderr
    (line,) = [line for line in stderr.splitlines() if "interrupted" in line]
    assert "run the same command again" in line
    assert not (tmp_path / "PLAN.md").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_on_a_batch(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        _project(tmp_path / name)
    with FakeOpenAI(latency_ms=1000) as fake:
        batch = ["batch", "*/SPEC.md", "--jobs", "2", "--model", "openai:fake"]
        process = _cli([*batch, "--base-url", fake.base_url], cwd=tmp_path)
        stderr, took = _interrupt_once_drafting(process, tmp_path / ".drafter")
    assert process.returncode == 130, stderr
    assert took < 3, took
    assert "Traceback" not in stderr and "never retrieved" not in stderr
    assert "run the same command again to resume" in stderr
    assert not list(tmp_path.glob("*/PLAN.md"))
