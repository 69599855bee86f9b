"""The language a text is written in, and how each language says "not", for restating
requirements faithfully.

The spec parser names CJK languages by script share; Latin text is Spanish here when Spanish
function words clearly outnumber English ones, else English (the default).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

Language = Literal["en", "zh", "ja", "ko", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "zh", "ja", "ko", "es")
DEFAULT: Language = "en"

_SPANISH = re.compile(
    r"\b(?:el|la|los|las|del|que|una|por|para|con|debe|deberá|sistema|usuario|cuando|será|"
    r"están?|también|según)\b",
    re.IGNORECASE,
)
_ENGLISH = re.compile(
    r"\b(?:the|and|of|to|with|must|shall|should|system|user|when|that|this|is|are)\b",
    re.IGNORECASE,
)
# Marks what is not prose: code spans, IDs, paths, URLs, which every language shares.
_NOT_PROSE = re.compile(r"`[^`]*`|\[[^\]]*\]|https?://\S+|\S+/\S+|\b[A-Z]+-?\d+(?:\.\d+)*\b")


def looks_spanish(texts: Iterable[str]) -> bool:
    """True when Spanish function words clearly outnumber English ones in `texts`."""
    text = _NOT_PROSE.sub(" ", " ".join(texts))
    spanish, english = len(_SPANISH.findall(text)), len(_ENGLISH.findall(text))
    return spanish > 2 * english and spanish >= 3


# How a requirement says it must not happen, per language. English and Spanish modals are
# words; the CJK markers are written into the verb (不得 before it, しない/않 after it).
NEGATION = re.compile(
    r"\b(?:MUST|SHALL|SHOULD|MAY|WILL|CAN|must|shall|should|may|will|can)\s+(?:NOT|NEVER|not|never)\b"
    r"|\b(?:cannot|never|NEVER)\b"
    r"|\b(?:NO|no)\s+(?:DEBE|debe|DEBERÁ|deberá|PUEDE|puede|DEBERÍA|debería)\b|\bnunca\b"
    r"|不得|不能|不应|不可|不允许|禁止|绝不|不要|不会"
    # Japanese and Korean negations end the verb; one in a condition ("存在しない場合", "if
    # there is none") is not the requirement's polarity.
    r"|(?:しない|しません|してはならない|してはいけない|できない|ではない|ないこと)(?!場合|とき|時|なら|限り)"
    r"|않(?!으면|는 경우)|안 된다|안 됨|금지|없어야"
)
# Any sign that a restatement kept a negation (a plain "not" or "no" is enough).
NEGATED = re.compile(
    NEGATION.pattern
    + r"|\b(?:not|never|no|without|neither|nor|don't|doesn't|won't|nunca|ni|sin)\b"
    + r"|不|没|无|ない|なし|않|못|없|안 |금지",
    re.IGNORECASE,
)
