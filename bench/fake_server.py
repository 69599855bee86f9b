"""Start the fake OpenAI-compatible provider in its own process for a benchmark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start_fake(latency_ms: int) -> tuple[subprocess.Popen[str], str]:
    """The server process and its base URL; its own process keeps its CPU off the client's."""
    command = [sys.executable, "-m", "drafter.testing.fake_openai", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--latency-ms", str(latency_ms)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()  # "fake OpenAI server on http://127.0.0.1:PORT/v1"
    return process, first_line.split()[-1]
