"""The LLM drafter through LangChain and the real openai SDK, against the in-process fake server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import fake_settings as settings

from drafter.checks.compliance import validate_section
from drafter.core.config import Settings
from drafter.core.errors import InputError, ProviderError
from drafter.drafting import DraftInputs, prompts
from drafter.drafting.llm import LLMDrafter, context_text, fence_for
from drafter.engine.pipeline import DraftOutcome, PipelineOptions, draft_plan, partial_dir
from drafter.inputs import constitution, spec
from drafter.model import plan
from drafter.model.sections import SECTIONS, depth, downstream
from drafter.providers.stack import build
from drafter.testing.fake_openai import FakeOpenAI

FIXTURES = Path(__file__).parent / "fixtures" / "llm"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs() -> DraftInputs:
    return DraftInputs(
        spec=spec.load(FIXTURES / "SPEC.md"),
        constitution=constitution.load(FIXTURES / "constitution.md"),
    )


def run(inputs: DraftInputs, config: Settings, **options: Any) -> DraftOutcome:
    keep = partial_dir(config.cache_dir, inputs, config.model or "")
    return draft_plan(
        inputs, LLMDrafter(build(config)), PipelineOptions(partial_dir=keep, **options)
    )


def kept(inputs: DraftInputs, config: Settings) -> set[str]:
    directory = partial_dir(config.cache_dir, inputs, config.model or "")
    return {path.stem for path in directory.glob("*.json")}


def test_happy_path_one_call_per_section(
    fake: FakeOpenAI, inputs: DraftInputs, tmp_path: Path
) -> None:
    config = settings(fake, tmp_path)
    outcome = run(inputs, config)

    stats = fake.stats
    assert stats.requests == len(SECTIONS)
    assert set(stats.by_schema.values()) == {1}
    assert {s.model.__name__ for s in SECTIONS} == set(stats.by_schema)
    assert plan.Plan.model_validate(outcome.plan.model_dump()) == outcome.plan
    for section in SECTIONS:
        assert (
            validate_section(section.name, getattr(outcome.plan, section.name), inputs.spec) == []
        )
    assert outcome.missing == ()
    assert not partial_dir(config.cache_dir, inputs, "openai:fake").exists()  # cleared

    usage = outcome.usage
    assert usage.total.calls == len(SECTIONS)
    assert (usage.total.repairs, usage.total.retries) == (0, 0)
    assert usage.dag_depth == depth() == 4
    assert usage.total.prompt_tokens == stats.prompt_tokens
    assert usage.total.completion_tokens == stats.completion_tokens
    assert usage.total.cached_tokens == stats.cached_tokens > 0
    assert usage.total.cost_usd is None  # no price for openai:fake
    dumped = usage.model_dump()
    assert {"dag_depth", "wall_s", "sections", "total"} <= set(dumped)
    assert len(usage.table()) == len(SECTIONS) + 1


def test_every_request_starts_with_the_same_prefix(
    fake: FakeOpenAI, inputs: DraftInputs, tmp_path: Path
) -> None:
    run(inputs, settings(fake, tmp_path))

    # The server concatenates the messages' contents: system prompt, then the context.
    prefix = prompts.render("system.md.j2") + context_text(inputs)
    spec_text = (FIXTURES / "SPEC.md").read_text("utf-8").rstrip("\n")
    assert spec_text in prefix and "Tests MUST be written before" in prefix
    assert fake.stats.shared_prefix_chars >= len(prefix)


def test_spec_is_fenced_as_data_not_rendered(tmp_path: Path) -> None:
    text = "# Spec\n\n- **FR-001**: show {{ secret }} and {% raw %}\n\n````\ncode\n````\n"
    path = tmp_path / "SPEC.md"
    path.write_text(text, "utf-8")
    rendered = context_text(DraftInputs(spec=spec.load(path), constitution=None))
    assert text.rstrip("\n") in rendered  # Jinja syntax in the spec stays as written
    assert fence_for(text) == "`````"
    assert "\n`````markdown\n# Spec" in rendered


def components(requirement_id: str) -> plan.ComponentsSection:
    new_file = plan.NewFile(
        path="src/bookmarks/export.py",
        purpose="The export command.",
        symbols=[],
        requirement_ids=[requirement_id],
        proposed=True,
    )
    component = plan.Component(
        name="Exporter", purpose="Writes bookmarks out.", new_files=[new_file], modified_files=[]
    )
    return plan.ComponentsSection(components=[component], reviews=[])


def test_repair_succeeds_on_the_second_answer(
    fake: FakeOpenAI, inputs: DraftInputs, tmp_path: Path
) -> None:
    bad, good = components("FR-999"), components("FR-001")
    assert validate_section("components", bad, inputs.spec)  # the first answer is invalid
    assert not validate_section("components", good, inputs.spec)
    fake.enqueue("ComponentsSection", bad.model_dump(), good.model_dump())

    outcome = run(inputs, settings(fake, tmp_path))

    assert fake.stats.by_schema["ComponentsSection"] == 2
    usage = next(s for s in outcome.usage.sections if s.section == "components")
    assert (usage.calls, usage.repairs) == (2, 1)
    assert outcome.plan.components == good


def test_schema_invalid_answer_is_repaired(
    fake: FakeOpenAI, inputs: DraftInputs, tmp_path: Path
) -> None:
    fake.fault("invalid", schema="GoalSection")
    outcome = run(inputs, settings(fake, tmp_path))
    goal = next(s for s in outcome.usage.sections if s.section == "goal")
    assert (goal.calls, goal.repairs) == (2, 1)


def test_repair_exhausted_keeps_drafted_sections_and_resumes(
    fake: FakeOpenAI, inputs: DraftInputs, tmp_path: Path
) -> None:
    config = settings(fake, tmp_path, repair_attempts=2)
    fake.fault("invalid", schema="ComponentsSection", times=3)

    with pytest.raises(ProviderError, match="components") as caught:
        run(inputs, config, repair_attempts=2)

    assert "still invalid after 2 repairs" in str(caught.value)
    assert "run again" in str(caught.value)
    assert fake.stats.by_schema["ComponentsSection"] == 3
    blocked = downstream({"components"})
    assert kept(inputs, config) == {s.name for s in SECTIONS} - blocked

    fake.reset()
    outcome = run(inputs, config)

    assert set(fake.stats.by_schema) == {s.model.__name__ for s in SECTIONS if s.name in blocked}
    assert fake.stats.requests == len(blocked)
    assert {s.section for s in outcome.usage.sections if s.resumed} == (
        {s.name for s in SECTIONS} - blocked
    )
    assert not partial_dir(config.cache_dir, inputs, "openai:fake").exists()


def test_rate_limit_with_retry_after_then_success(
    fake: FakeOpenAI, inputs: DraftInputs, tmp_path: Path
) -> None:
    fake.fault("status", status=429, retry_after=0.05, schema="GoalSection")
    outcome = run(inputs, settings(fake, tmp_path))
    goal = next(s for s in outcome.usage.sections if s.section == "goal")
    assert (goal.calls, goal.retries) == (1, 1)
    assert outcome.usage.total.retries == 1
    assert fake.stats.by_schema["GoalSection"] == 2


@pytest.mark.parametrize(
    ("fault", "params", "cause"),
    [
        ("refusal", {}, "the model refused to answer: I can't help"),
        ("length", {}, "cut off at the token limit"),
        ("malformed", {}, "not valid JSON"),
        ("drop", {"times": 3}, "connection to http://127.0.0.1:"),
        ("status", {"status": 503, "retry_after": 0.01, "times": 3}, "server error (HTTP 503)"),
        ("status", {"status": 400, "message": "bad schema"}, "HTTP 400: bad schema"),
        ("delay", {"seconds": 5, "times": 3}, "no answer within 0.3 s"),
    ],
)
def test_faults_end_in_a_provider_error_naming_section_and_cause(
    fake: FakeOpenAI,
    inputs: DraftInputs,
    tmp_path: Path,
    fault: Any,
    params: dict[str, Any],
    cause: str,
) -> None:
    config = settings(fake, tmp_path, timeout_s=0.3, max_retries=2)
    fake.fault(fault, schema="GoalSection", **params)

    with pytest.raises(ProviderError) as caught:
        run(inputs, config)

    assert caught.value.section == "goal"
    assert str(caught.value).startswith("section goal: ")
    assert cause in str(caught.value)
    assert kept(inputs, config) == {s.name for s in SECTIONS} - {"goal"}  # nothing else lost


def test_allow_partial_fills_missing_sections_with_review_items(
    fake: FakeOpenAI, inputs: DraftInputs, tmp_path: Path
) -> None:
    config = settings(fake, tmp_path)
    fake.fault("refusal", schema="TestingSection")

    outcome = run(inputs, config, allow_partial=True)

    assert set(outcome.missing) == downstream({"testing"})
    reviews = [r.text for r in outcome.plan.testing.reviews]
    assert reviews == [
        "section testing could not be drafted: the model refused to answer: I can't help "
        "with that request."
    ]
    assert "depends on section testing" in outcome.plan.steps.reviews[0].text
    assert kept(inputs, config) == {s.name for s in SECTIONS} - downstream({"testing"})


def test_same_drafter_drafts_twice(fake: FakeOpenAI, inputs: DraftInputs, tmp_path: Path) -> None:
    drafter = LLMDrafter(build(settings(fake, tmp_path)))
    first = draft_plan(inputs, drafter)
    second = draft_plan(inputs, drafter)  # a second event loop: needs a fresh HTTP client
    assert first.plan == second.plan


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(InputError, match="OPENAI_API_KEY is not set"):
        LLMDrafter(build(Settings(model="openai:gpt-4o-mini")))


def test_key_from_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert LLMDrafter(build(Settings(model="openai:gpt-4o-mini"))).name == "openai:gpt-4o-mini"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("gpt-4o-mini", "names no provider: write provider:name"),
        ("nosuch:model", "cannot use model 'nosuch:model': Unsupported provider='nosuch'"),
    ],
)
def test_bad_model_settings_are_input_errors(model: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        LLMDrafter(build(Settings(model=model)))


def test_missing_integration_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("langchain_core")
    try:
        import langchain_anthropic  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("langchain-anthropic is installed here")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    with pytest.raises(InputError, match=r"pip install 'drafter\[anthropic\]'"):
        LLMDrafter(build(Settings(model="anthropic:claude-sonnet-4-5")))


def test_offline_path_imports_no_langchain() -> None:
    code = f"""
import sys
from pathlib import Path
from drafter.inputs import spec
from drafter.drafting import DraftInputs
from drafter.drafting.offline import OfflineDrafter
import drafter.drafting.llm  # naming the LLM drafter must stay cheap too
from drafter.engine.pipeline import draft_plan
inputs = DraftInputs(spec=spec.load(Path({str(FIXTURES / "SPEC.md")!r})), constitution=None)
draft_plan(inputs, OfflineDrafter())
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("langchain", "langchain_core",
               "langchain_openai", "openai", "httpx2", "vcr"))
print(json.dumps(heavy))
"""
    result = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert json.loads(result.stdout) == []
