"""Where a plan's files go in the repository it is for, and what the repository already runs.

The offline drafter asks this module for the files to modify (ranked by `inputs.relevance`,
each with its evidence), the folder and naming a new file takes from its siblings, where a
test goes (beside its code, or mirrored under `tests/`, the way existing tests are), the stack
the manifests declare and the repository's own commands. Nothing is invented: a path is an
existing file or sits in an existing folder.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

from drafter.drafting import DraftInputs
from drafter.drafting.text import after_modal, short
from drafter.inputs import relevance
from drafter.inputs.repository import SOURCE_EXTENSIONS, Manifest, Repository
from drafter.inputs.spec import Spec
from drafter.model import plan as p

_GENERIC = frozenset({"src", "lib", "tests", "test", "unit", "integration", "e2e", "__tests__",
                      "__vitest__", "spec", "specs", "app", "pkg", "internal"})  # fmt: skip
_COMPOSE = re.compile(r"^(?:docker-)?compose(?:[.-][\w.-]+)?\.ya?ml$")
_ENV_TEMPLATE = re.compile(r"^\.env[.-](?:example|template|sample|dist)$")
_TEST_AFFIXES = re.compile(r"^test_|(?:_test|\.test|\.spec|_spec|-tests?)$")


@dataclass(frozen=True)
class TestPlace:
    path: str
    exists: bool


class Grounding:
    """The repository context plus what the spec's requirements point at in it."""

    def __init__(self, inputs: DraftInputs, repository: Repository) -> None:
        self.repository = repository
        self.spec = inputs.spec
        texts = [inputs.spec.path, *inputs.spec.extra_sources]
        spec_text = "\n".join(_read(path) for path in texts)
        self.candidates = relevance.rank(inputs.spec, repository, spec_text)

    @cached_property
    def _tests_by_stem(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name in self.repository.files:
            if self.repository.is_test(name) and PurePosixPath(name).suffix in SOURCE_EXTENSIONS:
                stem = _TEST_AFFIXES.sub("", PurePosixPath(name).stem.split(".")[0])
                found.setdefault(stem.lower(), []).append(name)
        return found

    @cached_property
    def _test_files(self) -> list[str]:
        return [n for names in self._tests_by_stem.values() for n in names]

    def modified(self, requirement_ids: set[str], first: bool) -> list[p.ModifiedFile]:
        """Candidates whose citing requirements fall in this component (uncited ones go to the
        first component), each with what changes and why the file was chosen."""
        result = []
        for candidate in self.candidates:
            cited = [i for i in candidate.requirement_ids if i in requirement_ids]
            if not cited and not (first and not self._owned(candidate)):
                continue
            changes = [
                p.FileChange(description=_change(self.spec, rid), requirement_ids=[rid])
                for rid in cited[:4]
            ] or [p.FileChange(description="apply the spec's changes here", requirement_ids=[])]
            why = "; ".join(candidate.evidence[:3]) or "ranked by relevance"
            changes.append(p.FileChange(description=f"Why this file: {why}", requirement_ids=[]))
            result.append(
                p.ModifiedFile(path=candidate.path, changes=changes, proposed=not candidate.strong)
            )
        return result

    def sibling(self) -> str | None:
        """A new member of a family of files shaped alike (`handlers/gerrit_auth.go` beside
        `handlers/jira_auth.go`), when the spec names something the repository does not have."""
        word = relevance.new_name(self.spec, self.repository)
        if word is None:
            return None
        for candidate in self.candidates:
            if candidate.shape:
                member = PurePosixPath(candidate.path).name
                name = word.capitalize() if member[:1].isupper() else word
                path = candidate.shape.format(name)
                if not self.repository.exists(path):
                    return path
        return None

    def compose_files(self) -> dict[str, str]:
        """Compose files at the top two levels → their text (services are declared there)."""
        found = {}
        for name in self.repository.files:
            base = name.rpartition("/")[2]
            if name.count("/") <= 1 and _COMPOSE.match(base):
                found[name] = _read(self.repository.root / name)
        return found

    def env_template(self) -> str | None:
        """The committed example of the environment settings (`.env.example`, `.env-template`)."""
        return next((n for n in self.repository.files if _ENV_TEMPLATE.match(n)), None)

    def language(self) -> str | None:
        """The language of the best-ranked source file, else the repository's main one."""
        for candidate in self.candidates:
            language = SOURCE_EXTENSIONS.get(PurePosixPath(candidate.path).suffix)
            if language:
                return "TypeScript" if language == "JavaScript" else language
        return self.repository.language

    def _owned(self, candidate: relevance.Candidate) -> bool:
        known = {r.id for r in self.spec.requirements}
        return any(i in known for i in candidate.requirement_ids)

    def folder_for(self, requirement_ids: set[str]) -> str:
        """The existing folder new code for these requirements joins: the folder of the best
        source file they point at, else where most of the main language's code lives."""
        for candidate in self.candidates:
            suffix = PurePosixPath(candidate.path).suffix
            if suffix in SOURCE_EXTENSIONS and set(candidate.requirement_ids) & requirement_ids:
                return str(PurePosixPath(candidate.path).parent)
        for candidate in self.candidates:
            if PurePosixPath(candidate.path).suffix in SOURCE_EXTENSIONS:
                return str(PurePosixPath(candidate.path).parent)
        return self._main_folder

    @cached_property
    def _main_folder(self) -> str:
        language = self.repository.language
        folders = Counter(
            {
                folder: sum(
                    SOURCE_EXTENSIONS.get(PurePosixPath(n).suffix) == language for n in names
                )
                for folder, names in self._code_by_folder.items()
            }
        )
        return folders.most_common(1)[0][0] if folders else "."

    def new_file(self, folder: str, name_words: list[str]) -> str:
        """A path in `folder` named the way its siblings are (snake, kebab, Pascal, camel)."""
        siblings = [PurePosixPath(n) for n in self._code_by_folder.get(folder, [])]
        suffix = Counter(s.suffix for s in siblings).most_common(1)
        extension = suffix[0][0] if suffix else _default_extension(self.repository)
        stem = _styled(name_words[:4] or ["feature"], [s.stem for s in siblings])
        path = f"{stem}{extension}" if folder == "." else f"{folder}/{stem}{extension}"
        return path

    @cached_property
    def _code_by_folder(self) -> dict[str, list[str]]:
        """Folder → the source files directly in it (tests left out)."""
        found: dict[str, list[str]] = {}
        for name in self.repository.files:
            folder, _, base = name.rpartition("/")
            if PurePosixPath(base).suffix in SOURCE_EXTENSIONS and not self.repository.is_test(
                name
            ):
                found.setdefault(folder or ".", []).append(name)
        return found

    @cached_property
    def _tests_by_kind(self) -> dict[str, list[tuple[str, frozenset[str]]]]:
        found: dict[str, list[tuple[str, frozenset[str]]]] = {}
        for name in self._test_files:
            found.setdefault(_kind(name), []).append((name, frozenset(name.split("/")[:-1])))
        return found

    def test_for(self, source: str) -> TestPlace:
        """The existing test of `source` (`test_x.py`, `x.test.ts`, `x_test.go`, or one named
        `test_x_more.py`), else where the repository would keep a new one: the test folder
        that shares most folder names with the source, named like the tests there."""
        return self.tests_for(source)[0]

    def tests_for(self, source: str, most: int = 1) -> list[TestPlace]:
        pure = PurePosixPath(source)
        source_parts = set(pure.parent.parts) - _GENERIC
        stem = pure.stem.lower()
        same_stem = list(self._tests_by_stem.get(stem, []))
        if len(stem) >= 6:  # test_merge_automation_temporal.py tests merge_automation.py
            same_stem += [
                t for key, tests in self._tests_by_stem.items()
                if key.startswith(stem + "_") for t in tests
            ]  # fmt: skip
        same_kind = [t for t in same_stem if _kind(t) == _kind(source)]
        if same_kind:
            ordered = sorted(same_kind, key=lambda t: (-_shared(t, source_parts), len(t), t))
            return [TestPlace(t, True) for t in ordered[:most]]
        tests = self._tests_by_kind.get(_kind(source), [])
        if not tests:
            return [TestPlace(_sibling_test(pure), False)]
        best = max(tests, key=lambda t: (len(t[1] & source_parts), -len(t[1]), t[0]))[0]
        return [TestPlace(_named_like(best, pure), False)]

    def stack(self) -> list[p.StackRow]:
        rows = []
        for manifest in self._relevant_manifests():
            where = f"declared in {manifest.path}"
            rows.append(
                p.StackRow(
                    component="Implementation language",
                    technology=manifest.language,
                    justification=where,
                )
            )
            rows += [
                p.StackRow(component="Framework", technology=f, justification=where)
                for f in manifest.frameworks[:6]
            ]
            if manifest.test_runner:
                rows.append(
                    p.StackRow(
                        component="Test framework",
                        technology=manifest.test_runner,
                        justification=where,
                    )
                )
        if not rows and self.repository.language:
            count = dict(self.repository.languages)[self.repository.language]
            rows.append(
                p.StackRow(
                    component="Implementation language",
                    technology=self.repository.language,
                    justification=f"{count} source files in the repository (no manifest read)",
                )
            )
        return rows

    def _relevant_manifests(self) -> list[Manifest]:
        """Manifests over the files the plan touches (a monorepo has many); the root ones else."""
        chosen: dict[str, Manifest] = {}
        sources = [c for c in self.candidates if PurePosixPath(c.path).suffix in SOURCE_EXTENSIONS]
        for candidate in sources[:6]:
            manifest = self.repository.manifest_for(candidate.path)
            if manifest is not None and manifest.language != "Make":
                chosen.setdefault(manifest.path, manifest)
        if not chosen:
            for manifest in self.repository.manifests:
                if "/" not in manifest.path and manifest.language != "Make":
                    chosen.setdefault(manifest.path, manifest)
        return list(chosen.values())[:3]

    def commands(self) -> list[p.VerificationCommand]:
        """The repository's own commands for the manifests in play, tests first."""
        manifests = {m.path for m in self._relevant_manifests()}
        chosen = [
            c
            for c in self.repository.commands
            if c.purpose in ("test", "lint")
            and (c.manifest in manifests or c.manifest == "Makefile")
        ]
        chosen.sort(key=lambda c: c.purpose != "test")
        return [
            p.VerificationCommand(
                comment=f"{c.purpose.capitalize()} ({c.source})", command=c.command
            )
            for c in chosen[:5]
        ]


def ground(inputs: DraftInputs) -> Grounding | None:
    return Grounding(inputs, inputs.repository) if inputs.repository is not None else None


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8", errors="replace")
    except OSError:
        return ""


def _change(spec: Spec, requirement_id: str) -> str:
    requirement = spec.requirement(requirement_id)
    return short(after_modal(requirement.text), 100) if requirement else requirement_id


def _kind(path: str) -> str:
    suffix = PurePosixPath(path).suffix
    return {".tsx": ".ts", ".jsx": ".js", ".mjs": ".js"}.get(suffix, suffix)


def _shared(test: str, source_parts: set[str]) -> int:
    return len(set(PurePosixPath(test).parent.parts) & source_parts)


def _named_like(example: str, source: PurePosixPath) -> str:
    """A test for `source` in `example`'s folder, named the way `example` is named."""
    example_path = PurePosixPath(example)
    name = example_path.name
    folder = str(example_path.parent)
    stem = source.stem
    if name.startswith("test_"):
        new = f"test_{stem}{example_path.suffix}"
    else:
        match = re.search(r"(_test|\.test|\.spec|_spec|-tests?)(\.\w+)+$", name)
        new = f"{stem}{match.group(0)}" if match else f"test_{stem}{example_path.suffix}"
    return f"{folder}/{new}" if folder != "." else new


def _sibling_test(source: PurePosixPath) -> str:
    test_name = {
        ".py": f"test_{source.stem}.py", ".go": f"{source.stem}_test.go",
        ".ts": f"{source.stem}.test.ts", ".tsx": f"{source.stem}.test.tsx",
        ".js": f"{source.stem}.test.js",
    }.get(source.suffix, f"{source.stem}-tests{source.suffix}")  # fmt: skip
    folder = str(source.parent)
    return test_name if folder == "." else f"{folder}/{test_name}"


def _default_extension(repository: Repository) -> str:
    language = repository.language
    return next((e for e, name in SOURCE_EXTENSIONS.items() if name == language), ".py")


def _styled(name_words: list[str], sibling_stems: list[str]) -> str:
    votes = Counter(_style_of(stem) for stem in sibling_stems if _style_of(stem))
    style = votes.most_common(1)[0][0] if votes else "snake"
    if style == "kebab":
        return "-".join(name_words)
    if style == "pascal":
        return "".join(w.capitalize() for w in name_words)
    if style == "camel":
        return name_words[0] + "".join(w.capitalize() for w in name_words[1:])
    return "_".join(name_words)


def _style_of(stem: str) -> str | None:
    if "_" in stem:
        return "snake"
    if "-" in stem:
        return "kebab"
    if re.match(r"^[A-Z][a-z0-9]+[A-Z]", stem):
        return "pascal"
    if re.match(r"^[a-z][a-z0-9]*[A-Z]", stem):
        return "camel"
    return None
