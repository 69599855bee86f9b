"""Defects the round-2 restructure removed: each test failed before it (issue 10, and the parts
of issue 14 that lived in the same wiring)."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES
from conftest import run_drafter as _cli

from drafter.app.checking import check_plan
from drafter.app.workflow import DraftRequest, DraftResult, spec_to_plan, update_request
from drafter.core import files
from drafter.core.errors import InputError, ProviderError
from drafter.document import trailer
from drafter.drafting import DraftInputs
from drafter.drafting.offline import OfflineDrafter
from drafter.drafting.text import camel
from drafter.engine.pipeline import draft_plan
from drafter.inputs import spec
from drafter.model.sections import BY_NAME, SECTIONS, UndeclaredSection, Upstream, depth
from drafter.testing.fake_openai import FakeOpenAI

EXAMPLE = EXAMPLES / "csv-export"
REPO = Path(__file__).resolve().parents[1]


def _copy_example(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE / "SPEC.md", directory / "SPEC.md")
    return directory / "SPEC.md"


def _llm(fake: FakeOpenAI) -> dict[str, object]:
    return {"model": "openai:fake", "base_url": fake.base_url, "timeout_s": 5.0}


# --- paths are relative to the plan ----------------------------------------------------------


def test_a_plan_written_elsewhere_updates_checks_and_links_back(tmp_path: Path) -> None:
    spec_path = _copy_example(tmp_path / "specs" / "x")
    shutil.copy(EXAMPLE / "constitution.md", tmp_path / "specs" / "x" / "constitution.md")
    (tmp_path / "plans").mkdir()
    plan = tmp_path / "plans" / "PLAN.md"
    spec_to_plan(DraftRequest(spec_path=spec_path, output=plan))

    _, recorded = trailer.split(plan.read_text("utf-8"))
    assert recorded is not None and recorded.spec == "../specs/x/SPEC.md"
    assert "[Feature spec: SPEC.md](../specs/x/SPEC.md)" in plan.read_text("utf-8")
    assert "[Project constitution](../specs/x/constitution.md)" in plan.read_text("utf-8")

    updated = spec_to_plan(update_request(plan))
    assert updated.decisions is not None and updated.decisions.redrafted == []
    checked = check_plan(plan)
    assert checked.spec_path == spec_path
    assert [d.finding.rule_id for d in checked.diagnostics if d.finding.rule_id == "DR-STALE"] == []


def test_an_explicit_constitution_is_remembered_by_update_and_check(tmp_path: Path) -> None:
    spec_path = _copy_example(tmp_path)
    (tmp_path / "memory").mkdir()
    rules = tmp_path / "memory" / "rules.md"  # a name discovery would not find
    shutil.copy(EXAMPLE / "constitution.md", rules)
    plan = tmp_path / "PLAN.md"
    first = spec_to_plan(DraftRequest(spec_path=spec_path, constitution_path=rules))
    assert first.report.constitution_found

    updated = spec_to_plan(update_request(plan))
    assert updated.report.constitution_found
    assert not any("no constitution found" in w for w in updated.warnings)
    checked = check_plan(plan)
    assert checked.constitution_path == rules
    assert all(d.finding.rule_id != "DR-STALE" for d in checked.diagnostics)


def test_update_names_a_moved_spec(tmp_path: Path) -> None:
    spec_path = _copy_example(tmp_path / "a")
    spec_to_plan(DraftRequest(spec_path=spec_path))
    spec_path.rename(tmp_path / "a" / "OTHER.md")
    with pytest.raises(InputError, match=r"a/SPEC\.md \(recorded in .*PLAN\.md\) not found"):
        update_request(tmp_path / "a" / "PLAN.md")


# --- run modes ----------------------------------------------------------------------------------


def test_a_model_redrafts_what_the_offline_drafter_wrote(tmp_path: Path, fake: FakeOpenAI) -> None:
    spec_path = _copy_example(tmp_path)
    spec_to_plan(DraftRequest(spec_path=spec_path))  # offline

    result = spec_to_plan(DraftRequest(spec_path=spec_path, settings_flags=_llm(fake)))

    assert result.decisions is not None
    assert result.decisions.reused == []
    assert set(result.decisions.redrafted) == set(BY_NAME)
    assert fake.stats.by_schema.keys() >= {s.model.__name__ for s in SECTIONS}
    _, recorded = trailer.split((tmp_path / "PLAN.md").read_text("utf-8"))
    assert recorded is not None
    assert {recorded.sections[name].drafter for name in BY_NAME} == {"openai:fake"}


def test_recording_onto_an_existing_plan_records_every_section(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    spec_path = _copy_example(tmp_path)
    spec_to_plan(DraftRequest(spec_path=spec_path, settings_flags=_llm(fake)))  # PLAN.md exists
    cassette = tmp_path / "run.yaml"

    recorded = spec_to_plan(
        DraftRequest(spec_path=spec_path, settings_flags=_llm(fake), record=cassette)
    )

    bodies = [i["request"]["body"] for i in yaml.safe_load(cassette.read_text())["interactions"]]
    for section in SECTIONS:
        assert any(f'"name": "{section.model.__name__}"' in body for body in bodies), section.name
    assert recorded.mode == "recording"
    replayed = spec_to_plan(DraftRequest(spec_path=spec_path, to_stdout=True, replay=cassette))
    assert replayed.mode == "replaying" and replayed.drafter_name == "openai:fake"  # from the tape


def test_re_recording_unchanged_inputs_is_byte_identical(tmp_path: Path) -> None:
    spec_path = _copy_example(tmp_path)
    outputs = []
    for run in range(2):
        cassette = tmp_path / f"run{run}.yaml"
        with FakeOpenAI(warm_cache=True) as fake:
            spec_to_plan(
                DraftRequest(
                    spec_path=spec_path, to_stdout=True, settings_flags=_llm(fake), record=cassette
                )
            )
        outputs.append(cassette.read_bytes())
    assert outputs[0] == outputs[1]


def test_no_resume_is_separate_from_no_cache(tmp_path: Path, fake: FakeOpenAI) -> None:
    spec_path = _copy_example(tmp_path)
    flags = _llm(fake) | {"cache_dir": tmp_path / ".drafter"}
    fake.fault("refusal", schema="SecuritySection")
    with pytest.raises(ProviderError, match="section security"):
        spec_to_plan(DraftRequest(spec_path=spec_path, to_stdout=True, settings_flags=flags))
    fake.reset()

    resumed = spec_to_plan(
        DraftRequest(spec_path=spec_path, to_stdout=True, settings_flags=flags | {"cache": False})
    )
    assert any(row.resumed for row in resumed.usage.sections)  # --no-cache still resumes

    fake.fault("refusal", schema="SecuritySection")
    with pytest.raises(ProviderError):
        spec_to_plan(DraftRequest(spec_path=spec_path, to_stdout=True, settings_flags=flags))
    fake.reset()
    fresh = spec_to_plan(
        DraftRequest(spec_path=spec_path, to_stdout=True, settings_flags=flags | {"resume": False})
    )
    assert not any(row.resumed for row in fresh.usage.sections)


def test_dag_depth_counts_the_judge_level(tmp_path: Path, fake: FakeOpenAI) -> None:
    spec_path = _copy_example(tmp_path)
    shutil.copy(EXAMPLE / "constitution.md", tmp_path / "constitution.md")
    result = spec_to_plan(
        DraftRequest(spec_path=spec_path, to_stdout=True, settings_flags=_llm(fake))
    )
    judged = next(row for row in result.usage.sections if row.section == "judge")
    assert judged.calls > 0
    assert result.usage.dag_depth == depth() + 1


# --- one reading of test-first ------------------------------------------------------------------


def test_a_test_driven_constitution_is_met_by_the_offline_plan(tmp_path: Path) -> None:
    spec_path = _copy_example(tmp_path)
    (tmp_path / "constitution.md").write_text(
        "# Constitution\n\n## I. Test-Driven Development\n\n"
        "Development is test-driven: tests MUST be written and seen failing before the code.\n",
        "utf-8",
    )
    result = spec_to_plan(DraftRequest(spec_path=spec_path, to_stdout=True))
    verdicts = {v.rule.id: v for v in result.report.verdicts}
    assert verdicts, "the rule was parsed"
    assert all(v.value != "fail" for v in verdicts.values()), verdicts
    assert not result.report.must_failed


# --- the offline drafter keeps each input's facts apart -----------------------------------------


def test_one_offline_drafter_drafts_two_specs_without_mixing_them(tmp_path: Path) -> None:
    other = tmp_path / "SPEC.md"
    other.write_text(
        "# Feature Specification: Tag Cloud\n\n## Requirements\n\n"
        "- **FR-001**: System MUST draw a tag cloud of the reader's tags.\n",
        "utf-8",
    )
    drafter = OfflineDrafter()
    for _ in range(3):  # a freed inputs object's id is soon reused by the next one
        example = DraftInputs(spec=spec.load(EXAMPLE / "SPEC.md"), constitution=None)
        draft_plan(example, drafter)
        del example
        gc.collect()
        inputs = DraftInputs(spec=spec.load(other), constitution=None)
        reused = draft_plan(inputs, drafter).plan
        assert reused == draft_plan(inputs, OfflineDrafter()).plan


# --- the registry: declared upstream only -------------------------------------------------------


def test_reading_an_undeclared_upstream_section_raises() -> None:
    verification = BY_NAME["verification"]
    upstream = Upstream(verification, {"testing": object(), "components": object()})  # type: ignore[dict-item]
    assert set(upstream) == {"testing"}
    with pytest.raises(UndeclaredSection, match="does not declare"):
        upstream.get("components")


def test_the_offline_security_section_reaches_verification() -> None:
    result = spec_to_plan(DraftRequest(spec_path=EXAMPLE / "SPEC.md", to_stdout=True))
    titles = [group.title for group in result.plan.verification.manual]
    assert "Security Testing" in titles


# --- one writer -----------------------------------------------------------------------------------


def test_the_writer_never_touches_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(mask: int) -> int:
        raise AssertionError("os.umask called: it is process-wide and races with threads")

    monkeypatch.setattr(os, "umask", forbidden)
    target = tmp_path / "new.md"
    files.write_atomic(target, "x")
    assert target.read_text() == "x"


def test_a_failed_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(source: object, destination: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError):
        files.write_atomic(tmp_path / "plan.md", "x")
    assert list(tmp_path.iterdir()) == []


def test_only_the_one_writer_replaces_files() -> None:
    writers = [
        path.relative_to(REPO).as_posix()
        for path in (REPO / "drafter").rglob("*.py")
        if "os.replace(" in path.read_text("utf-8")
    ]
    assert writers == ["drafter/core/files.py"]


# --- plan paths that are not plans ---------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_device_as_output_is_refused(tmp_path: Path) -> None:
    spec_path = _copy_example(tmp_path)
    result = _cli("spec-to-plan", str(spec_path), "-o", "/dev/full", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "not a regular file" in result.stderr and "Traceback" not in result.stderr


def test_an_unwritable_output_is_exit_2_with_one_line(tmp_path: Path) -> None:
    spec_path = _copy_example(tmp_path)
    target = Path("/proc/PLAN.md") if Path("/proc").is_dir() else Path("/sys/PLAN.md")
    result = _cli("spec-to-plan", str(spec_path), "-o", str(target), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error" in line]) == 1


def test_an_empty_plan_is_nobodys_work_and_is_replaced(tmp_path: Path) -> None:
    spec_path = _copy_example(tmp_path)
    (tmp_path / "PLAN.md").write_text("", "utf-8")
    result: DraftResult = spec_to_plan(DraftRequest(spec_path=spec_path))
    assert result.mode == "fresh"
    assert (tmp_path / "PLAN.md").read_text("utf-8").startswith("# Implementation Plan")


def test_a_huge_existing_plan_is_not_read(tmp_path: Path) -> None:
    spec_path = _copy_example(tmp_path)
    with (tmp_path / "PLAN.md").open("wb") as stream:
        stream.truncate(files.MAX_PLAN_BYTES + 1)
    with pytest.raises(InputError, match="larger than any plan"):
        spec_to_plan(DraftRequest(spec_path=spec_path))


# --- names the spec wrote -------------------------------------------------------------------------


def test_camel_keeps_an_identifier_the_spec_wrote() -> None:
    assert camel("ExportJob") == "ExportJob"
    assert camel("reading list") == "ReadingList"
    assert camel("book") == "Book"


# --- hermetic: no cache outside the run's cache dir -----------------------------------------------


def test_rendering_writes_no_cache_outside_the_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("DRAFTER_CACHE_DIR", str(cache_dir))
    spec_path = _copy_example(tmp_path / "project")
    spec_to_plan(DraftRequest(spec_path=spec_path, to_stdout=True))
    assert list(home.iterdir()) == []
    assert (cache_dir / "jinja2").is_dir()


# --- JSON output: --json prints, --report writes, on both commands -------------------------------


def test_json_with_stdout_carries_the_plan_text(tmp_path: Path) -> None:
    import json

    spec_path = _copy_example(tmp_path)
    result = _cli("spec-to-plan", str(spec_path), "--stdout", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["output"] is None
    assert summary["text"].startswith("# Implementation Plan")


def test_batch_json_prints_and_report_writes(tmp_path: Path) -> None:
    import json

    _copy_example(tmp_path / "a")
    result = _cli("batch", "a/SPEC.md", "--json", "--report", "out/r.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)  # the table went to stderr
    assert printed["totals"]["specs"] == 1
    assert json.loads((tmp_path / "out" / "r.json").read_text())["totals"] == printed["totals"]
    drafted = _cli("spec-to-plan", "a/SPEC.md", "--report", "s.json", cwd=tmp_path)
    assert drafted.returncode == 0, drafted.stderr
    assert json.loads((tmp_path / "s.json").read_text())["drafter"] == "offline"


def test_a_repository_without_manifests_keeps_the_language_the_constitution_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DRAFTER_NO_REPO")  # conftest keeps fixture specs ungrounded
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    spec_path = _copy_example(tmp_path / "specs" / "x")
    shutil.copy(EXAMPLE / "constitution.md", tmp_path / "specs" / "x" / "constitution.md")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    result = spec_to_plan(DraftRequest(spec_path=spec_path, to_stdout=True))
    languages = [r.technology for r in result.plan.architecture.stack if "language" in r.component]
    assert languages == ["Python 3.11+"]
    assert not result.report.must_failed
