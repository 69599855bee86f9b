"""The prose catalog: every message drafter writes has a translation in each language, the
compiled .mo files are what the .po sources say, and a spec's language picks the catalog."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from conftest import REPO

from drafter.app.workflow import DraftRequest, spec_to_plan
from drafter.core.language import LANGUAGES
from drafter.drafting.messages import DOMAIN, LOCALE_DIR

TRANSLATED = [language for language in LANGUAGES if language != "en"]
LANGUAGE_SPECS = Path(__file__).parent / "fixtures" / "quality" / "languages"
_PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


def _catalog(language: str) -> dict[str, str]:
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id}


def _in_code() -> set[str]:
    """Every message the code and the template mark, as `make messages` extracts them."""
    found: set[str] = set()
    keywords = {"_": None, "N_": None, "say": None}
    for folder, method in (
        (REPO / "drafter" / "drafting", "python"),
        (REPO / "drafter" / "document", "python"),
        (REPO / "templates", "jinja2"),
    ):
        pattern = "**.py" if method == "python" else "**.j2"
        options = {pattern: {"extensions": "jinja2.ext.i18n"}} if method == "jinja2" else {}
        for _, _, message, _, _ in extract_from_dir(
            str(folder), [(pattern, method)], options, keywords=keywords
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_template_catalog_is_current() -> None:
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("rb") as pot:
        template = {m.id for m in read_po(pot) if m.id}
    assert _in_code() == template, "run `make messages` and translate what is new"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(language: str) -> None:
    catalog = _catalog(language)
    assert set(catalog) == _in_code()
    for source, translated in catalog.items():
        assert translated, f"{language}: untranslated {source!r}"
        assert sorted(_PLACEHOLDER.findall(source)) == sorted(_PLACEHOLDER.findall(translated))


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalog_is_the_source(language: str) -> None:
    compiled = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])
    for source, translated in _catalog(language).items():
        assert compiled.gettext(source) == translated, "run `make messages` to recompile"


_SCRIPTS = {
    "zh": r"[\u4e00-\u9fff]",
    "ko": r"[\uac00-\ud7af]",
    "es": r"\b(?:Implementa|Verificar)\b",
}


@pytest.mark.parametrize("language", ["zh", "ko", "es"])
def test_a_spec_in_another_language_gets_prose_in_it(language: str) -> None:
    text = spec_to_plan(
        DraftRequest(spec_path=LANGUAGE_SPECS / f"{language}.md", to_stdout=True)
    ).text
    goal = text.split("## Goal", 1)[1].split("##", 1)[0]
    assert re.search(_SCRIPTS[language], goal)
    assert "It implements" not in text and "Verify:" not in text  # no English sentence left
    assert "## Proposed Changes" in text and "**Purpose**:" in text  # headings, labels: English


def test_an_english_spec_stays_english() -> None:
    text = spec_to_plan(
        DraftRequest(spec_path=REPO / "examples" / "csv-export" / "SPEC.md", to_stdout=True)
    ).text
    assert "It implements" in text and not re.search(r"[\u3040-\u9fff\uac00-\ud7af]", text)
