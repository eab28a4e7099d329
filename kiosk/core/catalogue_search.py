"""Finding services in a long catalogue: by category, keyword (zh/en), pinyin initials, pinyin.

An index is built once per catalogue (pinyin conversion is the slow part); a query is then a set
lookup and a few C-level substring scans per item. Ranking: exact match, then prefix, then
substring, then loose matches (summary text, category name, initials abbreviation such as `ybcx`
for 医保参保信息查询); within a rank the most used first (the catalogue's seed `popularity` plus
this kiosk's usage counter); ties keep catalogue order. Use an index from one thread; only
`prepare()` may run on another (it builds the text keys, a pure value, and publishes them with
one assignment), so the kiosk's first frame does not wait for pypinyin (docs/design.md §3).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from config.catalogue import Catalogue, Item

if TYPE_CHECKING:
    from pypinyin import Style

MAX_QUERY_CHARS = 64
MAX_READINGS = 16  # pinyin variants kept per text: polyphonic characters multiply them
ABBREVIATION_MIN_CHARS = 3
MAX_TERMS = 4  # words of a multi-word query matched one by one
SEPARATOR = "\n"  # never inside a normalised key or query
ASCII_WORD_RE = re.compile(r"[a-z0-9]+")
HAN_RUN_RE = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef]+)")


class Rank(IntEnum):
    """How well an item matched a query; smaller is better."""

    EXACT = 0
    PREFIX = 1
    CONTAINS = 2
    LOOSE = 3


def normalize(text: str) -> str:
    """Query/key form: NFKC (full-width → ASCII), case-folded, whitespace collapsed, capped."""
    text = unicodedata.normalize("NFKC", text[: MAX_QUERY_CHARS * 4]).casefold()
    return " ".join(text.split())[:MAX_QUERY_CHARS]


def _per_character(text: str, style: Style) -> list[list[str]]:
    """Readings per character: Han runs go to pypinyin whole (phrase context), ASCII stays."""
    from pypinyin import pinyin  # 0.16 s to import: only when an index is first prepared

    result: list[list[str]] = []
    for index, part in enumerate(HAN_RUN_RE.split(text)):
        if index % 2:
            result.extend(pinyin(part, style=style, heteronym=True, errors="ignore"))
        else:
            result.extend([c] for c in part if c.isascii() and c.isalnum())
    return result


def _variants(per_character: list[list[str]]) -> list[str]:
    """All spellings from per-character readings, default readings first, at most MAX_READINGS."""
    variants = [""]
    for readings in per_character:
        unique = list(dict.fromkeys(r.lower() for r in readings if r))
        if unique:
            combined = (v + r for v in variants for r in unique)
            variants = list(dict.fromkeys(combined))[:MAX_READINGS]
    return [v for v in variants if v]


def readings(text: str) -> tuple[list[str], list[str]]:
    """(initials, full pinyin) spellings of `text`: all polyphone readings, up to MAX_READINGS."""
    from pypinyin import Style

    initials = _per_character(text, Style.FIRST_LETTER)
    full = _per_character(text, Style.NORMAL)
    return _variants(initials), _variants(full)


@dataclass(frozen=True)
class _Entry:
    """One item's precomputed search keys."""

    item: Item
    order: int
    exact: frozenset[str]  # the name: zh, en, id, default pinyin spellings
    keys: str  # name and keywords, default spellings: SEPARATOR-led, SEPARATOR-joined
    alternate_exact: frozenset[str]  # the name's other readings of polyphonic characters
    alternate_keys: str
    loose: str  # summaries and category names
    initials: str  # every initials spelling, one per line, for the abbreviation pattern

    def rank(self, query: _Query) -> Rank | None:
        """The best rank at which this item matches, or None."""
        best = _match(query, self.exact, self.keys)
        if best is Rank.EXACT:
            return best
        # a match that needs a rarer reading (参 as shen) ranks one step lower
        alternate = _match(query, self.alternate_exact, self.alternate_keys)
        if alternate is not None:
            demoted = Rank(min(alternate + 1, Rank.LOOSE))
            best = demoted if best is None else min(best, demoted)
        if best is not None or not query.substrings:
            return best
        if query.forms[0] in self.loose:
            return Rank.LOOSE
        if query.abbreviation is not None and query.abbreviation.search(self.initials):
            return Rank.LOOSE
        return None


def _match(query: _Query, exact: frozenset[str], keys: str) -> Rank | None:
    best: Rank | None = None
    for form in query.forms:
        if form in exact:
            return Rank.EXACT
        if SEPARATOR + form in keys:
            best = Rank.PREFIX
        elif best is None and query.substrings and form in keys:
            best = Rank.CONTAINS
    return best


def _joined(keys: Iterable[str]) -> str:
    return SEPARATOR + SEPARATOR.join(k for k in dict.fromkeys(keys) if k)


def _first(items: list[Item], limit: int | None) -> list[Item]:
    return items if limit is None else items[: max(limit, 0)]


def _entries(catalogue: Catalogue) -> list[_Entry]:
    names = {
        c.id: (normalize(c.name.zh), normalize(c.name.en), *readings(c.name.zh)[0])
        for c in catalogue.categories
    }
    return [
        _entry(item, order, names.get(item.category, ()))
        for order, item in enumerate(catalogue.items)
    ]


def _entry(item: Item, order: int, category_names: Iterable[str]) -> _Entry:
    exact = [normalize(item.name.zh), normalize(item.name.en), item.id]
    keys = exact[:2]  # the id matches only exactly: `sb` should not find every sb-NNN
    alternate_exact: list[str] = []
    alternate_keys: list[str] = []
    initials: list[str] = []
    for index, text in enumerate([item.name.zh, *item.keywords]):
        text_initials, text_full = readings(normalize(text))
        initials.extend(text_initials)
        keys.extend([normalize(text), text_initials[0], text_full[0]] if text_full else [])
        alternate_keys.extend(text_initials[1:] + text_full[1:])
        if index == 0 and text_full:
            exact.extend([text_initials[0], text_full[0]])
            alternate_exact.extend(text_initials[1:] + text_full[1:])
    loose = [normalize(item.summary.zh), normalize(item.summary.en), *category_names]
    return _Entry(
        item=item,
        order=order,
        exact=frozenset(exact),
        keys=_joined(keys),
        alternate_exact=frozenset(alternate_exact) - set(exact),
        alternate_keys=_joined(alternate_keys),
        loose=SEPARATOR.join(loose),
        initials=SEPARATOR.join(dict.fromkeys(initials)),
    )


@dataclass(frozen=True)
class _Query:
    """A normalised query: its spellings and which kinds of match it may use."""

    forms: tuple[str, ...]  # the text, then its compact form (spaces and ' removed) if different
    substrings: bool  # a single ASCII letter matches too much anywhere but at a start
    abbreviation: re.Pattern[str] | None

    @classmethod
    def parse(cls, text: str) -> _Query:
        """Build from already-normalised text."""
        compact = text.replace(" ", "").replace("'", "")
        forms = (text, compact) if compact and compact != text else (text,)
        substrings = not (len(compact) < 2 and compact.isascii())
        return cls(forms, substrings, _abbreviation_pattern(compact))


def _all_terms(entry: _Entry, terms: list[_Query]) -> Rank | None:
    """The worst of the terms' ranks (at best CONTAINS) if every term matches, else None."""
    worst = Rank.CONTAINS
    for term in terms:
        rank = entry.rank(term)
        if rank is None:
            return None
        worst = max(worst, rank)
    return worst


def _abbreviation_pattern(compact: str) -> re.Pattern[str] | None:
    """`ybcx` → these letters in order from the start of a line; possessive, so linear time."""
    if len(compact) < ABBREVIATION_MIN_CHARS or not ASCII_WORD_RE.fullmatch(compact):
        return None
    gaps = "".join(f"[^{c}{SEPARATOR}]*+{c}" for c in compact[1:])
    return re.compile(f"^{compact[0]}{gaps}", re.MULTILINE)


class CatalogueIndex:
    """Search, category listing and most-used ordering over one catalogue."""

    def __init__(
        self, catalogue: Catalogue, usage: Mapping[str, int] | None = None, usage_weight: int = 1
    ) -> None:
        """Index `catalogue`; `usage` (item id → uses) carries a previous counter over."""
        self.catalogue = catalogue
        self._usage_weight = usage_weight
        self._entries: list[_Entry] | None = None
        self._ids = frozenset(item.id for item in catalogue.items)
        self._usage = {
            item_id: count
            for item_id, count in (usage or {}).items()
            if item_id in self._ids and count > 0
        }

    def prepare(self) -> None:
        """Build the search keys now (pinyin conversion, a few hundred ms), on any thread."""
        if self._entries is None:
            self._entries = _entries(self.catalogue)

    def _text_entries(self) -> list[_Entry]:
        entries = self._entries
        if entries is None:
            entries = self._entries = _entries(self.catalogue)
        return entries

    def score(self, item: Item) -> int:
        """Most-used measure: seed popularity plus this kiosk's uses (times the usage weight)."""
        return item.popularity + self._usage_weight * self._usage.get(item.id, 0)

    def record_use(self, item_id: str) -> bool:
        """Count one use of an item (kept in memory); False if the id is not in the catalogue."""
        if item_id not in self._ids:
            return False
        self._usage[item_id] = self._usage.get(item_id, 0) + 1
        return True

    def usage(self) -> dict[str, int]:
        """A copy of this kiosk's usage counter, for the caller to persist if it wants."""
        return dict(self._usage)

    def search(
        self, query: str, *, category: str | None = None, limit: int | None = None
    ) -> list[Item]:
        """Items matching `query` (zh/en text, pinyin, initials), best first; blank → most used."""
        text = normalize(query)
        if not text:
            listed = [
                (order, item)
                for order, item in enumerate(self.catalogue.items)
                if category is None or item.category == category
            ]
            listed.sort(key=lambda pair: (-self.score(pair[1]), pair[0]))
            return _first([item for _, item in listed], limit)
        entries = [
            e for e in self._text_entries() if category is None or e.item.category == category
        ]
        whole = _Query.parse(text)
        words = sorted(text.split(" ")[:MAX_TERMS], key=len, reverse=True)  # rarest first
        terms = [_Query.parse(word) for word in words] if len(words) > 1 else []
        ranked = []
        for entry in entries:
            rank = entry.rank(whole)
            if rank is None and terms:
                # each word somewhere (公积金 租房 → 公积金提取（租房）); at best CONTAINS
                rank = _all_terms(entry, terms)
            if rank is not None:
                ranked.append((rank, entry))
        ranked.sort(key=lambda pair: (pair[0], -self.score(pair[1].item), pair[1].order))
        return _first([entry.item for _, entry in ranked], limit)

    def by_category(self, category_id: str) -> list[Item]:
        """Items of one category, most used first; empty for an unknown category."""
        return self.search("", category=category_id)

    def popular(self, n: int, *, category: str | None = None) -> list[Item]:
        """The `n` most used items, optionally within one category."""
        return self.search("", category=category, limit=n)
