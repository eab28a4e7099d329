"""zh-CN and English are complete for every mounted module, and every text a template asks for
exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from city.console.i18n import LANGUAGES, Catalogue, pick_language
from city.console.modules import load_modules

TEMPLATE_KEY = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_.]*[a-z0-9_])["']\s*[,)]""")


def _catalogue() -> Catalogue:
    return Catalogue(m.messages for m in load_modules())


def test_every_key_exists_in_both_languages() -> None:
    """No key is missing in any language."""
    assert _catalogue().missing() == {}


def test_placeholders_match_across_languages() -> None:
    """A text's {placeholders} are the same in every language."""
    catalogue = _catalogue()
    for key, text in catalogue.messages["zh-CN"].items():
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        for lang in LANGUAGES:
            other = catalogue.messages[lang][key]
            assert {f for _, f, _, _ in string.Formatter().parse(other) if f} == fields, key


def test_templates_only_use_known_keys() -> None:
    """Every literal t("…") in the mounted modules' templates is a message."""
    catalogue = _catalogue()
    folders = [Path(__file__).resolve().parents[3] / "city" / "console" / "templates"]
    folders += [m.templates for m in load_modules() if m.templates is not None]
    used = {
        key
        for folder in folders
        for file in folder.rglob("*.html")
        for key in TEMPLATE_KEY.findall(file.read_text(encoding="utf-8"))
    }
    assert used
    assert sorted(k for k in used if not catalogue.has(k)) == []


def test_duplicates_and_unknown_languages_are_refused() -> None:
    """Two modules defining one key, or a language the console lacks, fail at start."""
    with pytest.raises(ValueError, match="defined twice"):
        Catalogue([{"en": {"a.b": "x"}}, {"en": {"a.b": "y"}}])
    with pytest.raises(ValueError, match="unknown language"):
        Catalogue([{"fr": {"a.b": "x"}}])


def test_language_choice() -> None:
    """zh-CN unless the cookie names another language we have."""
    assert pick_language(None) == "zh-CN"
    assert pick_language("en") == "en"
    assert pick_language("fr") == "zh-CN"
    assert _catalogue().text("en", "pager.position", page=2, pages=5) == "Page 2 of 5"
