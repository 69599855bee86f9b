"""Small text helpers for deriving plan content from spec prose, deterministically."""

from __future__ import annotations

import re
from functools import cache

_CLARIFICATION = re.compile(r"\s*\[NEEDS CLARIFICATION:[^\]]*\]")
_MODAL = re.compile(r"\b(?:MUST NOT|MUST|SHALL NOT|SHALL|SHOULD|must not|must|shall|should)\b")
_STOPWORDS = frozenset(
    (
        "a an the to of for and or in on with by from as at is are be been being it its this "
        "that these those all any each every when while where if then which who whom whose into "
        "onto than so such via per not no system app application user users can may will would "
        "could also only support supports provide provides allow allows enable enables ensure "
        "ensures display displays use uses using able must shall should new existing their there "
        "them they our your his her"
    ).split()
)


def clean(text: str) -> str:
    """Spec prose without clarification markers, whitespace collapsed."""
    return " ".join(_CLARIFICATION.sub("", text).split())


def short(text: str, limit: int = 90) -> str:
    """`text` cut at a word boundary to at most `limit` characters."""
    text = clean(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.(")
    return cut + "…"


def first_sentences(text: str, count: int = 2, limit: int = 400) -> str:
    sentences = re.split(r"(?<=[.!?。])\s+", clean(text))
    return short(" ".join(sentences[:count]), limit)


def after_modal(text: str) -> str:
    """The action of a requirement: what follows MUST / SHALL, or the whole text."""
    match = _MODAL.search(text)
    return clean(text[match.end() :] if match else text)


def words(text: str) -> list[str]:
    """Lower-case ASCII words that carry meaning (stopwords and short words dropped)."""
    return [
        w
        for w in re.findall(r"[A-Za-z][A-Za-z0-9]+", text.lower())
        if w not in _STOPWORDS and len(w) > 2
    ]


def slug(text: str, max_words: int = 4, sep: str = "_") -> str:
    return sep.join(words(text)[:max_words])


def camel(text: str, max_words: int = 4) -> str:
    """A CamelCase name: an identifier the spec wrote (`ExportJob`) as written, else made
    from the prose's words."""
    written = text.strip()
    if _IDENTIFIER.fullmatch(written) and written != written.lower():
        return written
    return "".join(w.capitalize() for w in words(text)[:max_words])


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def identifier(text: str, fallback: str, max_words: int = 4) -> str:
    """A snake_case identifier from prose, or `fallback` when the prose has no ASCII words."""
    return slug(text, max_words) or fallback


@cache
def _term_pattern(term: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.IGNORECASE)


def mentions(text: str, term: str) -> bool:
    """True when `text` names `term` as a whole word, ignoring case."""
    return _term_pattern(term).search(text) is not None
