"""The shipped catalogue through the core's Catalogue port."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kiosk.runtime.catalogue import CatalogueAdapter

CATALOGUE = Path(__file__).resolve().parents[2] / "config" / "catalogue.yaml"


def test_categories_items_search_and_detail_in_both_languages() -> None:
    """Every category lists its items; search finds by initials; details carry both languages."""
    adapter = CatalogueAdapter.from_file(CATALOGUE)
    categories = adapter.categories("zh")
    assert len(categories) >= 10
    assert all(c.item_count > 0 for c in categories)
    first = adapter.items(categories[0].category_id, "zh")[0]
    detail_zh = adapter.detail(first.item_id, "zh")
    detail_en = adapter.detail(first.item_id, "en")
    assert detail_zh is not None
    assert detail_en is not None
    assert detail_zh.title != detail_en.title
    assert detail_zh.handling in ("here", "online", "window")
    assert adapter.search("ybcx", "zh", 5)
    assert adapter.detail("no-such-item", "zh") is None


def test_swap_replaces_the_catalogue_and_keeps_usage() -> None:
    """A replacement catalogue is used at once; items that remain keep their use counts."""
    adapter = CatalogueAdapter.from_file(CATALOGUE)
    old = adapter._loaded.catalogue
    item_id = old.items[-1].id
    for _ in range(50_000):
        adapter._loaded.index.record_use(item_id)
    smaller = dataclasses.replace(old, version="test-2", items=old.items[-40:])
    adapter.swap(smaller)
    assert adapter.version == "test-2"
    top = adapter.search("", "zh", 1)[0]
    assert top.item_id == item_id
