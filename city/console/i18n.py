"""Message catalogues: zh-CN is the default, English is complete (a test checks every key).

Each console module brings its own catalogue (ConsoleModule.messages); `Catalogue` merges them
and refuses a key defined twice. Texts use str.format placeholders: "{count} 台".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
LANGUAGE_NAMES: Mapping[str, str] = {"zh-CN": "中文", "en": "English"}


class Catalogue:
    """All modules' messages, per language."""

    def __init__(self, catalogues: Iterable[Mapping[str, Mapping[str, str]]]) -> None:
        self.messages: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
        for catalogue in catalogues:
            for lang, texts in catalogue.items():
                if lang not in self.messages:
                    raise ValueError(f"unknown language {lang!r} (known: {', '.join(LANGUAGES)})")
                for key, text in texts.items():
                    if key in self.messages[lang]:
                        raise ValueError(f"message {key!r} ({lang}) is defined twice")
                    self.messages[lang][key] = text

    def missing(self) -> dict[str, list[str]]:
        """Per language, the keys some other language has and this one lacks."""
        every = set().union(*(set(m) for m in self.messages.values()))
        return {
            lang: sorted(every - set(texts))
            for lang, texts in self.messages.items()
            if every - set(texts)
        }

    def has(self, key: str) -> bool:
        """Whether `key` is a message (in the default language)."""
        return key in self.messages[DEFAULT_LANGUAGE]

    def text(self, lang: str, key: str, **values: object) -> str:
        """The text for `key`, formatted; the default language's, then the key itself."""
        template = self.messages.get(lang, {}).get(key)
        if template is None:
            template = self.messages[DEFAULT_LANGUAGE].get(key, key)
        return template.format(**values) if values else template


def pick_language(cookie: str | None) -> str:
    """The language cookie's value when it is one we have, else zh-CN."""
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE
