"""Small text helpers for deriving plan content from spec prose, deterministically."""

from __future__ import annotations

import re
from functools import cache

from drafter.core.language import NEGATION
from drafter.model.plan import SymbolKind

_CLARIFICATION = re.compile(r"\s*\[NEEDS CLARIFICATION:[^\]]*\]")
_MODAL = re.compile(
    r"\b(?:MUST|SHALL|SHOULD|must|shall|should)(?P<negation>\s+(?:NOT|NEVER|not|never))?\b"
)
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
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis. Never cut
    off a negation (しない and 않 end the sentence): such a text is quoted whole."""
    text = clean(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    if NEGATION.search(text[len(cut) :]) and not NEGATION.search(cut):
        return text
    cut = cut.rstrip(",;:.(、，")
    return cut + "…" + _closers(cut)


_PAIRS = {"(": ")", "[": "]", "**": "**", "`": "`"}


def _closers(text: str) -> str:
    """What closes the markup and brackets a cut left open ("**bold te…" gets "**"), innermost
    first, so a shortened text never bolds or brackets the rest of its line."""
    stack: list[str] = []
    for token in re.findall(r"\*\*|`|[()\[\]]", text):
        if stack and token == _PAIRS.get(stack[-1]) and (token != "(" and token != "["):
            stack.pop()
        elif token in _PAIRS and not (stack and stack[-1] == "`" and token != "`"):
            stack.append(token)
    return "".join(_PAIRS[opener] for opener in reversed(stack))


# Sentences that talk to the reader instead of describing the feature: an interjection
# ("Awesome—", "Sure!"), a pointer at the rest of a document ("Below is a blueprint …").
_CHATTY = re.compile(
    r"^(?:(?:awesome|great|sure|okay|ok|cool|nice|perfect|absolutely|hi|hello|hey|thanks|"
    r"thank you)\b\W|(?:below|here) (?:is|are)\b|here's\b|let's\b|let me\b|"
    r"in this (?:document|doc)\b|i\b|i[’']\w+|we[’']ll\b|spec this out\b)"
    r"|\byou(?:[’']ll|[’']d| can| need| want)\b",
    re.IGNORECASE,
)


def summary_sentences(text: str, count: int = 2, limit: int = 400) -> str:
    """The first sentences of a spec's summary that describe the feature: no bare links, no
    chatty preamble; "" when nothing is left."""
    text = re.sub(r"<?https?://\S+>?", " ", clean(text))
    sentences = [
        s
        for s in re.split(r"(?<=[.!?])\s+|(?<=[。！？])\s*", text)
        if s.strip() and not _CHATTY.search(s)
    ]
    return short(" ".join(sentences[:count]), limit) if sentences else ""


def after_modal(text: str) -> str:
    """The action of a requirement: what follows MUST / SHALL, or the whole text. A negative
    requirement keeps its negation ("must not run …"): dropping it would say the opposite."""
    match = _MODAL.search(text)
    if match is None:
        return clean(text)
    action = clean(text[match.end() :])
    return f"{' '.join(match.group(0).lower().split())} {action}" if match["negation"] else action


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


# A code identifier the spec writes in backticks: `recoverStaleJobs()`, `Store.releaseJobs()`,
# `JobLease`, `parse_spec()`. Paths, commands and plain words in backticks are not identifiers.
_NAMED_IDENTIFIER = re.compile(r"`((?:[A-Za-z_]\w*\.)?[A-Za-z_]\w*)(\([^`()]*\))?`")


def named_identifiers(text: str) -> list[tuple[str, SymbolKind]]:
    """(name, kind) for each code identifier `text` names in backticks, in order, once each:
    a call `f()` is a function (a method when qualified), a PascalCase name a class."""
    found: list[tuple[str, SymbolKind]] = []
    for match in _NAMED_IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        entry: tuple[str, SymbolKind]
        if call is not None:
            entry = (f"{name}()", "method" if "." in name else "function")
        elif re.fullmatch(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+", name):
            entry = (name, "class")
        elif re.fullmatch(r"[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+", name):
            entry = (f"{name}()", "function")
        else:
            continue
        if entry not in found:
            found.append(entry)
    return found


@cache
def _term_pattern(term: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.IGNORECASE)


def mentions(text: str, term: str) -> bool:
    """True when `text` names `term` as a whole word, ignoring case."""
    return _term_pattern(term).search(text) is not None
