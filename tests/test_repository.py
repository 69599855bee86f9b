"""Grounding: the repository context, relevance, and plans that name real files.

Every repository here is built by the test itself (a Python package with pytest, a Go module,
a TypeScript app with Vitest, a monorepo with two stacks); none is fetched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import fake_settings

from drafter.app.checking import check_plan
from drafter.app.workflow import DraftRequest, DraftResult, spec_to_plan
from drafter.checks import grounding
from drafter.core.errors import InputError
from drafter.drafting import DraftInputs
from drafter.drafting.llm import LLMDrafter, context_text
from drafter.engine.pipeline import PipelineOptions, draft_plan
from drafter.inputs import relevance, repository
from drafter.inputs import spec as spec_module
from drafter.inputs.relevance import rank
from drafter.model import plan as p
from drafter.providers.stack import build
from drafter.testing.fake_openai import FakeOpenAI


@pytest.fixture(autouse=True)
def _grounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRAFTER_NO_REPO", raising=False)  # conftest switches grounding off


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def make_repo(root: Path, files: dict[str, str], commit: bool = True) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    if commit:
        git(root, "init", "-q", ".")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "init")
    return root


PYTHON_SPEC = """# Feature Specification: Cart discounts

## User Scenarios & Testing

### User Story 1 - Discounted cart (Priority: P1)

As a shopper, I want discount codes applied to my cart so that I pay less.

## Requirements

### Functional Requirements

- **FR-001**: System MUST apply a discount code to the `Cart` total.
- **FR-002**: System MUST reject an expired discount code with a clear error.
"""

PYTHON_FILES = {
    "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["fastapi"]\n\n'
    '[dependency-groups]\ndev = ["pytest", "ruff"]\n',
    "uv.lock": "version = 1\n",
    "src/shop/__init__.py": "",
    "src/shop/cart.py": "class Cart:\n    def total(self) -> int:\n        return 0\n",
    "src/shop/orders.py": "def place_order(cart):\n    return cart\n",
    "src/shop/discount_rules.py": "def expired(code):\n    return False\n",
    "tests/unit/shop/test_cart.py": "def test_total():\n    assert True\n",
    "tests/unit/shop/test_orders.py": "def test_order():\n    assert True\n",
    "specs/001-cart-discounts/spec.md": PYTHON_SPEC,
}


def draft(spec_path: Path, tmp_path: Path, **flags: object) -> DraftResult:
    return spec_to_plan(
        DraftRequest(
            spec_path=spec_path,
            to_stdout=True,
            settings_flags={"cache_dir": tmp_path / "cache", **flags},
        )
    )


def named(result: DraftResult) -> tuple[set[str], set[str], set[str]]:
    components = result.plan.components.components
    modified = {f.path for c in components for f in c.modified_files}
    new = {f.path for c in components for f in c.new_files}
    tests = {s.file for s in result.plan.testing.suites}
    return modified, new, tests


def test_python_package_with_pytest(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "shop", PYTHON_FILES)
    context = repository.load(root, tmp_path / "cache")
    assert context.language == "Python"
    assert "src/shop/cart.py" in context.files
    assert context.symbols["src/shop/cart.py"] == ("Cart", "total")
    assert [c.command for c in context.commands] == ["uv run pytest", "uv run ruff check ."]
    assert context.manifests[0].frameworks == ("FastAPI",)

    result = draft(root / "specs/001-cart-discounts/spec.md", tmp_path)
    modified, new, tests = named(result)
    assert "src/shop/cart.py" in modified
    assert all(context.exists(path) for path in modified)
    assert all(context.folder_exists(path) for path in new | tests)
    assert "tests/unit/shop/test_cart.py" in tests  # the existing test of cart.py
    cart = next(
        f
        for c in result.plan.components.components
        for f in c.modified_files
        if f.path == "src/shop/cart.py"
    )
    evidence = " ".join(change.description for change in cart.changes)
    assert "`Cart`" in evidence and "FR-001" in {i for c in cart.changes for i in c.requirement_ids}
    stack = {(row.technology, row.justification) for row in result.plan.architecture.stack}
    assert ("pytest", "declared in pyproject.toml") in stack
    assert not any("assumed" in row.technology for row in result.plan.architecture.stack)
    commands = [c.command for c in result.plan.verification.commands]
    assert commands[0] == "uv run pytest"
    assert not any("no repository found" in w for w in result.warnings)
    assert "src/shop/cart.py" in result.text


def test_new_python_file_gets_a_mirrored_test(tmp_path: Path) -> None:
    files = dict(PYTHON_FILES)
    files["specs/001-cart-discounts/spec.md"] = PYTHON_SPEC + (
        "\n### Key Entities\n\n- **Coupon**: a discount code with an expiry date.\n"
    )
    root = make_repo(tmp_path / "shop", files)
    result = draft(root / "specs/001-cart-discounts/spec.md", tmp_path)
    _, new, tests = named(result)
    assert new == {"src/shop/cart_discounts_models.py"}  # beside cart.py, snake_case
    assert "tests/unit/shop/test_cart.py" in tests


GO_FILES = {
    "go.mod": "module example.com/svc\n\ngo 1.22\n\n"
    "require (\n\tgithub.com/onsi/ginkgo/v2 v2.1.0\n)\n",
    "internal/store/store.go": "package store\n\ntype RetentionPolicy struct{}\n\n"
    "func Save() error { return nil }\n",
    "internal/store/store_test.go": "package store\n",
    "internal/api/handler.go": "package api\n\nfunc Serve() {}\n",
    "docs/retention/spec.md": """# Retention

## Requirements

- **FR-001**: The store MUST delete records older than the `RetentionPolicy` allows.
- **FR-002**: The store MUST log each deletion batch.
""",
}


def test_go_module(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "svc", GO_FILES)
    result = draft(root / "docs/retention/spec.md", tmp_path)
    modified, _, tests = named(result)
    assert "internal/store/store.go" in modified
    assert "internal/store/store_test.go" in tests
    assert all(t.endswith("_test.go") for t in tests)
    assert [c.command for c in result.plan.verification.commands] == ["ginkgo ./..."]
    stack = {row.technology for row in result.plan.architecture.stack}
    assert {"Go", "Ginkgo"} <= stack


TS_FILES = {
    "package.json": '{"name": "jobs", "scripts": {"test": "vitest run", "lint": "eslint ."},'
    ' "devDependencies": {"vitest": "^1", "typescript": "^5"}}',
    "tsconfig.json": "{}",
    "src/jobs/JobStore.ts": "export class JobStore {\n  release(): void {}\n}\n",
    "src/jobs/__vitest__/JobStore.test.ts": "import { it } from 'vitest'\n",
    "src/jobs/JobQueue.ts": "export class JobQueue {}\n",
    "src/utils/retry.ts": "export function retry() {}\n",
    "openspec/changes/lease/proposal.md": """# Change: release job leases

## Why

Jobs stay locked when a worker dies.

## What Changes

- **FR-001**: The `JobStore` MUST release the lease of a job whose worker stopped.
""",
}


def test_typescript_app_with_vitest(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "jobs", TS_FILES)
    result = draft(root / "openspec/changes/lease/proposal.md", tmp_path)
    modified, _, tests = named(result)
    assert "src/jobs/JobStore.ts" in modified
    assert "src/jobs/__vitest__/JobStore.test.ts" in tests
    assert all(t.endswith(".test.ts") for t in tests)
    commands = [c.command for c in result.plan.verification.commands]
    assert commands[0] == "npm test"
    assert "npm run lint" in commands
    assert {"TypeScript", "Vitest"} <= {row.technology for row in result.plan.architecture.stack}


MONO_FILES = {
    "backend/go.mod": "module example.com/backend\n\ngo 1.22\n",
    "backend/handlers/jira_auth.go": "package handlers\n\nfunc ConnectJira() {}\n",
    "backend/handlers/github_auth.go": "package handlers\n\nfunc ConnectGithub() {}\n",
    "backend/handlers/gitlab_auth.go": "package handlers\n\nfunc ConnectGitlab() {}\n",
    "backend/routes.go": "package main\n\n// jira github gitlab routes\nfunc routes() {}\n",
    "frontend/package.json": '{"scripts": {"test": "vitest run"}, "devDependencies": '
    '{"vitest": "^1", "typescript": "^5", "next": "^14"}}',
    "frontend/src/components/Settings.tsx": "export function Settings() {}\n",
    "specs/gerrit/spec.md": """# Gerrit auth

## Requirements

- **FR-001**: Users MUST connect a Gerrit instance with an auth token, like the other integrations.
- **FR-002**: The backend MUST store the Gerrit auth credentials per user.
""",
}


def test_monorepo_with_two_stacks(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "mono", MONO_FILES)
    context = repository.load(root, tmp_path / "cache")
    assert {m.path for m in context.manifests} == {"backend/go.mod", "frontend/package.json"}
    assert context.manifest_for("frontend/src/components/Settings.tsx").path == (  # type: ignore[union-attr]
        "frontend/package.json"
    )
    result = draft(root / "specs/gerrit/spec.md", tmp_path)
    modified, new, _ = named(result)
    assert modified & {"backend/handlers/jira_auth.go", "backend/handlers/github_auth.go"}
    assert "backend/routes.go" in modified  # names the whole family: the new one joins it
    assert any(p.startswith("backend/handlers/") for p in new)
    assert "cd backend && go test ./..." in [c.command for c in result.plan.verification.commands]


def test_without_git_the_walk_honours_gitignore(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path / "plain",
        {".gitignore": "build/\n*.log\n", "app/main.py": "def main(): ...\n",
         "build/out.py": "", "debug.log": "", "node_modules/x/index.js": ""},
        commit=False,
    )  # fmt: skip
    context = repository.load(root, None)
    assert context.files == (".gitignore", "app/main.py")


def test_odd_files_are_skipped_not_fatal(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "odd", {"src/ok.py": "def ok(): ...\n", "src/big.py": ""})
    (root / "src/big.py").write_bytes(b"x = 1\n" * (repository.MAX_FILE_BYTES // 6 + 10))
    (root / "src/binary.py").write_bytes(b"\0\1\2")
    os.symlink(root / "missing.py", root / "src/broken.py")
    (root / "src/locked.py").write_text("def locked(): ...\n")
    (root / "src/locked.py").chmod(0)
    if sys.platform != "darwin":
        (root / "src").joinpath(b"caf\xe9.py".decode("utf-8", "surrogateescape")).write_text("")
    (root / ".gitmodules").write_text('[submodule "lib"]\n\tpath = vendored_lib\n\turl = x\n')
    (root / "vendored_lib").mkdir()
    git(root, "add", "-A")
    git(root, "commit", "-qm", "odd")
    context = repository.load(root, tmp_path / "cache")
    assert "src/ok.py" in context.symbols
    for unread in ("src/big.py", "src/binary.py", "src/broken.py"):
        assert unread not in context.symbols
    assert all(name.isascii() for name in context.files)
    assert not any(name.startswith("vendored_lib") for name in context.files)


def test_context_is_cached_until_the_index_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "shop", PYTHON_FILES)
    first = repository.load(root, tmp_path / "cache")
    built = []
    real_build = repository._build
    monkeypatch.setattr(repository, "_build", lambda *a: built.append(1) or real_build(*a))
    assert repository.load(root, tmp_path / "cache") == first
    assert built == []
    (root / "src/shop/refunds.py").write_text("def refund(): ...\n")
    git(root, "add", "-A")
    assert "src/shop/refunds.py" in repository.load(root, tmp_path / "cache").files
    assert built == [1]


def test_ranking_is_cached_with_the_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "shop", PYTHON_FILES)
    spec_path = root / "specs/001-cart-discounts/spec.md"
    first = draft(spec_path, tmp_path)

    def refuse(*args: object) -> None:
        raise AssertionError("ranked again although nothing changed")

    monkeypatch.setattr(relevance, "_rank", refuse)
    assert draft(spec_path, tmp_path).text == first.text


def test_relevance_carries_evidence(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "shop", PYTHON_FILES)
    context = repository.load(root, None)
    spec_path = root / "specs/001-cart-discounts/spec.md"
    candidates = rank(spec_module.load(spec_path), context, spec_path.read_text())
    assert candidates[0].path == "src/shop/cart.py" and candidates[0].strong
    assert "`Cart`" in candidates[0].evidence[0]
    assert all(c.evidence for c in candidates)


def test_spec_outside_a_repository_drafts_as_today(tmp_path: Path) -> None:
    (tmp_path / "SPEC.md").write_text(PYTHON_SPEC)
    result = draft(tmp_path / "SPEC.md", tmp_path)
    assert sum("no repository found" in w for w in result.warnings) == 1
    assert any("assumed" in row.technology for row in result.plan.architecture.stack)


def test_missing_repo_dir_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "SPEC.md").write_text(PYTHON_SPEC)
    with pytest.raises(InputError, match="--repo"):
        draft(tmp_path / "SPEC.md", tmp_path, repo=tmp_path / "nowhere")


def test_cli_repo_flags(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "shop", PYTHON_FILES)
    spec_path = root / "specs/001-cart-discounts/spec.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRAFTER_")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "drafter", "spec-to-plan", str(spec_path), "--stdout", *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
        )  # fmt: skip

    missing = run("--repo", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert [line for line in missing.stderr.splitlines() if "error" in line] == [
        f"drafter: error: --repo {tmp_path / 'nowhere'}: no such directory"
    ]
    both = run("--repo", str(root), "--no-repo")
    assert both.returncode == 2 and "not both" in both.stderr
    grounded = run("--repo", str(root))
    assert "src/shop/cart.py" in grounded.stdout
    offline = run("--no-repo")
    assert "src/shop/cart.py" not in offline.stdout and "no repository" not in offline.stderr


def test_check_reports_a_modified_file_that_does_not_exist(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "shop", PYTHON_FILES)
    spec_path = root / "specs/001-cart-discounts/spec.md"
    result = draft(spec_path, tmp_path)
    plan_path = spec_path.parent / "PLAN.md"
    plan_path.write_text(result.text.replace("src/shop/cart.py", "src/shop/basket.py"))
    checked = check_plan(plan_path)
    findings = [d.finding for d in checked.diagnostics if d.finding.rule_id == "DR-PATH"]
    assert len(findings) == 1
    line = plan_path.read_text().splitlines()[findings[0].line - 1]
    assert "`src/shop/basket.py`" in line and "basket.py" in findings[0].message


def grounded_inputs(tmp_path: Path, extra: dict[str, str] | None = None) -> DraftInputs:
    root = make_repo(tmp_path / "shop", PYTHON_FILES | (extra or {}))
    spec_path = root / "specs/001-cart-discounts/spec.md"
    return DraftInputs(
        spec=spec_module.load(spec_path),
        constitution=None,
        repository=repository.load(root, tmp_path / "cache"),
    )


def test_llm_context_carries_the_repository_map(tmp_path: Path) -> None:
    inputs = grounded_inputs(tmp_path, {"AGENTS.md": "# Agents\n\nRun `make check` first.\n"})
    text = context_text(inputs)
    assert "# Repository (shop)" in text
    assert "- `src/shop/cart.py`: FR-001" in text
    assert "`uv run pytest`" in text
    assert "`src/shop/cart.py` is tested in `tests/unit/shop/test_cart.py`" in text
    assert "- `specs/001-cart-discounts/spec.md`" in text  # earlier specs are listed
    assert "## Steering: AGENTS.md (first lines)\n> # Agents\n>\n> Run `make check` first." in text
    bare = DraftInputs(spec=inputs.spec, constitution=None)
    assert "# Repository" not in context_text(bare)  # no repository: the context as before


def _components(path: str, modified: bool) -> p.ComponentsSection:
    change = p.FileChange(description="apply discounts", requirement_ids=["FR-001"])
    component = p.Component(
        name="Cart",
        purpose="Discounts",
        new_files=[]
        if modified
        else [p.NewFile(path=path, purpose="x", symbols=[], requirement_ids=[], proposed=False)],
        modified_files=[p.ModifiedFile(path=path, changes=[change], proposed=False)]
        if modified
        else [],
    )
    return p.ComponentsSection(components=[component], reviews=[])


def test_validator_rejects_paths_that_are_not_there(tmp_path: Path) -> None:
    context = grounded_inputs(tmp_path).repository
    invent = grounding.validate_section("components", _components("src/cart.py", True), context)
    assert invent == [
        "modified file `src/cart.py` does not exist in the repository: name an existing file "
        "from the repository map, or list it under new_files"
    ]
    new_folder = _components("src/coupons/coupon.py", False)
    assert (
        "not in an existing folder"
        in grounding.validate_section("components", new_folder, context)[0]
    )
    fine = _components("src/shop/cart.py", True)
    assert grounding.validate_section("components", fine, context) == []
    assert grounding.validate_section("components", new_folder, None) == []


def test_llm_repair_loop_feeds_back_a_missing_path(fake: FakeOpenAI, tmp_path: Path) -> None:
    inputs = grounded_inputs(tmp_path)
    bad, good = _components("src/cart.py", True), _components("src/shop/cart.py", True)
    fake.enqueue("ComponentsSection", bad.model_dump(), good.model_dump())
    config = fake_settings(fake, tmp_path)
    outcome = draft_plan(inputs, LLMDrafter(build(config)), PipelineOptions())
    assert fake.stats.by_schema["ComponentsSection"] == 2
    assert outcome.plan.components == good


def test_fake_provider_answers_from_the_repository_map(fake: FakeOpenAI, tmp_path: Path) -> None:
    inputs = grounded_inputs(tmp_path)
    outcome = draft_plan(
        inputs, LLMDrafter(build(fake_settings(fake, tmp_path))), PipelineOptions()
    )
    assert fake.stats.by_schema["ComponentsSection"] == 1  # valid at once: no repair
    components = outcome.plan.components.components
    assert all(inputs.repository.exists(f.path) for c in components for f in c.modified_files)


def test_a_new_self_hosted_service_goes_into_the_compose_files(tmp_path: Path) -> None:
    files = dict(PYTHON_FILES)
    files["docker-compose.yaml"] = "services:\n  db:\n    image: postgres:16\n"
    files[".env.example"] = "DATABASE_URL=postgres://localhost/shop\n"
    files["specs/001-cart-discounts/spec.md"] = PYTHON_SPEC + (
        "- **FR-003**: System MUST cache discount lookups in Redis.\n"
    )
    root = make_repo(tmp_path / "shop", files)
    result = draft(root / "specs/001-cart-discounts/spec.md", tmp_path)
    modified, _, _ = named(result)
    assert {"docker-compose.yaml", ".env.example"} <= modified
    files["docker-compose.yaml"] += "  cache:\n    image: redis:7\n"  # runs it already
    root = make_repo(tmp_path / "shop2", files)
    modified, _, _ = named(draft(root / "specs/001-cart-discounts/spec.md", tmp_path))
    assert not {"docker-compose.yaml", ".env.example"} & modified


def test_update_notices_a_named_file_that_was_deleted(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "shop", PYTHON_FILES)
    spec_path = root / "specs/001-cart-discounts/spec.md"
    plan_path = spec_path.parent / "PLAN.md"
    flags = {"cache_dir": tmp_path / "cache"}
    spec_to_plan(DraftRequest(spec_path=spec_path, output=plan_path, settings_flags=flags))
    git(root, "rm", "-q", "src/shop/cart.py")
    git(root, "commit", "-qm", "cart moved out")
    again = spec_to_plan(DraftRequest(spec_path=spec_path, output=plan_path, settings_flags=flags))
    missing = [f for f in again.findings if f.rule_id == "DR-PATH"]
    assert [f.message.split("`")[1] for f in missing] == ["src/shop/cart.py"]
