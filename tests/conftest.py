"""Shared fixtures: the third-party corpus (read in place, never copied) and a network guard."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drafter.core.config import Settings
from drafter.testing.fake_openai import FakeOpenAI

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
CORPUS_CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []
EXAMPLES = REPO / "examples"


def corpus_case(name: str) -> Path:
    """Directory of one corpus case; skips the test where ../shared/corpus is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not available: {CORPUS} is absent (it lives in ../shared)")
    return CORPUS / name


corpus_params = pytest.mark.parametrize(
    "case",
    CORPUS_CASES
    or [pytest.param("none", marks=pytest.mark.skip(reason=f"corpus absent: {CORPUS}"))],
)


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No setting leaks in from the environment, and every cache lands in a temp dir."""

    from drafter.providers.identity import KEY_VARIABLES

    for name in list(os.environ):
        if name.startswith(("DRAFTER_", "XDG_CACHE")) or name in KEY_VARIABLES.values():
            monkeypatch.delenv(name)
    monkeypatch.setenv("DRAFTER_CACHE_DIR", str(tmp_path_factory.mktemp("drafter-cache")))


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may talk to loopback (the fake provider) and nothing else."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        remote = isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1")
        if remote and self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _no_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixture specs sit inside drafter's own checkout: ground no plan in it unless a test
    builds its own repository (tests/test_repository.py clears this)."""
    monkeypatch.setenv("DRAFTER_NO_REPO", "1")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    """The fake OpenAI-compatible provider, in-process, one per test module."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """The fake provider with its stats, scripts and faults reset; a local server needs no key."""
    server.reset()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return server


def fake_settings(fake: FakeOpenAI, tmp_path: Path, **values: Any) -> Settings:
    """Settings for drafting through `fake`, with short timeouts and a private cache."""
    defaults: dict[str, Any] = {"timeout_s": 5.0, "cache_dir": tmp_path / ".drafter"}
    return Settings(model="openai:fake", base_url=fake.base_url, **(defaults | values))


def run_drafter(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m drafter ARGS` as a user runs it: a real process, no DRAFTER_* or OpenAI
    variables from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRAFTER_", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, "-m", "drafter", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )
