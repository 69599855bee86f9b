"""drafter as an MCP server: the use cases as tools, plans and the plan schema as resources.

Tools (JSON-schema'd inputs, structured outputs): `spec_to_plan`, `update_plan`, `check_plan`,
`list_rules`. Each calls the same use case as the CLI command of that name. Bad input,
provider failures and refused paths come back as tool errors (`isError`) carrying drafter's
one-line message and the exit code the CLI would use; the server keeps serving.

Every path is taken relative to the server's root (the repository; its working directory by
default) and one that resolves outside it is refused. Drafting runs in a worker thread: the
use cases are synchronous and run their own asyncio loop, which cannot nest in the server's.

Only `drafter mcp` imports this module, so the CLI's other commands never load the MCP SDK.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import Resource, ToolAnnotations
from pydantic import BaseModel, Field

from drafter import __version__
from drafter.app import checking
from drafter.app.workflow import DraftRequest, DraftResult, spec_to_plan, update_request
from drafter.core import config
from drafter.core.errors import DrafterError, InputError
from drafter.inputs import constitution
from drafter.model.sections import SECTIONS

SCHEMA_URI = "drafter://schema/plan"
PLAN_URI = "drafter://plan/{+path}"  # path: the plan's path relative to the root
PLAN_NAMES = ("PLAN.md",)
# Directories never searched for plans: VCS data, environments, dependencies, caches.
_SKIP_DIRS = {"node_modules", "venv", "__pycache__", "site-packages", "dist", "build"}
_EXIT_MEANING = {1: "a MUST rule fails", 2: "bad input", 3: "provider failure"}

INSTRUCTIONS = """\
drafter turns a feature spec (SPEC.md, Kiro requirements.md, OpenSpec proposal.md) and the
project constitution into an implementation plan (PLAN.md), and checks plans against both.
Typical loop: spec_to_plan on the spec; fix every finding of severity "error" (a MUST rule) at
its cause, in the plan or in the spec; update_plan after editing the spec (hand-edited
sections are kept); check_plan until no error remains. Never edit the constitution or delete
requirements to make a check pass. Paths are relative to the repository root."""

T = TypeVar("T")


# -- outputs -----------------------------------------------------------------------------------


class FindingOut(BaseModel):
    rule_id: str
    severity: str
    message: str
    file: str | None
    line: int
    col: int
    text: str = Field(description="The finding as drafter check prints it: FILE:LINE:COL: ...")


class TraceOut(BaseModel):
    id: str
    kind: str
    priority: str
    traced: bool = Field(description="True when the plan has both a step and a test for it.")
    steps: list[int] = Field(description="Plan step numbers tagged with the requirement.")
    tests: list[str] = Field(description="Test cases tagged with the requirement.")
    files: list[str]


class DraftOut(BaseModel):
    plan: str | None = Field(description="The plan's path (relative to the root), None unwritten.")
    drafter: str = Field(description='"offline", or the model that drafted it.')
    must_failed: bool = Field(description="True when a MUST rule fails (the CLI exits 1).")
    findings: list[FindingOut]
    traceability: list[TraceOut]
    warnings: list[str]
    not_drafted: list[str] = Field(description="Sections that could not be drafted.")
    kept: list[str] = Field(description="Sections kept as a person edited them.")
    redrafted: list[str]
    unchanged: list[str] = Field(description="Sections whose inputs were unchanged: reused.")
    stale: list[str] = Field(description="Kept sections whose inputs changed since.")
    text: str = Field(description="The plan as written (Markdown).")


class CheckOut(BaseModel):
    """The same object as `drafter check --format json`."""

    plan: str
    spec: str
    constitution: str | None
    read_back: bool
    must_failed: bool
    findings: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    traceability: list[dict[str, Any]]
    sections: dict[str, dict[str, Any]]
    warnings: list[str]


class RuleOut(BaseModel):
    id: str
    level: str
    category: str
    principle: str
    line: int
    text: str


class RulesOut(BaseModel):
    constitution: str
    title: str
    version: str | None
    rules: list[RuleOut]
    warnings: list[str]


# -- the server ------------------------------------------------------------------------------


class DrafterMCP(MCPServer[Any]):
    """MCPServer whose resource list also holds every plan under the root, found when asked
    (plans come and go while the server runs)."""

    def __init__(self, root: Path) -> None:
        super().__init__(
            name="drafter",
            version=__version__,
            instructions=INSTRUCTIONS,
            log_level="WARNING",  # stderr is the editor's MCP log: problems only
        )
        self.root = root.resolve()
        self._drafting = anyio.Lock()  # one draft at a time: they share settings and files
        self._register()

    async def list_resources(self) -> list[Resource]:
        plans = [
            Resource(
                uri=PLAN_URI.replace("{+path}", rel),
                name=rel,
                title=f"Plan {rel}",
                description="A plan in the repository (Markdown).",
                mime_type="text/markdown",
            )
            for rel in find_plans(self.root)
        ]
        return [*await super().list_resources(), *plans]

    def _register(self) -> None:
        read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
        writes = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True)
        self.add_tool(self.spec_to_plan, annotations=writes)
        self.add_tool(self.update_plan, annotations=writes)
        self.add_tool(self.check_plan, annotations=read_only)
        self.add_tool(self.list_rules, annotations=read_only)
        self.resource(
            SCHEMA_URI,
            name="plan-schema",
            title="Plan JSON Schema",
            description="The JSON Schema of drafter's plan model (what each section holds).",
            mime_type="application/schema+json",
        )(_plan_schema)
        self.resource(
            PLAN_URI,
            name="plan",
            title="A plan",
            description="A PLAN.md in the repository, by its path relative to the root.",
            mime_type="text/markdown",
        )(self._read_plan)

    # -- tools ----------------------------------------------------------------------------------

    async def spec_to_plan(
        self,
        spec: Annotated[
            str,
            Field(description="The spec (SPEC.md, requirements.md, proposal.md), root-relative."),
        ],
        ctx: Context,
        constitution: Annotated[
            str | None,
            Field(description="Constitution file; default: discovered as the CLI does."),
        ] = None,
        model: Annotated[
            str | None,
            Field(
                description="provider:name, e.g. openai:gpt-4o-mini; default: the project's "
                "setting, else offline drafting (no model, no key)."
            ),
        ] = None,
        write: Annotated[
            bool, Field(description="Write PLAN.md beside the spec (false: only return it).")
        ] = True,
    ) -> DraftOut:
        """Draft PLAN.md from a spec and the project constitution.

        Returns the plan's path and text, the findings (severity "error" = a MUST rule fails),
        the requirement traceability and what an update kept. An existing PLAN.md is updated
        in place: sections a person edited are kept. A MUST failure is a result, not an error.
        """
        spec_path = self.inside(spec, "spec")
        request = DraftRequest(
            spec_path=spec_path,
            constitution_path=self.inside(constitution, "constitution") if constitution else None,
            to_stdout=not write,
            settings_flags={"model": model},
        )
        result = await self._draft(ctx, f"drafting {spec}", lambda: request)
        return self.draft_out(result)

    async def update_plan(
        self,
        plan: Annotated[str, Field(description="A PLAN.md drafter wrote, root-relative.")],
        ctx: Context,
    ) -> DraftOut:
        """Redraft what changed in the spec since PLAN.md was drafted, keeping hand edits.

        The spec is the one named in the plan's drafter comment. Sections a person edited are
        kept byte for byte (listed in `stale` when their inputs changed); sections whose
        inputs are unchanged are reused; the rest are redrafted.
        """
        plan_path = self.inside(plan, "plan")

        def request() -> DraftRequest:
            recorded = update_request(plan_path)
            # The plan's trailer names the spec and constitution: they too stay in the root.
            self.inside(str(recorded.spec_path), f"spec recorded in {plan}")
            if recorded.constitution_path is not None:
                self.inside(str(recorded.constitution_path), f"constitution recorded in {plan}")
            return recorded

        result = await self._draft(ctx, f"updating {plan}", request)
        return self.draft_out(result)

    async def check_plan(
        self,
        plan: Annotated[str, Field(description="The plan to check (a PLAN.md), root-relative.")],
        spec: Annotated[
            str | None,
            Field(description="The spec it implements; default: the spec beside the plan."),
        ] = None,
        constitution: Annotated[
            str | None, Field(description="Constitution file; default: discovered.")
        ] = None,
    ) -> CheckOut:
        """Check a PLAN.md against its spec and the constitution, as `drafter check` does.

        Returns the same object as `drafter check --format json`: findings located at
        FILE:LINE:COL (severity "error" = a MUST or structural rule fails), rule verdicts with
        evidence, and the requirement traceability.
        """
        plan_path = self.inside(plan, "plan")
        spec_path = self.inside(spec, "spec") if spec else None
        rules_path = self.inside(constitution, "constitution") if constitution else None
        result = await self._run(lambda: checking.check_plan(plan_path, spec_path, rules_path))
        return CheckOut.model_validate(checking.as_json(result))

    async def list_rules(
        self,
        constitution: Annotated[
            str | None, Field(description="Constitution file, root-relative.")
        ] = None,
        spec: Annotated[
            str | None,
            Field(description="Or a spec: list the rules of the constitution that governs it."),
        ] = None,
    ) -> RulesOut:
        """List the constitution's rules: stable ID (e.g. C-III.2), level (MUST, SHOULD...),
        category and source line. With neither argument, the repository's constitution."""
        if constitution and spec:
            raise ToolError("give either constitution or spec, not both (exit 2: bad input)")
        if constitution:
            target = self.inside(constitution, "constitution")
        elif spec:
            target = self.inside(spec, "spec")
        else:
            target = Path(".")
        return await self._run(lambda: rules_of(target, explicit=bool(constitution)))

    # -- resources ------------------------------------------------------------------------------

    def _read_plan(self, path: str) -> str:
        try:
            target = self.inside(path, "plan")
        except ToolError as error:
            raise ResourceError(str(error)) from error
        try:
            return target.read_text("utf-8", errors="replace")
        except OSError as error:
            raise ResourceError(f"cannot read plan {path}: {error.strerror}") from error

    # -- plumbing -------------------------------------------------------------------------------

    def inside(self, given: str, what: str) -> Path:
        """`given` resolved against the root, as a root-relative path; refused outside it."""
        resolved = (self.root / given).resolve()
        if not resolved.is_relative_to(self.root):
            raise ToolError(
                f"{what} {given} is outside the working directory {self.root}; "
                "give a path inside the repository (exit 2: bad input)"
            )
        return resolved.relative_to(self.root)

    async def _run(self, work: Callable[[], T], *, abandon_on_cancel: bool = False) -> T:
        """Run a synchronous use case off the event loop; drafter errors become tool errors."""
        try:
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=abandon_on_cancel)
        except DrafterError as error:
            raise ToolError(tool_message(error)) from error
        except OSError as error:
            raise ToolError(f"{error.strerror}: {error.filename} (exit 2: bad input)") from error

    async def _draft(
        self, ctx: Context, what: str, request: Callable[[], DraftRequest]
    ) -> DraftResult:
        """Run a draft, reporting progress as each plan section is done (then one step for
        checking and writing), and stopping the draft when the tool call is cancelled."""
        async with self._drafting:
            started = time.monotonic()
            total = len(SECTIONS) + 1
            done: set[str] = set()
            stop = threading.Event()
            await ctx.report_progress(0, total, f"{what}…")

            def on_section(name: str) -> None:  # in the drafting thread
                if name in done:  # a section redrafted by a repair counts once
                    return
                done.add(name)
                message = f"{what}: {name} ({len(done)} of {len(SECTIONS)} sections)"
                anyio.from_thread.run(ctx.report_progress, len(done), total, message)

            def work() -> DraftResult:
                return spec_to_plan(replace(request(), stop=stop, on_section=on_section))

            try:
                result = await self._run(work, abandon_on_cancel=True)
            except anyio.get_cancelled_exc_class():
                stop.set()  # the abandoned thread sees it within a tenth of a second
                raise
            message = f"{what}: done in {time.monotonic() - started:.1f} s"
            await ctx.report_progress(total, total, message)
            return result

    def draft_out(self, result: DraftResult) -> DraftOut:
        decisions = result.decisions
        return DraftOut(
            plan=str(result.output) if result.output is not None else None,
            drafter=result.drafter_name,
            must_failed=result.report.must_failed,
            findings=[finding_out(f) for f in result.findings],
            traceability=[
                TraceOut(
                    id=row.id,
                    kind=row.kind,
                    priority=row.priority,
                    traced=row.traced,
                    steps=[step.number for step in row.steps],
                    tests=[f"{test.file}: {test.case}" for test in row.tests],
                    files=list(row.files),
                )
                for row in checking.traceability(result.plan, result.spec)
            ],
            warnings=list(result.warnings),
            not_drafted=list(result.missing),
            kept=list(decisions.kept) if decisions else [],
            redrafted=list(decisions.redrafted) if decisions else [],
            unchanged=list(decisions.reused) if decisions else [],
            stale=list(decisions.stale) if decisions else [],
            text=result.text,
        )


def finding_out(finding: Any) -> FindingOut:
    return FindingOut(
        rule_id=finding.rule_id,
        severity=finding.severity,
        message=finding.message,
        file=str(finding.file) if finding.file is not None else None,
        line=finding.line,
        col=finding.col,
        text=finding.format(),
    )


def tool_message(error: DrafterError) -> str:
    """drafter's one-line message and what its exit code means, for the agent to act on."""
    code = error.exit_code
    return f"{error} (exit {code}: {_EXIT_MEANING.get(code, 'error')})"


def rules_of(target: Path, *, explicit: bool) -> RulesOut:
    """The rules of the constitution at `target` (`explicit`), or of the one that governs the
    spec or directory `target`, discovered as spec-to-plan discovers it."""
    if explicit:
        if not target.is_file():
            raise InputError(f"constitution not found: {target}")
        found: Path | None = target
    else:
        directory = target if target.is_dir() else target.parent
        if not target.exists():
            raise InputError(f"spec not found: {target}")
        found = constitution.discover(target, None, config.load(directory).constitution)
    if found is None:
        raise InputError(
            f"no constitution found for {target} (looked for [tool.drafter] constitution, "
            "constitution.md, .specify/memory/constitution.md, memory/constitution.md)"
        )
    parsed = constitution.load(found)
    return RulesOut(
        constitution=str(checking.shown(found)),
        title=parsed.title,
        version=parsed.version,
        rules=[
            RuleOut(
                id=rule.id,
                level=rule.level,
                category=rule.category,
                principle=rule.principle,
                line=rule.line,
                text=rule.text,
            )
            for rule in parsed.rules
        ],
        warnings=list(parsed.warnings),
    )


def find_plans(root: Path) -> list[str]:
    """Root-relative paths of the plans under `root`, sorted; hidden and tool dirs skipped."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if not d.startswith(".") and d not in _SKIP_DIRS]
        found.extend(
            (Path(directory) / name).relative_to(root).as_posix()
            for name in files
            if name in PLAN_NAMES
        )
    return sorted(found)


def _plan_schema() -> str:
    from drafter.model import plan

    return plan.schema_text()


def serve(root: Path) -> None:
    """Serve MCP over stdin/stdout until the client closes them, from `root`."""
    os.chdir(root)  # the use cases (and the paths in their messages) are root-relative
    DrafterMCP(Path.cwd()).run("stdio")
