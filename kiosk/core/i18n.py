"""User-facing strings: one flat JSON catalogue per language under kiosk/core/strings/.

Keys are dotted (`identify.greeting`); values are `str.format` templates with named fields. No
user-facing text lives in code; a test pins that both catalogues have the same keys.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kiosk.core.inputs import Language

STRINGS_DIR = Path(__file__).resolve().parent / "strings"
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT_LANGUAGE: Language = "zh"


class MissingString(KeyError):
    """A key is not in the catalogue (a bug: every key must exist in every language)."""


class CatalogueFormatError(ValueError):
    """A strings file is not a flat JSON object of non-empty strings."""


class Strings:
    """One language's catalogue."""

    def __init__(self, language: Language, entries: Mapping[str, str]) -> None:
        self.language = language
        self._entries = MappingProxyType(dict(entries))

    @property
    def keys(self) -> frozenset[str]:
        """Every key in this catalogue."""
        return frozenset(self._entries)

    def has(self, key: str) -> bool:
        """True if `key` exists."""
        return key in self._entries

    def text(self, key: str, **params: Any) -> str:
        """The text for `key`, with `{field}`s filled from `params`; MissingString if unknown."""
        try:
            template = self._entries[key]
        except KeyError:
            raise MissingString(key) from None
        return template.format_map(params) if params else template

    def fields(self, key: str) -> frozenset[str]:
        """The named `{field}`s the template of `key` uses."""
        return frozenset(name for _, name, _, _ in string.Formatter().parse(self.text(key)) if name)


def parse_catalogue(raw: Any, source: str) -> dict[str, str]:
    """Check a parsed strings file: a flat object of non-empty strings; CatalogueFormatError."""
    if not isinstance(raw, dict):
        raise CatalogueFormatError(f"{source}: expected a JSON object")
    entries: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str) or not value.strip():
            raise CatalogueFormatError(f"{source}: {key}: expected a non-empty string")
        entries[str(key)] = value
    return entries


@cache
def load_strings(language: Language) -> Strings:
    """The catalogue of `language` ("zh" or "en"), loaded once."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    path = STRINGS_DIR / f"{language}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Strings(language, parse_catalogue(raw, path.name))
