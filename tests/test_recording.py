"""Record / replay of provider traffic: byte-identical replays, misses, no secrets on disk."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, REPO

from drafter.app.workflow import DraftRequest, DraftResult, spec_to_plan
from drafter.core.errors import InputError
from drafter.model.sections import SECTIONS
from drafter.providers import cassette as recording
from drafter.testing.fake_openai import FakeOpenAI

CASSETTES = REPO / "cassettes"
EXAMPLE_SPEC = EXAMPLES / "csv-export" / "SPEC.md"
EXAMPLE_CASSETTE = CASSETTES / "examples" / "csv-export" / "SPEC.yaml"
SECRET_PATTERNS = re.compile(r"sk-|bearer |authorization|api-key", re.IGNORECASE)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("SPEC.md", "constitution.md"):
        (tmp_path / name).write_bytes((EXAMPLE_SPEC.parent / name).read_bytes())
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # the cache (off for cassette runs anyway) lands here
    return tmp_path


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def draft(spec: Path, **request: object) -> DraftResult:
    flags = {"model": "openai:fake", "timeout_s": 5.0, "max_retries": 0}
    base_url = request.pop("base_url", None)
    return spec_to_plan(
        DraftRequest(
            spec_path=spec,
            to_stdout=True,
            settings_flags=flags | {"base_url": base_url},
            **request,  # type: ignore[arg-type]
        )
    )


def interactions(cassette: Path) -> list[dict[str, object]]:
    return yaml.safe_load(cassette.read_text("utf-8"))["interactions"]


def test_record_then_replay_with_the_server_stopped_is_byte_identical(workdir: Path) -> None:
    cassette = workdir / "cassettes" / "run.yaml"
    with FakeOpenAI() as fake:
        recorded = draft(workdir / "SPEC.md", base_url=fake.base_url, record=cassette)
        calls = fake.stats.requests
    assert calls >= len(SECTIONS)
    assert len(interactions(cassette)) == calls  # concurrent sections: none lost

    replayed = draft(workdir / "SPEC.md", replay=cassette)  # no server, no key, no base URL

    assert replayed.text == recorded.text
    assert replayed.usage.total.calls == recorded.usage.total.calls == calls


def test_recording_writes_no_key_header_or_organisation(
    workdir: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-test-0123456789abcdefghij"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-secret-organisation")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-secret-project")
    cassette = workdir / "keyed.yaml"

    draft(workdir / "SPEC.md", base_url=fake.base_url, record=cassette)

    text = cassette.read_text("utf-8")
    for secret in (key, "org-secret-organisation", "proj-secret-project", "Bearer"):
        assert secret not in text
    for interaction in interactions(cassette):
        request_headers = {h.lower() for h in interaction["request"]["headers"]}  # type: ignore[index]
        response_headers = {h.lower() for h in interaction["response"]["headers"]}  # type: ignore[index]
        assert request_headers <= recording.KEPT_REQUEST_HEADERS
        assert response_headers <= recording.KEPT_RESPONSE_HEADERS
    assert str(fake.port) not in text  # the host is not recorded (nor matched)


def test_a_key_inside_a_body_is_redacted(
    workdir: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-pasted-into-the-spec-by-mistake"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    spec = workdir / "SPEC.md"
    spec.write_text(spec.read_text("utf-8") + f"\nThe key is {key}.\n", "utf-8")
    cassette = workdir / "redacted.yaml"

    draft(spec, base_url=fake.base_url, record=cassette)

    text = cassette.read_text("utf-8")
    assert key not in text and f"The key is {recording.REDACTED}" in text


def test_cassette_bodies_are_readable_yaml_blocks(workdir: Path, fake: FakeOpenAI) -> None:
    cassette = workdir / "readable.yaml"
    draft(workdir / "SPEC.md", base_url=fake.base_url, record=cassette)
    text = cassette.read_text("utf-8")
    assert "body: |" in text and '"response_format": {' in text  # indented JSON, not escaped


def test_a_miss_exits_3_naming_section_cassette_and_the_command(workdir: Path) -> None:
    cassette = workdir / "run.yaml"
    with FakeOpenAI() as fake:
        draft(workdir / "SPEC.md", base_url=fake.base_url, record=cassette)
    spec = workdir / "SPEC.md"
    spec.write_text(spec.read_text("utf-8").replace("2 seconds", "3 seconds"), "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRAFTER_", "OPENAI_"))}

    command = [sys.executable, "-m", "drafter", "spec-to-plan", str(spec), "--stdout"]
    result = subprocess.run(
        [*command, "--model", "openai:fake", "--replay", str(cassette)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )

    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "error" in line]
    section = re.search(r"section (\w+):", line)
    assert section is not None and section.group(1) in {s.name for s in SECTIONS}
    assert str(cassette) in line
    assert f"drafter spec-to-plan {spec} --model openai:fake --record {cassette}" in line


def test_missing_or_empty_cassette_is_an_input_error(workdir: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        draft(workdir / "SPEC.md", replay=workdir / "absent.yaml")
    empty = workdir / "empty.yaml"
    empty.write_text("version: 1\ninteractions: []\n", "utf-8")
    with pytest.raises(InputError, match="no interactions"):
        draft(workdir / "SPEC.md", replay=empty)


def test_recording_an_offline_run_says_there_is_nothing_to_record(workdir: Path) -> None:
    cassette = workdir / "offline.yaml"
    with pytest.raises(InputError, match="no provider calls"):
        spec_to_plan(DraftRequest(spec_path=workdir / "SPEC.md", to_stdout=True, record=cassette))
    assert not cassette.exists()


def test_a_failed_recording_keeps_the_previous_cassette(workdir: Path) -> None:
    cassette = workdir / "kept.yaml"
    with FakeOpenAI() as fake:
        draft(workdir / "SPEC.md", base_url=fake.base_url, record=cassette)
        before = cassette.read_bytes()
        fake.fault("status", status=400, times=100)
        with pytest.raises(Exception, match="HTTP 400"):
            draft(workdir / "SPEC.md", base_url=fake.base_url, record=cassette)
    assert cassette.read_bytes() == before
    assert [p.name for p in workdir.iterdir() if p.name.endswith(".tmp")] == []


def test_the_committed_example_cassette_replays_without_a_server(workdir: Path) -> None:
    result = draft(EXAMPLE_SPEC, replay=EXAMPLE_CASSETTE)
    assert result.drafter_name == "openai:fake"
    assert result.usage.total.calls == len(interactions(EXAMPLE_CASSETTE)) >= len(SECTIONS)
    assert result.missing == ()


def test_no_committed_cassette_holds_a_key_or_an_authorization_header() -> None:
    files = [path for path in CASSETTES.rglob("*") if path.is_file()]
    assert EXAMPLE_CASSETTE in files
    for path in files:
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            match = SECRET_PATTERNS.search(line)
            assert match is None, f"{path}:{number}: {match.group(0) if match else ''}"


def test_a_miss_a_caller_swallowed_still_fails_the_replay() -> None:
    """The rule judge turns a failed call into "needs review"; a replay must not pass."""
    import asyncio

    import httpx2

    body = {"model": "fake", "response_format": {"json_schema": {"name": "RuleVerdicts"}}}

    async def post(tape: recording.Tape) -> None:
        async with httpx2.AsyncClient(transport=tape.transport()) as client:
            await client.post("http://127.0.0.1:9/v1/chat/completions", json=body)

    with (
        pytest.raises(recording.CassetteMiss, match=r"\(RuleVerdicts\)") as raised,
        recording.replaying(EXAMPLE_CASSETTE, "drafter spec-to-plan …") as tape,
        suppress(recording.CassetteMiss),  # what a lenient caller does
    ):
        asyncio.run(post(tape))
    assert raised.value.exit_code == 3 and str(EXAMPLE_CASSETTE) in str(raised.value)


def test_schema_of_reads_the_json_schema_name() -> None:
    body = b'{"response_format": {"json_schema": {"name": "ApiSection"}}}'
    assert recording.schema_of(body) == "ApiSection"
    assert recording.schema_of(b"not json") is None


def test_the_shared_prefix_is_stored_once(workdir: Path, fake: FakeOpenAI) -> None:
    cassette = workdir / "small.yaml"
    marker = "A sentence only the spec's prose holds (zq-7731)."
    spec = workdir / "SPEC.md"
    spec.write_text(spec.read_text("utf-8") + f"\n{marker}\n", "utf-8")
    first = draft(spec, base_url=fake.base_url, record=cassette)
    text = cassette.read_text("utf-8")
    assert text.count("zq-7731") == 1  # once, though every request carried the spec
    assert len(interactions(cassette)) >= len(SECTIONS)
    replayed = draft(workdir / "SPEC.md", replay=cassette)
    assert replayed.text == first.text
