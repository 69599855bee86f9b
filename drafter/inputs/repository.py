"""Repository context: what the repository a spec belongs to already holds.

Built in one pass and cached under `<cache_dir>/repo/`, keyed by the git index and HEAD (or,
without git, by the walked files' stats), so a re-run pays one small JSON read. It lists the
tracked files (`git ls-files`; without git a walk honouring `.gitignore` through `pathspec`),
reads the manifests (pyproject.toml, package.json, go.mod, Cargo.toml, pom.xml, Gemfile, *.asd,
Makefile) for the stack, test runner and commands, finds the test layout in use, earlier specs
and plans, steering files, and the symbols each source file defines (for relevance ranking).

Nothing here is fatal: an unreadable file, a broken symlink, a submodule, a file name that is
not UTF-8 or a huge file is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import tomllib
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from drafter.core.errors import InputError
from drafter.core.files import write_atomic

CACHE_VERSION = "1"
MAX_FILE_BYTES = 512 * 1024  # larger files are listed but never read
HEAD_BYTES = 8 * 1024  # symbols come from the start of a file: definitions sit there
MAX_INDEXED = 6000  # source files whose heads are read; beyond that, paths alone rank
VENDORED = frozenset(
    {"node_modules", "vendor", "third_party", "third-party", ".venv", "venv", "dist", "build",
     "__pycache__", ".git", ".drafter", ".next", "target", "coverage", ".tox", ".mypy_cache",
     "site-packages"}
)  # fmt: skip
SOURCE_EXTENSIONS = {
    ".py": "Python", ".ts": "TypeScript", ".tsx": "TypeScript", ".js": "JavaScript",
    ".jsx": "JavaScript", ".mjs": "JavaScript", ".go": "Go", ".rs": "Rust", ".java": "Java",
    ".kt": "Kotlin", ".rb": "Ruby", ".lisp": "Common Lisp", ".cs": "C#", ".php": "PHP",
    ".swift": "Swift", ".c": "C", ".h": "C", ".cpp": "C++", ".scala": "Scala", ".ex": "Elixir",
    ".vue": "Vue", ".svelte": "Svelte", ".dart": "Dart", ".sh": "Shell",
}  # fmt: skip
CONFIG_EXTENSIONS = frozenset({".json", ".yaml", ".yml", ".toml", ".asd", ".cfg", ".ini", ".scm"})
STEERING = ("AGENTS.md", "CLAUDE.md", "GEMINI.md", ".github/copilot-instructions.md",
            "openspec/project.md", ".cursorrules")  # fmt: skip
_TEST_FILE = re.compile(
    r"(?:^|/)(?:tests?|__tests__|__vitest__|spec|specs)/.+\.\w+$|(?:^|/)test_[^/]+\.py$|"
    r"[^/]+(?:_test|\.test|\.spec|_spec|-tests?)\.\w+$"
)
_SPEC_DOC = re.compile(r"(?:^|/)(?:spec|requirements|proposal|plan|design|tasks)\.md$", re.I)
_DEFINITION = re.compile(
    r"^\s*(?:export\s+)?(?:default\s+)?(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?"
    r"(?:def|class|func|function|interface|type|struct|enum|trait|const|let|module|object|"
    r"defun|defmacro|defclass|define-major-mode|define-command|defvar|defparameter)\s+"
    r"(?:\([^)]*\)\s*)?([A-Za-z_][\w-]*)",
    re.MULTILINE,
)
_VENDORED_PART = re.compile(r"(?:^|/)(?:" + "|".join(re.escape(v) for v in VENDORED) + r")/")
_GO_TYPE = re.compile(r"^type\s+(\w+)", re.MULTILINE)
_MAKE_TARGET = re.compile(r"^([A-Za-z][\w.-]*)\s*:(?!=)", re.MULTILINE)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Command(_Model):
    """A command the repository defines, and where it is defined."""

    command: str
    purpose: Literal["test", "lint", "build", "run", "other"]
    manifest: str  # the manifest that defines it, repository-relative
    source: str  # e.g. "package.json (scripts.test: vitest run)", "Makefile (target test)"


class Manifest(_Model):
    """One manifest and what it says."""

    path: str  # repository-relative
    language: str
    frameworks: tuple[str, ...]
    test_runner: str | None
    dependencies: tuple[str, ...]  # lower-cased names, for "is this library already here?"
    commands: tuple[Command, ...]


class Repository(_Model):
    """The repository context every section is drafted against."""

    root: Path
    files: tuple[str, ...]  # every listed file, repository-relative, POSIX separators
    symbols: dict[str, tuple[str, ...]]  # source file → names it defines (read heads only)
    languages: tuple[tuple[str, int], ...]  # (language, source files), most first
    manifests: tuple[Manifest, ...]
    commands: tuple[Command, ...]  # root-level commands first
    steering: tuple[str, ...]  # AGENTS.md, CLAUDE.md, .kiro/steering/*.md, openspec/project.md
    specs: tuple[str, ...]  # earlier specs and plans in the repository
    skipped: int  # files listed but not read (binary, huge, unreadable, broken links)
    key: str = ""  # what the cache is keyed by: the git index and HEAD, or the files' stats
    cache_dir: Path | None = None  # where derived results (relevance rankings) are cached

    def exists(self, path: str) -> bool:
        return path in self._file_set

    def folder_exists(self, path: str) -> bool:
        parent = str(PurePosixPath(path).parent)
        return parent == "." or parent in self._folders

    @cached_property
    def _file_set(self) -> frozenset[str]:
        return frozenset(self.files)

    @cached_property
    def _folders(self) -> frozenset[str]:
        folders: set[str] = set()
        for name in self.files:
            parent = PurePosixPath(name).parent
            while str(parent) != "." and str(parent) not in folders:
                folders.add(str(parent))
                parent = parent.parent
        return frozenset(folders)

    @property
    def language(self) -> str | None:
        return self.languages[0][0] if self.languages else None

    def is_test(self, path: str) -> bool:
        return _is_test(path)

    def manifest_for(self, path: str) -> Manifest | None:
        """The nearest manifest above `path` (monorepos have one per component), preferring
        one of the file's own language (a root pyproject.toml beside a root package.json)."""
        language = SOURCE_EXTENSIONS.get(PurePosixPath(path).suffix)
        if language == "JavaScript":
            language = "TypeScript"
        best: tuple[int, int] | None = None
        chosen: Manifest | None = None
        for manifest in self.manifests:
            folder = str(PurePosixPath(manifest.path).parent)
            if manifest.language == "Make" or not (folder == "." or path.startswith(folder + "/")):
                continue
            key = (len(folder) if folder != "." else 0, manifest.language == language)
            if best is None or key > best:
                best, chosen = key, manifest
        return chosen


def find_root(spec_path: Path) -> Path | None:
    """The git root holding the spec (a `.git` directory or file), or None."""
    for directory in spec_path.resolve().parents:
        if (directory / ".git").exists():
            return directory
    return None


def resolve_root(spec_path: Path, explicit: Path | None) -> Path | None:
    """`--repo DIR` if given (it must exist), else the spec's git root."""
    if explicit is not None:
        if not explicit.is_dir():
            raise InputError(f"--repo {explicit}: no such directory")
        return explicit.resolve()
    return find_root(spec_path)


def load(root: Path, cache_dir: Path | None) -> Repository:
    """The context of the repository at `root`, from the cache when nothing changed."""
    listing, key = _listing(root)
    cache_file = cache_dir / "repo" / f"{key}.json" if cache_dir is not None else None
    stamp = {"key": key, "cache_dir": cache_dir}
    if cache_file is not None and cache_file.is_file():
        try:
            cached = Repository.model_validate_json(cache_file.read_bytes())
            return cached.model_copy(update=stamp)
        except (OSError, ValidationError):
            pass  # a stale or torn cache file is rebuilt below
    repository = _build(root, listing() if callable(listing) else listing).model_copy(update=stamp)
    if cache_file is not None:
        with contextlib.suppress(OSError):  # a read-only cache dir costs speed, not correctness
            write_atomic(cache_file, repository.model_dump_json())
    return repository


# --- listing -----------------------------------------------------------------------------------


def _listing(root: Path) -> tuple[list[str] | _Lazy, str]:
    """The files and a cache key. With git the key comes from the index and HEAD, so a warm
    run lists nothing; without git the walk is the key's input."""
    git_dir = _git_dir(root)
    if git_dir is not None:
        index = git_dir / "index"
        head = _read_text(git_dir / "HEAD")
        ref = head[5:].strip() if head.startswith("ref: ") else ""
        ref_value = _read_text(git_dir / ref).strip() if ref else head.strip()
        try:
            stat = index.stat()
            stamp = f"{stat.st_mtime_ns}:{stat.st_size}"
        except OSError:
            stamp = "no-index"
        key = _digest(CACHE_VERSION, str(root.resolve()), stamp, ref_value)
        return _Lazy(root), key
    files = _walk(root)
    stats = []
    for name in files:
        try:
            stat = (root / name).stat()
            stats.append(f"{name}:{stat.st_mtime_ns}:{stat.st_size}")
        except OSError:
            stats.append(name)
    return files, _digest(CACHE_VERSION, str(root.resolve()), *stats)


class _Lazy:
    """`git ls-files` (tracked files: what the cache key covers), run only on a cache miss."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self) -> list[str]:
        try:
            result = subprocess.run(
                ["git", "-C", str(self.root), "ls-files", "-z"],
                capture_output=True, check=True, timeout=60,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return _walk(self.root)
        names = []
        for raw in result.stdout.split(b"\0"):
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue  # not UTF-8: it cannot be named in a plan anyway
            if name and not _vendored(name):
                names.append(name)
        return names


def _git_dir(root: Path) -> Path | None:
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git
    if dot_git.is_file():  # worktree or submodule: "gitdir: PATH"
        text = _read_text(dot_git)
        if text.startswith("gitdir:"):
            target = Path(text[7:].strip())
            return target if target.is_absolute() else (root / target).resolve()
    return None


def _walk(root: Path) -> list[str]:
    """Every file under `root` that `.gitignore` (at the root) does not exclude."""
    import pathspec  # only a repository without git pays for the import

    ignore_file = root / ".gitignore"
    lines = _read_text(ignore_file).splitlines() if ignore_file.is_file() else []
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    names: list[str] = []
    for directory, folders, files in os.walk(root, followlinks=False):
        relative = os.path.relpath(directory, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        folders[:] = sorted(
            f for f in folders if f not in VENDORED and not spec.match_file(prefix + f + "/")
        )
        for file in sorted(files):
            name = prefix + file
            if spec.match_file(name):
                continue
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                continue  # a name that is not UTF-8 arrives as surrogates
            names.append(name)
    return names


def _is_test(name: str) -> bool:
    # the substring test first: the pattern costs ten times more and rarely matches
    return ("test" in name or "spec" in name) and bool(_TEST_FILE.search(name))


def _vendored(name: str) -> bool:
    return "/" in name and bool(_VENDORED_PART.search(name))


def suffix_of(name: str) -> str:
    """`a/b.test.ts` → `.ts` (PurePosixPath.suffix, at a tenth of the cost on 50,000 names)."""
    base = name.rpartition("/")[2]
    dot = base.rfind(".")
    return base[dot:] if dot > 0 else ""


# --- building ----------------------------------------------------------------------------------


def _build(root: Path, names: list[str]) -> Repository:
    submodules = _submodules(root)
    files = sorted(n for n in names if not any(n == s or n.startswith(s + "/") for s in submodules))
    counts: dict[str, int] = {}
    sources = []
    for name in files:
        language = SOURCE_EXTENSIONS.get(suffix_of(name))
        if language and not _is_test(name):
            counts[language] = counts.get(language, 0) + 1
            sources.append(name)
    symbols: dict[str, tuple[str, ...]] = {}
    skipped = 0
    for name in sources[:MAX_INDEXED]:
        head = _head(root / name)
        if head is None:
            skipped += 1
            continue
        found = dict.fromkeys(_DEFINITION.findall(head) + _GO_TYPE.findall(head))
        symbols[name] = tuple(found)[:80]
    manifests = tuple(m for m in (_manifest(root, n) for n in files if _is_manifest(n)) if m)
    commands = _commands(manifests)
    steering = tuple(
        n for n in files if n in STEERING or (n.startswith(".kiro/steering/") and n.endswith(".md"))
    )
    specs = tuple(n for n in files if n.endswith(".md") and "/" in n and _SPEC_DOC.search(n))
    return Repository(
        root=root.resolve(),
        files=tuple(files),
        symbols=symbols,
        languages=tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
        manifests=manifests,
        commands=commands,
        steering=steering,
        specs=specs,
        skipped=skipped,
    )


def _submodules(root: Path) -> list[str]:
    text = _read_text(root / ".gitmodules")
    return re.findall(r"^\s*path\s*=\s*(.+?)\s*$", text, re.MULTILINE)


def _head(path: Path) -> str | None:
    """The first bytes of a regular, small, text file; None for anything else."""
    try:
        if path.is_symlink() and not path.exists():
            return None
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        with path.open("rb") as handle:
            data = handle.read(HEAD_BYTES)
    except OSError:
        return None
    if b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace")


def _read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    try:
        if not path.is_file() or path.stat().st_size > limit:
            return ""
        return path.read_text("utf-8", errors="replace")
    except OSError:
        return ""


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()[:20]


# --- manifests ---------------------------------------------------------------------------------

_MANIFEST_NAMES = frozenset(
    {"pyproject.toml", "package.json", "go.mod", "Cargo.toml", "pom.xml", "build.gradle",
     "build.gradle.kts", "Gemfile", "Makefile", "setup.py", "requirements.txt"}
)  # fmt: skip
_FRAMEWORKS = {
    # dependency name → framework label
    "django": "Django", "fastapi": "FastAPI", "flask": "Flask", "pydantic": "Pydantic",
    "celery": "Celery", "temporalio": "Temporal", "sqlalchemy": "SQLAlchemy", "alembic": "Alembic",
    "typer": "Typer", "click": "Click", "langchain": "LangChain",
    "react": "React", "next": "Next.js", "vue": "Vue", "svelte": "Svelte", "express": "Express",
    "@nestjs/core": "NestJS", "@modelcontextprotocol/sdk": "MCP SDK", "neo4j-driver": "Neo4j",
    "tailwindcss": "Tailwind CSS", "@tanstack/react-query": "TanStack Query",
    "github.com/gin-gonic/gin": "Gin", "github.com/labstack/echo/v4": "Echo",
    "k8s.io/client-go": "Kubernetes client-go", "github.com/spf13/cobra": "Cobra",
    "actix-web": "Actix Web", "tokio": "Tokio", "axum": "Axum", "rails": "Rails",
    "spring-boot-starter": "Spring Boot",
}  # fmt: skip
_TEST_RUNNERS = (
    # (dependency, runner label, command)
    ("vitest", "Vitest", "npx vitest run"), ("jest", "Jest", "npx jest"),
    ("mocha", "Mocha", "npx mocha"), ("@playwright/test", "Playwright", "npx playwright test"),
    ("pytest", "pytest", "python -m pytest"),
    ("github.com/onsi/ginkgo/v2", "Ginkgo", "ginkgo ./..."),
    ("github.com/onsi/ginkgo", "Ginkgo", "ginkgo ./..."), ("rspec", "RSpec", "bundle exec rspec"),
)  # fmt: skip


def _is_manifest(name: str) -> bool:
    base = name.rpartition("/")[2]
    if not (base in _MANIFEST_NAMES or (base.endswith(".asd") and "/" not in name)):
        return False
    return name.count("/") <= 4 and not _vendored(name)


def _manifest(root: Path, name: str) -> Manifest | None:
    text = _read_text(root / name)
    if not text:
        return None
    base = PurePosixPath(name).name
    folder = str(PurePosixPath(name).parent)
    try:
        if base == "pyproject.toml":
            return _pyproject(name, folder, root, text)
        if base == "package.json":
            return _package_json(name, folder, root, text)
        if base == "Makefile":
            return _makefile(name, folder, text)
    except (ValueError, TypeError, AttributeError, tomllib.TOMLDecodeError):
        return None  # a manifest we cannot parse says nothing; it is never fatal
    if base == "go.mod":
        deps = tuple(re.findall(r"^\s*(?:require\s+)?([\w.\-]+\.\w+/[\w./\-]+)\s+v", text, re.M))
        runner = next((r for r in _TEST_RUNNERS if r[0] in deps), None)
        label, command = (runner[1], runner[2]) if runner else ("go test", "go test ./...")
        return _made(name, "Go", deps, label, [(command, "test", "go.mod")], folder)
    if base == "Cargo.toml":
        deps = tuple(re.findall(r"^([\w-]+)\s*=", text.split("[dependencies]", 1)[-1], re.M))
        return _made(
            name, "Rust", deps, "cargo test", [("cargo test", "test", "Cargo.toml")], folder
        )
    if base == "pom.xml":
        deps = tuple(re.findall(r"<artifactId>([^<]+)</artifactId>", text))
        return _made(name, "Java", deps, "JUnit", [("mvn test", "test", "pom.xml")], folder)
    if base.startswith("build.gradle"):
        return _made(name, "Java", (), "JUnit", [("./gradlew test", "test", base)], folder)
    if base == "Gemfile":
        deps = tuple(re.findall(r"""^\s*gem\s+['"]([\w-]+)""", text, re.M))
        ruby_runner = "RSpec" if "rspec" in deps else "Minitest"
        command = "bundle exec rspec" if "rspec" in deps else "bundle exec rake test"
        return _made(name, "Ruby", deps, ruby_runner, [(command, "test", "Gemfile")], folder)
    if base.endswith(".asd"):
        deps = tuple(re.findall(r'"([\w-]+)"', text))[:60]
        return _made(name, "Common Lisp", deps, "Rove" if "rove" in deps else None, [], folder)
    if base in ("requirements.txt", "setup.py"):
        deps = tuple(re.findall(r"^([A-Za-z][\w.\-]*)", text, re.M)) if base != "setup.py" else ()
        return _made(name, "Python", deps, "pytest" if "pytest" in deps else None, [], folder)
    return None


def _made(
    name: str,
    language: str,
    deps: tuple[str, ...],
    runner: str | None,
    commands: list[tuple[str, str, str]],
    folder: str,
) -> Manifest:
    lowered = tuple(d.lower() for d in deps)
    frameworks = tuple(dict.fromkeys(_FRAMEWORKS[d] for d in lowered if d in _FRAMEWORKS))
    return Manifest(
        path=name,
        language=language,
        frameworks=frameworks,
        test_runner=runner,
        dependencies=lowered,
        commands=tuple(
            Command(command=_in(folder, c), purpose=p, manifest=name, source=f"{name} ({s})")  # type: ignore[arg-type]
            for c, p, s in commands
        ),
    )


def _in(folder: str, command: str) -> str:
    return command if folder == "." else f"cd {folder} && {command}"


def _dep_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;@(]", requirement.strip(), maxsplit=1)[0].lower()


def _pyproject(name: str, folder: str, root: Path, text: str) -> Manifest:
    data = tomllib.loads(text)
    project = data.get("project", {})
    deps = [_dep_name(d) for d in project.get("dependencies", [])]
    for extra in project.get("optional-dependencies", {}).values():
        deps += [_dep_name(d) for d in extra]
    for group in data.get("dependency-groups", {}).values():
        deps += [_dep_name(d) for d in group if isinstance(d, str)]
    poetry = data.get("tool", {}).get("poetry", {})
    deps += [d.lower() for d in poetry.get("dependencies", {})]
    for group in poetry.get("group", {}).values():
        deps += [d.lower() for d in group.get("dependencies", {})]
    deps += [d.lower() for d in poetry.get("dev-dependencies", {})]
    base = (root / folder) if folder != "." else root
    runner = "uv run " if (base / "uv.lock").is_file() else ""
    runner = "poetry run " if (base / "poetry.lock").is_file() else runner
    commands: list[tuple[str, str, str]] = []
    has_pytest = "pytest" in deps or "pytest" in data.get("tool", {})
    if has_pytest:
        commands.append((f"{runner}pytest" if runner else "python -m pytest", "test", "pytest"))
    if "ruff" in deps or "ruff" in data.get("tool", {}):
        commands.append((f"{runner}ruff check .", "lint", "ruff"))
    if "mypy" in deps or "mypy" in data.get("tool", {}):
        commands.append((f"{runner}mypy .", "lint", "mypy"))
    return _made(name, "Python", tuple(deps), "pytest" if has_pytest else None, commands, folder)


def _package_json(name: str, folder: str, root: Path, text: str) -> Manifest:
    data = json.loads(text)
    deps = [*data.get("dependencies", {}), *data.get("devDependencies", {})]
    scripts: dict[str, str] = {  # npm init's placeholder test script runs nothing
        k: v
        for k, v in data.get("scripts", {}).items()
        if isinstance(v, str) and "no test specified" not in v
    }
    base = (root / folder) if folder != "." else root
    tool = "npm"
    if (base / "pnpm-lock.yaml").is_file():
        tool = "pnpm"
    elif (base / "yarn.lock").is_file():
        tool = "yarn"
    lowered = [d.lower() for d in deps]
    runner = next((r for r in _TEST_RUNNERS if r[0] in lowered), None)
    test_script = scripts.get("test", "")
    if runner is None or (test_script and runner[0] not in test_script):
        runner = next((r for r in _TEST_RUNNERS if r[0] in test_script), runner)
    commands: list[tuple[str, str, str]] = []
    for script, purpose in (("test", "test"), ("lint", "lint"), ("typecheck", "lint"),
                            ("build", "build"), ("dev", "run")):  # fmt: skip
        if script in scripts:
            run = f"{tool} test" if script == "test" and tool != "yarn" else f"{tool} run {script}"
            commands.append((run, purpose, f"scripts.{script}: {scripts[script][:60]}"))
    if runner is not None and "test" not in scripts:
        commands.append((runner[2], "test", runner[1]))
    language = (
        "TypeScript"
        if "typescript" in lowered or (base / "tsconfig.json").is_file()
        else ("JavaScript")
    )
    return _made(name, language, tuple(deps), runner[1] if runner else None, commands, folder)


def _makefile(name: str, folder: str, text: str) -> Manifest:
    targets = dict.fromkeys(_MAKE_TARGET.findall(text))
    commands: list[tuple[str, str, str]] = []
    for target in targets:
        purpose = {"test": "test", "tests": "test", "check": "test", "lint": "lint",
                   "build": "build", "run": "run"}.get(target)  # fmt: skip
        if purpose:
            commands.append((f"make {target}", purpose, f"target {target}"))
    return _made(name, "Make", (), None, commands, folder)


def _commands(manifests: tuple[Manifest, ...]) -> tuple[Command, ...]:
    ordered = sorted(manifests, key=lambda m: (m.path.count("/"), m.path))
    seen: dict[str, Command] = {}
    for manifest in ordered:
        for command in manifest.commands:
            seen.setdefault(command.command, command)
    return tuple(seen.values())
