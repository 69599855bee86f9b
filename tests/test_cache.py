"""The response cache: unchanged input asks the provider nothing; it stays out of cassettes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES

from drafter.app.workflow import DraftRequest, DraftResult, spec_to_plan
from drafter.model.sections import SECTIONS
from drafter.testing.fake_openai import FakeOpenAI


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    for name in ("SPEC.md", "constitution.md"):
        (tmp_path / name).write_bytes((EXAMPLES / "csv-export" / name).read_bytes())
    return tmp_path / "SPEC.md"


def draft(spec: Path, fake: FakeOpenAI, **flags: object) -> tuple[DraftResult, int]:
    """Draft `spec`; returns the result and the requests the server saw for it."""
    before = fake.stats.requests
    result = spec_to_plan(
        DraftRequest(
            spec_path=spec,
            to_stdout=True,
            settings_flags={
                "model": "openai:fake",
                "base_url": fake.base_url,
                "cache_dir": spec.parent / ".drafter",
            }
            | flags,
        )
    )
    return result, fake.stats.requests - before


def test_a_second_run_on_unchanged_input_makes_no_call(spec: Path, fake: FakeOpenAI) -> None:
    first, first_calls = draft(spec, fake)
    second, second_calls = draft(spec, fake)

    assert first_calls >= len(SECTIONS)
    assert second_calls == 0
    assert second.usage.total.calls == 0
    assert second.text == first.text
    assert len(list((spec.parent / ".drafter" / "cache").rglob("*.json"))) == first_calls


def test_editing_one_requirement_asks_every_section_again(spec: Path, fake: FakeOpenAI) -> None:
    """Every request carries the whole spec (the shared prompt prefix), so any edit to it
    changes every section's request: the cache answers only byte-identical requests."""
    _, first = draft(spec, fake)
    spec.write_text(spec.read_text("utf-8").replace("under 2 seconds", "under 3 seconds"))

    _, calls = draft(spec, fake)
    _, again = draft(spec, fake)

    assert calls == first >= len(SECTIONS)
    assert again == 0


def test_model_settings_are_part_of_the_key(spec: Path, fake: FakeOpenAI) -> None:
    _, first = draft(spec, fake)
    _, calls = draft(spec, fake, temperature=0.5)
    assert calls == first


def test_no_cache_asks_again_and_writes_nothing(spec: Path, fake: FakeOpenAI) -> None:
    _, first = draft(spec, fake, cache=False)
    _, second = draft(spec, fake, cache=False)
    assert first == second >= len(SECTIONS)
    assert not (spec.parent / ".drafter" / "cache").exists()


def test_a_recording_run_asks_the_provider_despite_a_warm_cache(
    spec: Path, fake: FakeOpenAI
) -> None:
    _, first = draft(spec, fake)
    before = fake.stats.requests
    spec_to_plan(
        DraftRequest(
            spec_path=spec,
            to_stdout=True,
            record=spec.parent / "c.yaml",
            settings_flags={
                "model": "openai:fake",
                "base_url": fake.base_url,
                "cache_dir": spec.parent / ".drafter",
            },
        )
    )
    assert fake.stats.requests - before == first


def test_an_unreadable_entry_is_asked_again(spec: Path, fake: FakeOpenAI) -> None:
    draft(spec, fake)
    entries = sorted((spec.parent / ".drafter" / "cache").rglob("*.json"))
    entries[0].write_text("{not json", "utf-8")
    _, calls = draft(spec, fake)
    assert calls == 1
