"""Draft many specs at once: `drafter batch`.

Each spec is drafted by `workflow.spec_to_plan` in a worker thread (its own event loop and,
in LLM mode, its own HTTP client), `jobs` specs at once. All of them are handed one bound on
the provider calls in flight (`providers.limiter.CallBound`), so `--jobs` sets how many specs
progress at once and `--max-concurrency` how hard the provider is hit.

A spec that fails is reported and the others go on. Specs are split over CI machines by a
stable hash of their path (`shard_of`): the same path lands in the same shard everywhere.
"""

from __future__ import annotations

import difflib
import glob
import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree

from pydantic import BaseModel, ConfigDict

from drafter.app.workflow import DraftRequest, spec_to_plan
from drafter.core.errors import DrafterError, InputError, Interrupted
from drafter.drafting.offline import OFFLINE_NOTICE
from drafter.providers.limiter import CallBound

Status = Literal["ok", "must-failed", "drifted", "error"]
FAILING: frozenset[Status] = frozenset({"must-failed", "drifted", "error"})
COLUMNS = ("spec", "status", "findings", "calls", "tokens", "time s")


# --- choosing specs ------------------------------------------------------------------------


def expand(patterns: Sequence[str]) -> list[Path]:
    """The files the patterns match (`**` included), each once, in a stable order."""
    found: dict[str, Path] = {}
    for pattern in patterns:
        matches = [Path(m) for m in glob.glob(pattern, recursive=True) if Path(m).is_file()]
        if not matches:
            raise InputError(f"{pattern} matches no file")
        for match in matches:
            found.setdefault(os.path.normpath(match), match)
    return [found[key] for key in sorted(found)]


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` with 1 <= K <= N."""
    k, slash, n = text.partition("/")
    if not (slash and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise InputError(f"--shard {text!r}: write K/N with 1 <= K <= N, e.g. 2/4")
    return int(k), int(n)


def stable_name(spec: Path) -> str:
    """The spec's path relative to the working directory, with / separators.

    CI machines check the repository out in different places; run from its root on each of
    them and a spec gets the same name (and shard, and cassette) everywhere.
    """
    relative = os.path.relpath(spec.resolve(), Path.cwd().resolve())
    if relative.split(os.sep)[0] == os.pardir:  # outside the working directory
        return spec.resolve().as_posix().lstrip("/")
    return Path(relative).as_posix()


def shard_of(spec: Path, shards: int) -> int:
    """The shard (1..shards) a spec belongs to; stable across machines and Python runs."""
    digest = hashlib.sha256(stable_name(spec).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards + 1


def cassette_for(directory: Path, spec: Path) -> Path:
    """`DIR/<spec path relative to the working directory, .md replaced by .yaml>`."""
    return directory / Path(stable_name(spec)).with_suffix(".yaml")


# --- running -------------------------------------------------------------------------------


class SpecResult(BaseModel):
    """One spec's outcome; a row of the summary, an entry of `--json`, a JUnit testcase."""

    model_config = ConfigDict(extra="forbid")

    spec: str
    status: Status
    findings: int = 0
    must_findings: list[str] = []
    calls: int = 0
    tokens: int = 0
    seconds: float = 0.0
    message: str = ""  # the error, or the unified diff of a drifted plan
    output: str | None = None
    # What the run warned about (no constitution, an unfilled template, …); the offline
    # notice, the same for every spec, is said once by the command instead.
    warnings: list[str] = []

    def row(self) -> tuple[str, ...]:
        counts = (self.findings, self.calls, self.tokens)
        return (self.spec, self.status, *map(str, counts), f"{self.seconds:.2f}")


class BatchOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    jobs: int = 4
    max_concurrency: int = 8  # provider calls in flight across all specs
    replay_dir: Path | None = None
    record_dir: Path | None = None
    check: bool = False
    settings_flags: dict[str, Any] = {}


def draft_one(
    spec: Path,
    options: BatchOptions,
    bound: CallBound | None = None,
    stop: threading.Event | None = None,
) -> SpecResult:
    """Draft one spec; every failure becomes the result's status, never an exception."""
    name = stable_name(spec)
    started = time.perf_counter()
    try:
        result = spec_to_plan(
            DraftRequest(
                spec_path=spec,
                to_stdout=options.check,
                record=options.record_dir and cassette_for(options.record_dir, spec),
                replay=options.replay_dir and cassette_for(options.replay_dir, spec),
                settings_flags=options.settings_flags,
                bound=bound,
                stop=stop,
            )
        )
        diff = drift(spec.parent / "PLAN.md", result.text) if options.check else ""
    except DrafterError as error:
        message = str(error)
    except Exception as error:  # a bug in drafter: report it, and let the other specs finish
        message = f"internal error, please report it: {type(error).__name__}: {error}"
    else:
        must = [f.format() for f in result.findings if f.severity == "error"]
        total = result.usage.total if result.usage is not None else None
        return SpecResult(
            spec=name,
            status="drifted" if diff else "must-failed" if must else "ok",
            findings=len(result.findings),
            must_findings=must,
            calls=total.calls if total else 0,
            tokens=total.prompt_tokens + total.completion_tokens if total else 0,
            seconds=time.perf_counter() - started,
            message=diff,
            output=None if result.output is None else str(result.output),
            warnings=[w for w in result.warnings if w != OFFLINE_NOTICE],
        )
    return SpecResult(
        spec=name, status="error", message=message, seconds=time.perf_counter() - started
    )


def drift(committed: Path, drafted: str) -> str:
    """A unified diff from the committed plan to the drafted one ("" when they agree)."""
    try:
        before = committed.read_text("utf-8")
    except FileNotFoundError:
        before = ""
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {committed}: {error}") from error
    if before == drafted:
        return ""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        drafted.splitlines(keepends=True),
        fromfile=f"{committed} (committed)",
        tofile=f"{committed} (drafted now)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def run(
    specs: Sequence[Path],
    options: BatchOptions,
    on_done: Callable[[SpecResult], None] = lambda result: None,
) -> list[SpecResult]:
    """Draft `specs`, `options.jobs` at a time; results in the order of `specs`.

    Ctrl-C stops every spec at once (their drafted sections stay kept for a re-run), starts
    no other, and raises `Interrupted` saying how many specs finished.
    """
    bound = CallBound(options.max_concurrency)
    stop = threading.Event()
    finished: list[SpecResult] = []

    def work(spec: Path) -> SpecResult:
        result = draft_one(spec, options, bound, stop)
        if not stop.is_set():
            finished.append(result)
            on_done(result)
        return result

    pool = ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="drafter-batch")
    try:
        return list(pool.map(work, specs))
    except KeyboardInterrupt:
        stop.set()
        raise Interrupted(
            f"interrupted after {len(finished)} of {len(specs)} specs; no plan was half "
            "written and drafted sections are kept: run the same command again to resume"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- reports -------------------------------------------------------------------------------


def exit_code(results: Sequence[SpecResult]) -> int:
    return 1 if any(r.status in FAILING for r in results) else 0


def totals(results: Sequence[SpecResult]) -> dict[str, Any]:
    statuses = ("ok", "must-failed", "drifted", "error")
    return {
        "specs": len(results),
        **{status: sum(1 for r in results if r.status == status) for status in statuses},
        "calls": sum(r.calls for r in results),
        "tokens": sum(r.tokens for r in results),
    }


def junit(results: Sequence[SpecResult], seconds: float) -> str:
    """JUnit XML: one testcase per spec; MUST findings and drift are failures, errors errors."""
    suite = ElementTree.Element(
        "testsuite",
        name="drafter batch",
        tests=str(len(results)),
        failures=str(sum(1 for r in results if r.status in ("must-failed", "drifted"))),
        errors=str(sum(1 for r in results if r.status == "error")),
        time=f"{seconds:.3f}",
    )
    for result in results:
        case = ElementTree.SubElement(
            suite, "testcase", classname="drafter", name=result.spec, time=f"{result.seconds:.3f}"
        )
        if result.status == "error":
            ElementTree.SubElement(case, "error", message=result.message).text = result.message
        elif result.status in ("must-failed", "drifted"):
            what = "the plan drifted from the committed PLAN.md" if result.message else ""
            musts = f"{len(result.must_findings)} MUST finding(s)" if result.must_findings else ""
            failure = ElementTree.SubElement(
                case, "failure", message="; ".join(filter(None, (what, musts)))
            )
            failure.text = "\n".join(filter(None, (*result.must_findings, result.message)))
    ElementTree.indent(suite)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
