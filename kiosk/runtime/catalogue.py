"""The core's Catalogue port over the validated catalogue file and its search index.

A catalogue replaced by the city (set_config → reload_config) is swapped in as one reference
assignment: a screen never sees half of the old catalogue and half of the new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from config.catalogue import Catalogue, Item, load_catalogue
from kiosk.core.catalogue_search import CatalogueIndex
from kiosk.core.ports import CategoryEntry, ItemDetail, ItemSummary


@dataclass(frozen=True)
class _Loaded:
    catalogue: Catalogue
    index: CatalogueIndex


class CatalogueAdapter:
    """Implements kiosk.core.ports.Catalogue; `swap()` replaces the catalogue atomically."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._loaded = _Loaded(catalogue, CatalogueIndex(catalogue))

    @classmethod
    def from_file(cls, path: Path) -> CatalogueAdapter:
        """Load and index a catalogue file (ConfigError lists every problem)."""
        return cls(load_catalogue(path))

    def prepare_search(self) -> None:
        """Build the current catalogue's search keys now; safe on a background thread."""
        self._loaded.index.prepare()

    def swap(self, catalogue: Catalogue) -> None:
        """Switch to a new catalogue, keeping this kiosk's usage counts for items that remain."""
        usage = self._loaded.index.usage()
        self._loaded = _Loaded(catalogue, CatalogueIndex(catalogue, usage=usage))

    @property
    def version(self) -> str:
        """The catalogue's version string."""
        return self._loaded.catalogue.version

    def categories(self, language: str) -> Sequence[CategoryEntry]:
        """All categories in display order, with their item counts."""
        loaded = self._loaded
        ordered = sorted(loaded.catalogue.categories, key=lambda c: (c.order, c.id))
        return [
            CategoryEntry(c.id, c.name.get(language), len(loaded.index.by_category(c.id)), c.icon)
            for c in ordered
        ]

    def items(self, category_id: str, language: str) -> Sequence[ItemSummary]:
        """One category's items, most used first."""
        return [_summary(item, language) for item in self._loaded.index.by_category(category_id)]

    def search(self, query: str, language: str, limit: int) -> Sequence[ItemSummary]:
        """Keyword, pinyin or initials search, best first."""
        found = self._loaded.index.search(query, limit=limit)
        return [_summary(item, language) for item in found]

    def detail(self, item_id: str, language: str) -> ItemDetail | None:
        """One item's detail (and one more use counted for most-used-first ordering)."""
        loaded = self._loaded
        try:
            item = loaded.catalogue.item(item_id)
        except KeyError:
            return None
        loaded.index.record_use(item_id)
        handling = item.handling
        where_parts = [p.get(language) for p in (handling.place, handling.department) if p]
        schedule = loaded.catalogue.hours_of(item)
        return ItemDetail(
            item_id=item.id,
            category_id=item.category,
            title=item.name.get(language),
            summary=item.summary.get(language),
            materials=tuple(m.get(language) for m in item.materials),
            handling=handling.mode,
            where=" · ".join(where_parts),
            online_url=handling.url,
            opening_hours=schedule.describe(language) if schedule is not None else "",
        )


def _summary(item: Item, language: str) -> ItemSummary:
    return ItemSummary(item.id, item.category, item.name.get(language))
