"""The prose drafter writes around the spec's text, in the spec's language.

Messages live in a gettext catalog (drafter/locale/<lang>/LC_MESSAGES/drafter.po, compiled to
.mo and shipped in the wheel); English is the source language and the default. Headings,
labels, IDs, paths and identifiers stay English, so the plan reads back whatever its language.
Maintainers refresh the catalog with Babel (`make messages`); at run time only the standard
library's gettext reads the compiled files.
"""

from __future__ import annotations

import gettext
import re
from functools import cache
from pathlib import Path

from drafter.core.language import DEFAULT, LANGUAGES, Language, looks_spanish
from drafter.inputs.spec import Spec

DOMAIN = "drafter"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


def N_(message: str) -> str:  # the conventional gettext marker name
    """Marks `message` for the catalog where it is defined; it is translated where used."""
    return message


@cache
def _translations(language: Language) -> gettext.NullTranslations:
    if language == DEFAULT:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])


class Messages:
    """`_("Implement {title}.", title=…)` in one language; arguments are formatted after
    translation, so a translation may reorder them."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self._catalog = _translations(language)

    def __call__(self, message: str, /, **values: object) -> str:
        return self._catalog.gettext(message).format(**values)

    def plural(self, singular: str, plural: str, count: int, /, **values: object) -> str:
        return self._catalog.ngettext(singular, plural, count).format(count=count, **values)

    @property
    def gettext(self) -> gettext.NullTranslations:
        return self._catalog

    def stop(self, text: str) -> str:
        """`text` ended as a sentence in this language (a CJK full stop, else a period)."""
        text = re.sub(r"[\s:：,，、;；]+$", "", text)
        if not text or text[-1] in ".!?。！？…":
            return text
        return text + ("。" if self.language in ("zh", "ja") else ".")


def prose_language(spec: Spec) -> Language:
    """The language the plan's prose is written in: the spec's own (Chinese, Japanese and
    Korean by script, Spanish by its words), else English."""
    if spec.language in LANGUAGES:
        language: Language = spec.language  # type: ignore[assignment]  # checked just above
        if language != DEFAULT:
            return language
    texts = [spec.title, spec.summary, *(r.text for r in spec.requirements[:30])]
    return "es" if looks_spanish(texts) else DEFAULT


def all_translations(message: str) -> set[str]:
    """`message` in every language drafter writes, for reading a plan back."""
    return {Messages(language)(message) for language in LANGUAGES}
