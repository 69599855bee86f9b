"""Relevance: which existing files a spec's requirements most likely change, and why.

Three kinds of evidence, strongest first:

1. the spec names the file (`src/storage/Neo4jJobStore.ts`, or just `Neo4jJobStore.ts`);
2. the spec names an identifier in backticks (`ExportJob`, `post_merge_jira`) that a file
   defines or is named after;
3. BM25 (the kept `bm25s` library) between each requirement's words and each file's path
   words and defined symbols.

Every candidate carries its evidence (which words matched where) and the requirement IDs it
serves, so the plan can say why it names a file and a reader can judge it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

from drafter.core.files import write_atomic
from drafter.inputs.repository import CONFIG_EXTENSIONS, SOURCE_EXTENSIONS, Repository
from drafter.inputs.spec import Spec

TOP_PER_REQUIREMENT = 3  # a requirement cites the files ranked this high for it
_STOP = frozenset(
    (
        "a an the to of for and or in on with by from as at is are be been being it its this "
        "that these those all any each every when while where if then which who into than so "
        "such via per not no can may will would could also only must shall should new existing "
        "their there them they our your we us i when after before within without between "
        "src lib app index main test tests spec specs util utils internal pkg cmd core common "
        "ts tsx js py go rs md json yaml yml toml system user users provide provides support "
        "supports allow allows enable enables ensure ensures use uses using able feature data "
        "given then way one two same other more most each any value values true false"
    ).split()
)
_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|\d+")
_LOWER_WORD = re.compile(r"[a-z][a-z0-9]*")
_BACKTICK = re.compile(r"`([^`\n]{2,80})`")
_IDENTIFIER = re.compile(r"[A-Za-z_][\w]*(?:[.:/-][A-Za-z_][\w]*)*")


def tokens(text: str) -> list[str]:
    """Lower-cased words of prose, paths and identifiers (camelCase, snake_case, kebab split)."""
    result = []
    for word in _WORD.findall(text):
        lowered = word.lower()
        if len(lowered) < 3 or lowered in _STOP or lowered.isdigit():
            continue
        if len(lowered) > 4 and lowered.endswith("s") and not lowered.endswith("ss"):
            lowered = lowered[:-1]  # plural → singular: "jobs" finds JobStore
        result.append(lowered)
    return result


@dataclass
class Candidate:
    """An existing file the feature most likely changes."""

    path: str
    score: float
    strong: bool  # named by the spec, or defines an identifier the spec names
    registry: bool = False  # names the feature's siblings together (kept past the limit)
    # "backend/handlers/{}_auth.go" when the file is one of a family of files shaped alike:
    # a new member of the family is a new file of that shape
    shape: str | None = None
    requirement_ids: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)


def _rankable(path: str, repository: Repository, spec_folder: str) -> bool:
    if spec_folder and path.startswith(spec_folder + "/"):
        return False
    if any(part.startswith(".") for part in path.split("/")[:-1]):
        return False  # tool scaffolding (.specify/, .github/): not where a feature lives
    suffix = PurePosixPath(path).suffix
    if suffix in SOURCE_EXTENSIONS:
        return not repository.is_test(path)
    return suffix in CONFIG_EXTENSIONS and path.count("/") <= 3 and "lock" not in path


RANK_VERSION = "1"  # bump when the ranking changes, so cached rankings are not reused


def rank(spec: Spec, repository: Repository, spec_text: str, limit: int = 10) -> list[Candidate]:
    """The existing files the spec most likely changes, best first, at most `limit` weak ones.

    Cached beside the repository context, keyed by the repository state and the spec text, so
    a re-run neither imports the ranking library nor reads a file."""
    cache_file = None
    if repository.cache_dir is not None and repository.key:
        digest = hashlib.sha256(
            "\0".join([RANK_VERSION, repository.key, str(spec.path), str(limit), spec_text]).encode(
                "utf-8", "surrogateescape"
            )
        ).hexdigest()[:20]
        cache_file = repository.cache_dir / "repo" / f"rank-{digest}.json"
        with contextlib.suppress(OSError, ValueError, TypeError):
            return [Candidate(**entry) for entry in json.loads(cache_file.read_bytes())]
    ranked = _rank(spec, repository, spec_text, limit)
    if cache_file is not None:
        with contextlib.suppress(OSError):
            write_atomic(cache_file, json.dumps([asdict(c) for c in ranked]))
    return ranked


def _rank(spec: Spec, repository: Repository, spec_text: str, limit: int) -> list[Candidate]:
    spec_folder = _relative_folder(spec, repository)
    documents = [f for f in repository.files if _rankable(f, repository, spec_folder)]
    found: dict[str, Candidate] = {}
    for path, evidence in _named(spec, repository):
        found[path] = Candidate(path=path, score=100.0, strong=True, evidence=[evidence])
    for path, evidence in _identified(spec_text, repository, documents):
        candidate = found.setdefault(path, Candidate(path=path, score=50.0, strong=True))
        candidate.evidence.append(evidence)
    if documents:
        related = _bm25(spec, repository, documents, found)
        _registries(spec, repository, related, found)
        _only_code(repository, documents, found)
    for candidate in found.values():
        if candidate.strong and not candidate.requirement_ids:
            candidate.requirement_ids = _citing(spec, candidate.path)
    ordered = sorted(found.values(), key=lambda c: (-c.strong, -c.score, c.path))
    strong = [c for c in ordered if c.strong]
    registries = [c for c in ordered if c.registry and not c.strong]
    weak = [c for c in ordered if not c.strong and not c.registry]
    return strong + registries + weak[: max(0, limit - len(strong) // 2)]


def _relative_folder(spec: Spec, repository: Repository) -> str:
    try:
        return spec.path.resolve().parent.relative_to(repository.root).as_posix()
    except ValueError:
        return ""


def _named(spec: Spec, repository: Repository) -> list[tuple[str, str]]:
    """Spec-named paths that exist, resolved by their tail when the spec shortens them."""
    by_tail: dict[str, list[str]] = {}
    for name in repository.files:
        by_tail.setdefault(PurePosixPath(name).name, []).append(name)
    result = []
    for named in spec.named_paths:
        clean = named.strip("./")
        if repository.exists(clean):
            result.append((clean, f"the spec names `{named}`"))
            continue
        matches = [m for m in by_tail.get(PurePosixPath(clean).name, []) if m.endswith(clean)]
        if len(matches) == 1:
            result.append((matches[0], f"the spec names `{named}`"))
    return result


def _identified(
    spec_text: str, repository: Repository, documents: list[str]
) -> list[tuple[str, str]]:
    """Files that define, or are named after, an identifier the spec puts in backticks."""
    names: dict[str, None] = {}
    for quoted in _BACKTICK.findall(spec_text):
        for identifier in _IDENTIFIER.findall(quoted):
            last = re.split(r"[.:/]", identifier)[-1]
            if len(last) >= 4 and ("_" in last or re.search(r"[a-z][A-Z]|^[A-Z][a-z]", last)):
                names.setdefault(last, None)
    if not names:
        return []
    by_stem: dict[str, list[str]] = {}
    for path in documents:
        by_stem.setdefault(PurePosixPath(path).stem.lower(), []).append(path)
    definers: dict[str, list[str]] = {}
    for path in documents:
        for symbol in repository.symbols.get(path, ()):
            if symbol in names:
                definers.setdefault(symbol, []).append(path)
    result: list[tuple[str, str]] = []
    for name in names:
        stem_hits = list(
            dict.fromkeys(by_stem.get(name.lower(), []) + by_stem.get(_snake(name), []))
        )
        if len(stem_hits) <= 3:
            result.extend((path, f"named after `{name}` in the spec") for path in stem_hits)
        hits = definers.get(name, [])
        if 1 <= len(hits) <= 3:  # a name defined everywhere says nothing about where to change
            result.extend((path, f"defines `{name}`, which the spec names") for path in hits)
    return result


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _document_tokens(path: str, repository: Repository) -> list[str]:
    pure = PurePosixPath(path)
    folder_words = tokens(str(pure.parent))
    stem_words = tokens(pure.stem)
    symbol_words = [w for s in repository.symbols.get(path, ())[:40] for w in tokens(s)]
    return folder_words + stem_words * 3 + symbol_words


def _bm25(
    spec: Spec,
    repository: Repository,
    documents: list[str],
    found: dict[str, Candidate],
) -> list[str]:
    """Adds the best-ranked files per requirement to `found`; returns the SCANNED files most
    related to the spec as a whole, and the shallow config files (where registries live)."""
    import bm25s  # numpy-backed; imported only when a repository is in play

    corpus = [_document_tokens(path, repository) or ["_"] for path in documents]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    vocabulary = set(retriever.vocab_dict) if hasattr(retriever, "vocab_dict") else None
    queries: list[tuple[str | None, list[str]]] = [
        (r.id, tokens(r.text)) for r in spec.requirements if r.kind != "success"
    ]
    queries.append((None, tokens(f"{spec.title} {spec.summary} {spec.title}")))
    totals: dict[int, float] = {}
    cited: dict[int, list[str]] = {}
    overall = None
    for requirement_id, query in queries:
        if vocabulary is not None:
            query = [w for w in query if w in vocabulary]
        if not query:
            continue
        scores = retriever.get_scores(query)
        best = float(scores.max())
        if best <= 0:
            continue
        overall = scores / best if overall is None else overall + scores / best
        top = scores.argsort()[::-1][: TOP_PER_REQUIREMENT * 3]
        for rank_index, index in enumerate(int(i) for i in top):
            share = float(scores[index]) / best
            if share < 0.5:
                break
            totals[index] = totals.get(index, 0.0) + share
            if requirement_id is not None and rank_index < TOP_PER_REQUIREMENT:
                cited.setdefault(index, []).append(requirement_id)
    weakest = 1.0 if len(queries) > 2 else 0.5
    for index, total in totals.items():
        if total < weakest and index not in cited:
            continue
        path = documents[index]
        words = set(_document_tokens(path, repository))
        matched = sorted(
            {w for rid in cited.get(index, []) for w in tokens(_text(spec, rid))} & words
        ) or sorted(set(tokens(f"{spec.title} {spec.summary}")) & words)
        candidate = found.setdefault(path, Candidate(path=path, score=total, strong=False))
        candidate.requirement_ids = list(
            dict.fromkeys(candidate.requirement_ids + cited.get(index, []))
        )
        if matched:
            candidate.evidence.append(_where(path, matched, repository))
        if candidate.strong:
            continue
        candidate.score = total
    configs = [d for d in documents if PurePosixPath(d).suffix not in SOURCE_EXTENSIONS]
    if overall is None:
        return configs
    ranked = [documents[int(i)] for i in overall.argsort()[::-1][:SCANNED] if overall[int(i)] > 0]
    return list(dict.fromkeys(ranked + configs))


FAMILY_SIZE = 8  # top-ranked files whose distinctive names make up the feature family
MAX_REGISTRIES = 5
MENTION_BYTES = 32 * 1024
SCANNED = 200  # files read for registries: those most related to the spec, and configs


def _registries(
    spec: Spec, repository: Repository, related: list[str], found: dict[str, Candidate]
) -> None:
    """Files that name several members of the feature's family together: a new member is
    registered there too (`lem.asd` lists every `*-mode`, `routes.go` every integration).

    The family is the distinctive words in the names of the best-ranked files that the spec
    does not use itself (`coderabbit` in `coderabbit_auth.go` when the spec is about a new
    Gerrit auth) and that more than one file is named after."""
    spec_words = set(
        tokens(" ".join([spec.title, spec.summary, *(r.text for r in spec.requirements)]))
    )
    ranked = sorted((c for c in found.values() if not c.strong), key=lambda c: -c.score)
    family: list[str] = []
    for candidate in ranked[:FAMILY_SIZE]:
        members = _siblings(candidate.path, repository)
        for word in members:
            if word not in spec_words and word not in family:
                family.append(word)
        if members:
            candidate.shape = _shape(candidate.path)
    if len(family) < 3:
        return
    mentions = _mentions(repository, family, related)
    ranked_registries = sorted(
        ((path, words) for path, words in mentions.items() if len(words) >= 2),
        key=lambda item: (-len(item[1]), item[0]),
    )
    for path, words in ranked_registries[:MAX_REGISTRIES]:
        candidate = found.setdefault(path, Candidate(path=path, score=0.0, strong=False))
        candidate.registry = True
        named = ", ".join(f"`{w}`" for w in sorted(words)[:4])
        candidate.evidence.append(f"it names {named} together: the new one joins them here")


def _siblings(path: str, repository: Repository) -> list[str]:
    """The names that vary among things shaped like `path` or its folder, beside them: for
    `handlers/coderabbit_auth.go` the X of every `handlers/X_auth.go`; for
    `extensions/scheme-mode/syntax.lisp` the X of every `extensions/X-mode/`. Fewer than
    three such names make no family."""
    pure = PurePosixPath(path)
    shapes = [(pure.parent, pure.stem, False)]
    if pure.parent.name:
        shapes.append((pure.parent.parent, pure.parent.name, True))
    family: list[str] = []
    for base, name, is_folder in shapes:
        words = tokens(name)
        if len(words) < 2:
            continue
        names = {
            other[0]
            for other in (tokens(n) for n in _entries(repository, str(base), is_folder))
            if len(other) >= 2 and other[-1] == words[-1]
        }
        if len(names) >= 3:
            family += sorted(names)
    return family


def _shape(path: str) -> str | None:
    """`handlers/coderabbit_auth.go` → `handlers/{}_auth.go` (None for a folder-named file:
    a new member there needs a new folder)."""
    pure = PurePosixPath(path)
    words = tokens(pure.stem)
    if pure.parent.name == pure.stem or not words or not pure.stem.lower().startswith(words[0]):
        return None
    rest = pure.stem[len(words[0]) :]
    name = "{}" + rest + pure.suffix
    return name if str(pure.parent) == "." else f"{pure.parent}/{name}"


def new_name(spec: Spec, repository: Repository) -> str | None:
    """The word of the spec's title that no source file in the repository is named after: the
    new thing the feature adds (`gerrit` in "Gerrit integration" beside GitHub, GitLab, Jira)."""
    known = {
        w
        for name in repository.files
        if PurePosixPath(name).suffix in SOURCE_EXTENSIONS
        for w in tokens(name)
    }
    return next((w for w in tokens(spec.title) if w not in known), None)


def _entries(repository: Repository, base: str, folders: bool) -> set[str]:
    """File stems (or sub-folder names) directly inside `base`."""
    prefix = "" if base == "." else base + "/"
    found = set()
    for name in repository.files:
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix) :].split("/")
        if folders and len(rest) > 1:
            found.add(rest[0])
        elif not folders and len(rest) == 1:
            found.add(PurePosixPath(rest[0]).stem)
    return found


def _mentions(repository: Repository, family: list[str], files: list[str]) -> dict[str, set[str]]:
    """File → which family words its text contains, from each file's first MENTION_BYTES
    (`git grep` with dozens of case-folded words takes seconds; a set of words does not)."""
    wanted = set(family)
    result: dict[str, set[str]] = {}
    for path in files:
        try:
            with (repository.root / path).open("rb") as handle:
                text = handle.read(MENTION_BYTES).decode("utf-8", errors="replace")
        except OSError:
            continue
        words = wanted.intersection(_LOWER_WORD.findall(text.lower()))
        if words:
            result[path] = words
    return result


SMALL_CODEBASE = 3  # at most this many source files: every one of them is in play


def _only_code(repository: Repository, documents: list[str], found: dict[str, Candidate]) -> None:
    """In a repository whose code is a file or three (a fresh project), the feature grows
    from those files whatever words they use."""
    sources = [d for d in documents if PurePosixPath(d).suffix in SOURCE_EXTENSIONS]
    sources = [
        d
        for d in sources
        if not any(p.startswith((".", "@")) for p in d.split("/"))
        and ".config." not in PurePosixPath(d).name  # vitest.config.ts: tooling, not code
    ]
    if not 1 <= len(sources) <= SMALL_CODEBASE:
        return
    for path in sources:
        candidate = found.setdefault(path, Candidate(path=path, score=0.5, strong=False))
        candidate.evidence.append(f"one of the {len(sources)} source files of the repository")


def _where(path: str, matched: list[str], repository: Repository) -> str:
    path_words = set(tokens(path))
    in_path = [w for w in matched if w in path_words]
    symbols = [s for s in repository.symbols.get(path, ()) if set(tokens(s)) & set(matched)][:3]
    parts = []
    if in_path:
        parts.append(f"its path has {', '.join(in_path[:5])}")
    if symbols:
        parts.append(f"it defines {', '.join(f'`{s}`' for s in symbols)}")
    return "; ".join(parts) if parts else "it shares the words " + ", ".join(matched[:5])


def _text(spec: Spec, requirement_id: str) -> str:
    requirement = spec.requirement(requirement_id)
    return requirement.text if requirement else ""


def _citing(spec: Spec, path: str) -> list[str]:
    """Requirements whose words meet the file's name (for a file the spec names outright)."""
    stem_words = set(tokens(PurePosixPath(path).stem))
    return [
        r.id for r in spec.requirements if r.kind != "success" and stem_words & set(tokens(r.text))
    ][:4]
