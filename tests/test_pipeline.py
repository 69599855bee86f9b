"""The pipeline with in-process drafters (no HTTP): DAG order, concurrency, repair, resume."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from pydantic import BaseModel

from drafter.app.workflow import drafter_for
from drafter.core.config import Settings
from drafter.core.errors import ProviderError
from drafter.drafting import AnswerInvalid, Drafted, DraftInputs
from drafter.drafting.llm import LLMDrafter
from drafter.drafting.offline import OfflineDrafter
from drafter.engine.dag import empty_section
from drafter.engine.pipeline import PipelineOptions, draft_plan, partial_dir
from drafter.inputs import spec
from drafter.model import plan
from drafter.model.sections import BY_NAME, SECTIONS, Section
from drafter.providers import usage
from drafter.providers.base import Answer, Message, Schema
from drafter.providers.limiter import CallBound, LimitedProvider
from drafter.testing.schema_fill import fill

SPEC = Path(__file__).parent / "fixtures" / "llm" / "SPEC.md"


@pytest.fixture(scope="module")
def inputs() -> DraftInputs:
    return DraftInputs(spec=spec.load(SPEC), constitution=None)


class ScriptedDrafter:
    """Answers like the offline drafter after `delay` (or as scripted), recording the timeline."""

    name = "scripted"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.events: list[tuple[str, str]] = []  # ("start" | "end", section)
        self.feedback: dict[str, list[tuple[str, ...]]] = {}
        self.answers: dict[str, list[BaseModel | Exception]] = {}  # scripted, used first
        self.offline = OfflineDrafter()

    async def draft_section(
        self,
        section: Section,
        inputs: DraftInputs,
        upstream: Mapping[str, BaseModel],
        feedback: Sequence[str],
    ) -> Drafted:
        assert set(upstream) == set(section.depends_on)
        self.feedback.setdefault(section.name, []).append(tuple(feedback))
        self.events.append(("start", section.name))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        self.events.append(("end", section.name))
        scripted = self.answers.get(section.name)
        if not scripted:
            return await self.offline.draft_section(section, inputs, upstream, feedback)
        answer = scripted.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Drafted(answer)


def test_sections_start_after_their_dependencies_end(inputs: DraftInputs) -> None:
    drafter = ScriptedDrafter(delay=0.01)
    draft_plan(inputs, drafter)
    position = {event: i for i, event in enumerate(drafter.events)}
    for section in SECTIONS:
        for dep in section.depends_on:
            assert position[("end", dep)] < position[("start", section.name)]
    assert {name for kind, name in drafter.events if kind == "start"} == set(BY_NAME)


class SlowProvider:
    """Answers any schema with a schema-filled instance after `delay`, counting calls in flight."""

    name = "openai:slow"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0

    async def ask(self, schema: type[Schema], messages: Sequence[Message]) -> Answer[Schema]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        answer = fill(schema.model_json_schema(), messages[-1].content)
        return Answer(schema.model_validate(answer), usage.CallUsage(calls=1))


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_the_call_bound_limits_calls_in_flight(inputs: DraftInputs, limit: int) -> None:
    provider = SlowProvider(delay=0.01)
    drafter = LLMDrafter(LimitedProvider(provider, CallBound(limit)))
    outcome = draft_plan(inputs, drafter, PipelineOptions(validate=False))
    assert provider.max_in_flight == limit  # reached (the first DAG levels are wide), never passed
    assert outcome.usage.total.calls == len(SECTIONS)


def test_wall_time_follows_dag_depth_not_section_count(inputs: DraftInputs) -> None:
    outcome = draft_plan(inputs, ScriptedDrafter(delay=0.05))
    assert outcome.usage.dag_depth == 4
    assert outcome.usage.wall_s < 0.05 * len(SECTIONS) / 2  # 15 sequential calls would be 0.75 s


def test_validation_errors_are_fed_back(inputs: DraftInputs) -> None:
    drafter = ScriptedDrafter()
    bad = plan.SecuritySection(
        items=[plan.SecurityItem(text="Guard exports.", requirement_ids=["FR-404"])], reviews=[]
    )
    drafter.answers["security"] = [bad]
    outcome = draft_plan(inputs, drafter)
    first, second = drafter.feedback["security"]
    assert first == ()
    assert any("FR-404" in error for error in second)
    assert "FR-404" not in outcome.plan.security.model_dump_json()
    record = next(s for s in outcome.usage.sections if s.section == "security")
    assert (record.repairs, record.wall_s > 0) == (1, True)


def test_answer_invalid_is_repaired_then_exhausted(inputs: DraftInputs) -> None:
    drafter = ScriptedDrafter()
    invalid = AnswerInvalid(["goal: Field required"], "goal")
    drafter.answers["goal"] = [invalid, invalid]
    with pytest.raises(ProviderError, match=r"goal: .*still invalid after 1 repair: goal: Field"):
        draft_plan(inputs, drafter, PipelineOptions(repair_attempts=1))
    assert drafter.feedback["goal"] == [(), ("goal: Field required",)]


def test_validation_can_be_switched_off(inputs: DraftInputs) -> None:
    drafter = ScriptedDrafter()
    bad = plan.SecuritySection(
        items=[plan.SecurityItem(text="Guard.", requirement_ids=["FR-404"])], reviews=[]
    )
    drafter.answers["security"] = [bad]
    outcome = draft_plan(inputs, drafter, PipelineOptions(validate=False))
    assert outcome.plan.security == bad
    assert drafter.feedback["security"] == [()]


def test_a_bug_in_a_drafter_is_not_turned_into_a_provider_error(inputs: DraftInputs) -> None:
    drafter = ScriptedDrafter()
    drafter.answers["api"] = [KeyError("bug")]
    with pytest.raises(KeyError):
        draft_plan(inputs, drafter)


def test_failure_keeps_the_rest_and_a_rerun_drafts_only_what_is_missing(
    inputs: DraftInputs, tmp_path: Path
) -> None:
    keep = partial_dir(tmp_path, inputs, "scripted")
    options = PipelineOptions(partial_dir=keep)
    failing = ScriptedDrafter()
    failing.answers["rollback"] = [ProviderError("refused", "rollback")]
    with pytest.raises(ProviderError, match=r"section rollback: refused \(14 of 15 sections kept"):
        draft_plan(inputs, failing, options)
    assert len(list(keep.glob("*.json"))) == 14

    again = ScriptedDrafter()
    outcome = draft_plan(inputs, again, options)
    assert {name for kind, name in again.events if kind == "start"} == {"rollback"}
    assert sum(s.resumed for s in outcome.usage.sections) == 14
    assert not keep.exists()


def test_partial_dir_changes_with_inputs_and_model(inputs: DraftInputs, tmp_path: Path) -> None:
    other_spec = tmp_path / "SPEC.md"
    other_spec.write_text(SPEC.read_text("utf-8") + "\n- **FR-003**: One more.\n", "utf-8")
    other = DraftInputs(spec=spec.load(other_spec), constitution=None)
    base = partial_dir(tmp_path, inputs, "openai:a")
    assert base.parent == tmp_path / "partial"
    assert base == partial_dir(tmp_path, inputs, "openai:a")
    assert base != partial_dir(tmp_path, inputs, "openai:b")
    assert base != partial_dir(tmp_path, other, "openai:a")


def test_drafter_for_settings(
    inputs: DraftInputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline_drafter, offline = drafter_for(Settings(cache_dir=tmp_path), inputs)
    assert offline_drafter.name == "offline"
    assert (offline.validate, offline.partial_dir, offline.judge) == (False, None, None)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    config = Settings(model="openai:x", cache_dir=tmp_path, max_concurrency=3)
    _, llm = drafter_for(config, inputs)
    assert llm.validate and llm.repair_rules and llm.judge is not None
    assert llm.partial_dir == partial_dir(tmp_path, inputs, "openai:x")
    _, no_resume = drafter_for(config, inputs, resume=False)
    assert no_resume.partial_dir is None


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.name)
def test_empty_section_is_valid_and_says_why(section: Section) -> None:
    empty = empty_section(section, "timed out")
    assert isinstance(empty, section.model)
    assert [r.text for r in empty.reviews] == [  # type: ignore[attr-defined]
        f"section {section.name} could not be drafted: timed out"
    ]


def test_usage_cost_for_a_priced_model() -> None:
    record = usage.SectionUsage(
        section="goal", calls=1, prompt_tokens=1_000_000, cached_tokens=400_000
    )
    record.completion_tokens = 100_000
    price = usage.price_of("openai:gpt-4o-mini")
    assert price is not None
    built = usage.Usage.build("openai:gpt-4o-mini", 4, 1.5, [record])
    expected = 0.6 * price.input + 0.4 * price.cached_input + 0.1 * price.output
    assert built.total.cost_usd == pytest.approx(expected)
    assert built.sections[0].cost_usd == pytest.approx(expected)
    assert usage.price_of("ollama:llama3.1:8b") is not None  # pattern entry
    assert usage.Usage.build("openai:unknown", 4, 1.5, [record]).total.cost_usd is None
    assert built.table()[-1][0] == "total"
    assert len(built.table()[0]) == len(usage.COLUMNS)
