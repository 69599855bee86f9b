"""Small text helpers of the spec parser: inline markdown, IDs, headings, paths, language."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from drafter.inputs.spec import words
from drafter.inputs.spec.model import EarsKind

# A requirement ID: upper-case segments joined by hyphens, at least one hyphen (FR-001,
# DOC-REQ-EXT-ADAPT, DESIGN-REQ-001), or a well-known prefix run into its number (FR1, NFR2);
# optionally dotted (FR-001.2, FR-2.1.1), optionally one lower-case letter for an ID inserted
# later (FR-010a).
ID = (
    r"(?:[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+|(?:FR|NFR|SC|SR|AC|REQ|BR|UR|QR)\d+)"
    r"(?:\.\d+)*(?:[a-z](?![a-z]))?"
)
_OPEN, _CLOSE = r"[(（]", r"[)）]"
_NOTE = rf"{_OPEN}([^)）]*){_CLOSE}"
# `**FR-001**: …`, `**FR-002:** …`, `**SC-006 (deferred)**: …`, `**FR-063** *(was FR-010a)*：…`
BOLD_ID = re.compile(
    rf"^(\*\*|__)\[?({ID})\]?\s*(?:{_NOTE})?\s*[:：]?\1\s*(?:\*?{_NOTE}\*?)?\s*[:：.—–-]?\s*(\S.*)$",
    re.S,
)
# `FR-003: …`, `` `FR-003` — … ``, `FR-003：…`
PLAIN_ID = re.compile(rf"^`?\[?({ID})\]?`?\s*(?:{_NOTE})?\s*(?:[:—–]\s+|：\s*)(\S.*)$", re.S)
ID_ANYWHERE = re.compile(rf"\b{ID}\b")
# Status marks and emoji written before a criterion or requirement (`✅ 1.2 …`, `[x] FR-001`).
LEAD_MARKS = re.compile(
    r"^(?:\[[ xX✓✔]\]\s*|[\u2190-\u21ff\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff"
    r"\ufe0f\u200d]+\s*)+"
)

_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVXLC]+\.|[A-Z]\.)\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=。)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
_LINK_TARGET = re.compile(r"\]\(([^)\s]+)")
_PATH = re.compile(r"(?:\./)?((?:[\w@+-][\w@.+-]*/)+[\w@+-][\w@.+-]*\.[A-Za-z0-9]{1,10})")
_BARE_PATH = re.compile(r"(?<![\w/:.@-])" + _PATH.pattern + r"(?![\w/])")
# Chinese and Japanese write no spaces between words: a soft line break inside a sentence
# joins without one (Korean spaces its words, so Hangul is not in this class).
_CJK = r"\u2e80-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t]*\r?\n[ \t]*(?=[{_CJK}])")
_EARS_OPENERS: dict[str, EarsKind] = {
    "when": "when",
    "if": "if",
    "while": "while",
    "where": "where",
}

# What the nearest heading says the blocks under it are.
Context = Literal[
    "other",
    "story",
    "scenarios",
    "criteria",
    "requirements",
    "nfr",
    "success",
    "edge",
    "entities",
    "assumptions",
    "intro",
    "why",
    "impact",
    "delta",
    "oreq",
    "oscenario",
]


def _fragments(fragments: Iterable[str]) -> re.Pattern[str]:
    # Latin words match from a word start ("entity" not in "identity"); CJK words have no
    # spaces around them, so they match anywhere ("機能要件").
    longest_first = sorted(fragments, key=len, reverse=True)
    return re.compile(
        "|".join((r"\b" if f.isascii() else "") + re.escape(f) for f in longest_first)
    )


_SECTIONS: tuple[tuple[Context, re.Pattern[str]], ...] = tuple(
    (context, _fragments(fragments))  # type: ignore[misc]
    for context, fragments in words.SECTION_WORDS
)
_DOCUMENT_TYPES = _fragments(words.DOCUMENT_TYPES)

# Letters of these scripts count as non-Latin; the first match names the language.
_SCRIPTS: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("ja", ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))),
    ("ko", ((0xAC00, 0xD7AF), (0x1100, 0x11FF), (0x3130, 0x318F))),
    ("zh", ((0x4E00, 0x9FFF), (0x3400, 0x4DBF))),
    ("ru", ((0x0400, 0x04FF),)),
    ("el", ((0x0370, 0x03FF),)),
    ("he", ((0x0590, 0x05FF),)),
    ("ar", ((0x0600, 0x06FF),)),
    ("hi", ((0x0900, 0x097F),)),
    ("th", ((0x0E00, 0x0E7F),)),
)
# Counted with one regex per script: a Python loop over every character of a 90 KB spec
# would cost more than the rest of the parse.
_LATIN = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")
_SCRIPT_LETTERS = tuple(
    (lang, re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges) + "]"))
    for lang, ranges in _SCRIPTS
)
# A Han or kana character carries about as much as a short English word, a Hangul syllable
# about half of one; letters of alphabets count one each, like Latin ones.
_WEIGHTS = {"ja": 4, "zh": 4, "ko": 2}
_LANGUAGE_SAMPLE = 200_000  # characters of prose; enough to judge, cheap on huge specs
# Template keywords and IDs (SHALL, WHEN, FR-001) are English whatever the prose is.
_NOT_PROSE = re.compile(r"`[^`\n]*`|\b[A-Z][A-Z0-9_]*(?:-[A-Z0-9]+)*\b|https?://\S+")


def plain(text: str) -> str:
    """Inline markdown without bold markers, on one line (code spans and links kept)."""
    text = _CJK_BREAK.sub("", text)
    return " ".join(re.sub(r"(\*\*|__)(.+?)\1", r"\2", text, flags=re.S).split())


def norm_heading(text: str) -> str:
    """Heading text reduced for matching: no numbering, emphasis, parentheticals, or symbols."""
    s = plain(text).replace("\ufffd", " ")
    s = re.sub(r"\*?\([^)]*\)\*?", " ", s)
    s = re.sub(r"^[\W_]+", "", s)
    s = _NUMBERING.sub("", s)
    return " ".join(s.rstrip(" :：.*_").lower().split())


def classify(norm: str) -> Context:
    for context, pattern in _SECTIONS:
        if pattern.search(norm):
            return context
    if norm in words.INTRO_WORDS:
        return "intro"
    if norm in ("why", "motivation"):
        return "why"
    if norm.startswith("impact"):
        return "impact"
    return "other"


def is_document_type(norm: str) -> bool:
    """An H1 that names the document type ("Requirements Document", "需求文档")."""
    return not re.sub(r"[\W_]+", "", _DOCUMENT_TYPES.sub("", norm))


def strip_title_prefix(title: str) -> str:
    """The feature's name: "Feature Specification: X", "X需求文档", "X - Requirements Document"."""
    return words.TITLE_SUFFIX.sub("", words.TITLE_PREFIX.sub("", title)).strip()


def bare_id(text: str) -> tuple[str, str] | None:
    """A heading that is only an ID, or an ID and a title: `FR-001`, `FR-001 Export`."""
    m = re.fullmatch(rf"\[?({ID})\]?(?:\s+(.*))?", text)
    return (m.group(1), m.group(2) or "") if m else None


def kebab(name: str) -> str:
    return re.sub(r"[\W_]+", "-", name.lower()).strip("-")


def ears(text: str) -> EarsKind | None:
    t = text.lstrip("*_ ")
    for keyword, kind in _EARS_OPENERS.items():
        if re.match(rf"{keyword}\b", t, re.I):
            return kind
    return "ubiquitous" if re.search(r"\bshall\b", t, re.I) else None


def first_sentence(text: str) -> str:
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()


def first_paragraph(block: str) -> str:
    for chunk in re.split(r"\n\s*\n", block):
        if chunk.strip():
            return plain(chunk)
    return ""


def paths_in(text: str, bare: bool) -> list[str]:
    """Repository-relative file paths named in code spans, link targets and (if bare) prose."""
    found: list[tuple[int, str]] = []
    for m in [*CODE_SPAN.finditer(text), *_LINK_TARGET.finditer(text)]:
        target = re.sub(r"(?:#L?\d.*|:\d+(?:-\d+)?)$", "", m.group(1).strip())
        path = _PATH.fullmatch(target)
        if path and _is_repo_path(path.group(1)):
            found.append((m.start(), path.group(1)))
    if bare:
        found.extend(
            (m.start(), m.group(1)) for m in _BARE_PATH.finditer(text) if _is_repo_path(m.group(1))
        )
    return [path for _, path in sorted(found)]


def _is_repo_path(path: str) -> bool:
    return ".." not in path.split("/") and not path.startswith("/")


def language(texts: Iterable[str]) -> str:
    """The prose's language: "en" unless another script carries a real share of it."""
    sample: list[str] = []
    seen = 0
    for text in texts:
        sample.append(text)
        seen += len(text)
        if seen > _LANGUAGE_SAMPLE:
            break
    prose = _NOT_PROSE.sub(" ", "\n".join(sample))
    latin = len(_LATIN.findall(prose))
    counts = {lang: n for lang, letters in _SCRIPT_LETTERS if (n := len(letters.findall(prose)))}
    other = sum(n * _WEIGHTS.get(lang, 1) for lang, n in counts.items())
    if not other or other < 0.3 * (other + latin):
        return "en"
    # Japanese mixes kanji with kana; any real share of kana means Japanese, not Chinese.
    if counts.get("ja", 0) >= 0.05 * sum(counts.values()):
        return "ja"
    return max(sorted(counts), key=lambda lang: counts[lang])
