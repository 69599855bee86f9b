"""The fake OpenAI-compatible server, driven through the real openai SDK and langchain-openai."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import jsonschema
import openai
import pytest
from pydantic import BaseModel

from drafter.model import plan
from drafter.model.sections import SECTIONS
from drafter.testing.fake_openai import FAULTS, FakeOpenAI, FaultKind, main
from drafter.testing.schema_fill import find_ids

REPO = Path(__file__).resolve().parents[1]
IDS = [
    "FR-001",
    "NFR-2",
    "SC-003",
    "R1.3",
    "US2.1",
    "DESIGN-REQ-001",
    "DOC-REQ-XYZ",
    "jobs:stale-recovery",
]
PROMPT = "Spec (data):\n" + "\n".join(
    f"- {i}: the system does thing {n}." for n, i in enumerate(IDS)
)

# A hand-written strict schema with every construct the filler must handle.
STRICT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "count", "ok", "mode", "note", "items", "requirement_ids"],
    "properties": {
        "title": {"type": "string"},
        "count": {"type": "integer"},
        "ok": {"type": "boolean"},
        "mode": {"enum": ["fast", "slow"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
        "requirement_ids": {"type": "array", "items": {"type": "string"}},
    },
    "$defs": {
        "Item": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path", "child"],
            "properties": {
                "path": {"type": "string"},
                "child": {"anyOf": [{"$ref": "#/$defs/Child"}, {"type": "null"}]},
            },
        },
        "Child": {
            "type": "object",
            "additionalProperties": False,
            "required": ["level"],
            "properties": {"level": {"type": "string", "enum": ["Debug", "Info"]}},
        },
    },
}


def _format(schema: dict[str, Any], name: str = "Thing", strict: bool = True) -> Any:
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "strict": strict, "schema": schema},
    }


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def _client(fake: FakeOpenAI, **kwargs: Any) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 5)
    return openai.OpenAI(base_url=fake.base_url, api_key="any", **kwargs)


def _ask(client: openai.OpenAI, prompt: str = PROMPT, **kwargs: Any) -> Any:
    kwargs.setdefault("response_format", _format(STRICT))
    return client.chat.completions.create(
        model="fake", messages=[{"role": "user", "content": prompt}], **kwargs
    )


def _structured(fake: FakeOpenAI, model: type[BaseModel], **kwargs: Any) -> Any:
    from langchain_openai import ChatOpenAI  # heavy: only the tests that use it pay

    kwargs.setdefault("max_retries", 0)
    llm = ChatOpenAI(model="fake", base_url=fake.base_url, api_key="any", timeout=5, **kwargs)
    return llm.with_structured_output(model, method="json_schema", strict=True, include_raw=True)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


# --- default answers ---------------------------------------------------------------------


def test_sync_answer_is_valid_against_the_schema_with_usage(fake: FakeOpenAI) -> None:
    response = _ask(_client(fake))
    choice = response.choices[0]
    answer = json.loads(choice.message.content)
    jsonschema.validate(answer, STRICT)
    assert choice.finish_reason == "stop"
    assert answer["note"] is None  # nullable scalars are null
    assert answer["items"][0]["child"] is not None  # nullable objects are filled
    assert answer["items"][0]["path"].startswith("src/")
    usage = response.usage
    assert usage.prompt_tokens == (len(PROMPT) + 3) // 4
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.completion_tokens == (len(choice.message.content) + 3) // 4
    assert usage.prompt_tokens_details.cached_tokens == 0  # nothing seen before


def test_async_answer_is_valid_and_deterministic(fake: FakeOpenAI) -> None:
    async def twice() -> list[str]:
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="any", max_retries=0)
        responses = [
            await client.chat.completions.create(
                model="fake",
                messages=[{"role": "user", "content": PROMPT}],
                response_format=_format(STRICT),
            )
            for _ in range(2)
        ]
        return [r.choices[0].message.content or "" for r in responses]

    first, second = asyncio.run(twice())
    jsonschema.validate(json.loads(first), STRICT)
    assert first == second


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key)
    elif isinstance(value, str):
        yield key, value


def _id_lists(value: Any) -> list[list[str]]:
    if isinstance(value, dict):
        found = [value["requirement_ids"]] if "requirement_ids" in value else []
        return found + [lst for v in value.values() for lst in _id_lists(v)]
    if isinstance(value, list):
        return [lst for v in value for lst in _id_lists(v)]
    return []


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.name)
def test_langchain_parses_every_section_model(fake: FakeOpenAI, section: Any) -> None:
    result = _structured(fake, section.model).invoke(PROMPT)
    assert result["parsing_error"] is None
    parsed = result["parsed"]
    assert isinstance(parsed, section.model)
    data = parsed.model_dump()
    for key, text in _strings(data):
        assert text.strip(), key
        assert "[" not in text and "TODO" not in text.upper(), (key, text)
        if key in ("path", "file") and not text.startswith("/"):
            assert not text.startswith(("..", "~")) and "/" in text, text
    id_lists = _id_lists(data)
    if id_lists:  # every ID of the prompt is traced, none invented
        traced = {i for lst in id_lists for i in lst}
        assert traced == set(IDS)


def test_diagram_edges_and_messages_name_existing_ids(fake: FakeOpenAI) -> None:
    arch = _structured(fake, plan.ArchitectureSection).invoke(PROMPT)["parsed"]
    nodes = {n.id for n in arch.nodes}
    assert len(nodes) == len(arch.nodes) >= 2
    assert arch.edges and all({e.source, e.target} <= nodes for e in arch.edges)
    flow = _structured(fake, plan.DataFlowSection).invoke(PROMPT)["parsed"]
    participants = {p.id for p in flow.participants}
    assert flow.messages and all({m.source, m.target} <= participants for m in flow.messages)


def test_database_section_has_reversible_migrations(fake: FakeOpenAI) -> None:
    db = _structured(fake, plan.DatabaseSection).invoke(PROMPT)["parsed"]
    assert db.database is not None and db.not_applicable_reason is None
    for migration in db.database.migrations:
        table = migration.up.split()[2]
        assert migration.up.startswith("CREATE TABLE") and table in migration.down


def test_find_ids_takes_ids_only() -> None:
    text = (
        "FR-001 and FR-001 again; see NFR-2, SC-003. R1.3 (US2.1) DESIGN-REQ-001 "
        "DOC-REQ-EXT-ADAPT; cap jobs:stale-recovery, EC1. "
        "Not: https://x.org/a-b, FR-, R1, US2, note: word, ratio 1:2."
    )
    assert find_ids(text) == [
        "FR-001", "NFR-2", "SC-003", "R1.3", "US2.1", "DESIGN-REQ-001", "DOC-REQ-EXT-ADAPT",
        "jobs:stale-recovery", "EC1",
    ]  # fmt: skip


# --- strict-schema rejection -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"default": 1}, "'default' is not permitted"),
        ({"additionalProperties": {"type": "integer"}}, "'additionalProperties'"),
        ({"required": ["title"]}, "Missing 'count'"),
    ],
)
def test_non_strict_schema_gets_400(
    fake: FakeOpenAI, change: dict[str, Any], fragment: str
) -> None:
    schema = json.loads(json.dumps(STRICT))
    if "default" in change:
        schema["properties"]["count"].update(change)
    else:
        schema.update(change)
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(_client(fake), response_format=_format(schema))
    assert caught.value.status_code == 400
    assert fragment in caught.value.message and "'Thing'" in caught.value.message
    assert fake.stats.requests == 0  # rejected before it is counted


def test_plan_models_with_a_default_are_rejected_but_not_when_strict_is_off(
    fake: FakeOpenAI,
) -> None:
    schema = json.loads(json.dumps(STRICT))
    schema["properties"]["count"]["default"] = 1
    loose = _ask(_client(fake), response_format=_format(schema, strict=False))
    assert loose.choices[0].finish_reason == "stop"


# --- script mode and faults --------------------------------------------------------------


def test_script_answers_in_order_then_falls_back(tmp_path: Path) -> None:
    from langchain_core.exceptions import ModelRefusalError

    scripted = {"feature_name": "Exact", "summary": "s", "goal": "g", "reviews": []}
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"GoalSection": [scripted, {"fault": "refusal"}]}))
    with FakeOpenAI(script=script) as fake:
        llm = _structured(fake, plan.GoalSection)
        other = _structured(fake, plan.OpenIssuesSection).invoke(PROMPT)
        assert other["parsing_error"] is None  # another schema's request does not consume it
        assert llm.invoke(PROMPT)["parsed"].feature_name == "Exact"
        refused = llm.invoke(PROMPT)
        assert isinstance(refused["parsing_error"], ModelRefusalError)
        assert refused["raw"].additional_kwargs["refusal"]
        assert llm.invoke(PROMPT)["parsed"].feature_name != "Exact"
        assert fake.stats.by_schema["GoalSection"] == 3
        assert fake.stats.faults["refusal"] == 1


def test_bad_script_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"GoalSection": [{"fault": "explode"}]}))
    assert main(["--script", str(script)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown fault 'explode'" in err


def test_429_honours_retry_after_then_succeeds(fake: FakeOpenAI) -> None:
    fake.fault("status", status=429, retry_after=0.1, times=2)
    start = time.perf_counter()
    response = _ask(_client(fake, max_retries=2))
    elapsed = time.perf_counter() - start
    assert response.choices[0].finish_reason == "stop"
    assert 0.2 <= elapsed < 0.7  # two 0.1 s waits; the backoff without the header is >= 1.1 s
    assert fake.stats.requests == 3 and fake.stats.completions == 1


def test_429_without_retries_left_raises_rate_limit(fake: FakeOpenAI) -> None:
    fake.fault("status", status=429, retry_after=0.05, times=3)
    with pytest.raises(openai.RateLimitError):
        _ask(_client(fake, max_retries=2))


def test_500_is_retried(fake: FakeOpenAI) -> None:
    fake.fault("status", status=500, retry_after=0.01)
    assert _ask(_client(fake, max_retries=1)).choices[0].finish_reason == "stop"
    assert fake.stats.faults["status"] == 1 and fake.stats.completions == 1


def test_503_targets_only_its_schema(fake: FakeOpenAI) -> None:
    fake.fault("status", status=503, schema="Other")
    assert _ask(_client(fake)).choices[0].finish_reason == "stop"
    with pytest.raises(openai.InternalServerError):
        _ask(_client(fake), response_format=_format(STRICT, name="Other"))


def test_malformed_and_invalid_json_fail_to_parse(fake: FakeOpenAI) -> None:
    fake.fault("malformed")
    with pytest.raises(json.JSONDecodeError):
        json.loads(_ask(_client(fake)).choices[0].message.content)
    fake.fault("invalid")
    answer = json.loads(_ask(_client(fake)).choices[0].message.content)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(answer, STRICT)
    fake.fault("malformed", content="not json at all")
    assert _ask(_client(fake)).choices[0].message.content == "not json at all"


def test_length_and_refusal_reach_the_sdk(fake: FakeOpenAI) -> None:
    fake.fault("length")
    choice = _ask(_client(fake)).choices[0]
    assert choice.finish_reason == "length"
    fake.fault("refusal", refusal="No.")
    message = _ask(_client(fake)).choices[0].message
    assert message.refusal == "No." and message.content is None
    fake.fault("length")
    with pytest.raises(openai.LengthFinishReasonError):
        _structured(fake, plan.GoalSection).invoke(PROMPT)


def test_dropped_connection_is_a_connection_error_after_retries(fake: FakeOpenAI) -> None:
    fake.fault("drop", times=2)
    with pytest.raises(openai.APIConnectionError):
        _ask(_client(fake, max_retries=1))
    assert fake.stats.faults["drop"] == 2 and fake.stats.completions == 0


def test_delay_past_the_timeout_is_a_timeout(fake: FakeOpenAI) -> None:
    fake.fault("delay", seconds=5)
    start = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        _ask(_client(fake, timeout=0.2))
    assert time.perf_counter() - start < 1
    assert _ask(_client(fake)).choices[0].finish_reason == "stop"  # next request is normal


# --- stats, reset, concurrency, subprocess ------------------------------------------------


def test_stats_track_prompts_and_the_shared_prefix(fake: FakeOpenAI) -> None:
    prefix = "P" * 400
    client = _client(fake)
    first = _ask(client, prefix + "goal section")
    second = _ask(client, prefix + "api section, longer")
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    assert second.usage.prompt_tokens_details.cached_tokens == 400 // 4
    stats = _get(fake.base_url.removesuffix("/v1") + "/_stats")
    assert stats["requests"] == 2
    assert stats["shared_prefix_chars"] == 400
    assert (
        stats["mean_prompt_chars"] == (800 + len("goal section") + len("api section, longer")) / 2
    )
    assert stats["prompt_tokens"] == first.usage.prompt_tokens + second.usage.prompt_tokens
    assert stats["completion_tokens"] > 0 and stats["by_schema"] == {"Thing": 2}

    fake.fault("status", status=500)
    request = urllib.request.Request(fake.base_url.removesuffix("/v1") + "/_reset", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    assert fake.stats.requests == 0 and fake.stats.shared_prefix_chars == 0
    assert _ask(client).choices[0].finish_reason == "stop"  # the queued fault was dropped too
    assert _ask(client).usage.prompt_tokens_details.cached_tokens == len(PROMPT) // 4


def test_models_are_listed(fake: FakeOpenAI) -> None:
    assert [m.id for m in _client(fake).models.list()] == ["fake"]


def test_eight_concurrent_requests_overlap() -> None:
    async def burst(url: str) -> float:
        client = openai.AsyncOpenAI(base_url=url, api_key="any", max_retries=0)
        start = time.perf_counter()
        await asyncio.gather(
            *(
                client.chat.completions.create(
                    model="fake",
                    messages=[{"role": "user", "content": f"{PROMPT} {n}"}],
                    response_format=_format(STRICT),
                )
                for n in range(8)
            )
        )
        return time.perf_counter() - start

    with FakeOpenAI(latency_ms=200) as fake:
        elapsed = asyncio.run(burst(fake.base_url))
        assert fake.stats.max_in_flight == 8
    assert 0.2 <= elapsed < 0.6


def test_subprocess_prints_its_url_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "drafter.testing.fake_openai", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("fake OpenAI server on http://127.0.0.1:") and line.endswith("/v1")
        url = line.rsplit(" ", 1)[1]
        assert int(url.split(":")[2].split("/")[0]) > 0
        assert _get(url + "/models")["data"][0]["id"] == "fake"
    finally:
        process.terminate()
    assert process.wait(timeout=5) == 0  # SIGTERM is a clean stop
    assert process.stderr is not None and process.stderr.read() == ""


def test_faults_file_targets_schemas_and_repeats(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    spec = [{"fault": "refusal", "schema": "Thing", "times": 2}, {"fault": "length"}]
    faults.write_text(json.dumps(spec))
    with FakeOpenAI(faults=faults) as fake:
        client = _client(fake)
        plain = client.chat.completions.create(
            model="fake", messages=[{"role": "user", "content": "hello"}]
        )
        assert plain.choices[0].finish_reason == "length"  # "*" is any request, served first
        refused = [_ask(client).choices[0].message.refusal is not None for _ in range(3)]
        assert refused == [True, True, False]
        as_object = _ask(client, response_format={"type": "json_object"})
        assert json.loads(as_object.choices[0].message.content or "") == {}
        assert fake.stats.by_schema == {"(text)": 1, "Thing": 3, "(json_object)": 1}


def test_clarification_markers_become_open_issues(fake: FakeOpenAI) -> None:
    spec = (
        "# Spec\n\n```js\nx\n```\n"
        "- **FR-006**: delete after 7 days [NEEDS CLARIFICATION: long enough?]"
    )
    prompt = f"Cite each `[NEEDS CLARIFICATION: ...]` marker.\n\n````markdown\n{spec}\n````\n"
    issues = _structured(fake, plan.OpenIssuesSection).invoke(prompt)["parsed"].issues
    assert [(i.source, "long enough?" in i.text) for i in issues] == [("spec line 6, FR-006", True)]
    assert spec.split("\n")[5].startswith("- **FR-006**")  # line 6 of the fenced spec


def test_cross_section_rules_hold_for_default_answers(fake: FakeOpenAI) -> None:
    from drafter.checks.verdicts import is_test_step

    steps = _structured(fake, plan.StepsSection).invoke(PROMPT)["parsed"]
    first = steps.phases[0].steps[0]
    assert is_test_step(steps.phases[0].name, first.description)
    assert set(first.requirement_ids) == set(IDS)  # every ID is tested before any code step
    assert not any(is_test_step(p.name, s.description) for p in steps.phases for s in p.steps[1:])

    api = _structured(fake, plan.ApiSection).invoke(PROMPT)["parsed"]
    testing = _structured(fake, plan.TestingSection).invoke(PROMPT)["parsed"]
    integration = {
        i
        for s in testing.suites
        if s.level == "integration"
        for c in s.cases
        for i in c.requirement_ids
    }
    assert all(set(e.requirement_ids) <= integration for e in api.endpoints)


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ({"fault": "status", "status": 200}, "HTTP error code"),
        ({"fault": "status", "retry_after": "soon"}, "retry_after must be a number"),
        ({"fault": "delay", "seconds": -1}, "seconds must be a number"),
        ({"fault": "refusal", "refusal": 3}, "refusal must be a string"),
        ({"fault": "drop", "times": 0}, "times must be a positive integer"),
        ({"fault": "drop", "after": 1}, "unknown key(s) after"),
        ({"fault": "drop", "seconds": 1}, "unknown key(s) seconds"),  # a key of another kind
    ],
)
def test_bad_fault_specs_are_refused_up_front(spec: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        FakeOpenAI(faults=[spec])


def test_help_lists_every_fault_kind_with_its_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert set(FAULTS) == set(get_args(FaultKind))
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for kind, (keys, effect) in FAULTS.items():
        assert re.search(rf"^  {kind} +{re.escape(effect)}$", text, re.M), kind
        for key in keys:
            assert re.search(rf"^ +{key}: ", text, re.M), (kind, key)
        FakeOpenAI(faults=[{"fault": kind, **{key: _EXAMPLE_VALUES[key] for key in keys}}])


_EXAMPLE_VALUES: dict[str, Any] = {
    "status": 503, "retry_after": 0.5, "message": "busy", "seconds": 1.0,
    "content": "not json", "refusal": "no",
}  # fmt: skip
