"""Catalogue search: initials, pinyin, keywords, categories; exact/prefix first, then most used."""

from __future__ import annotations

import dataclasses
import statistics
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.catalogue import Catalogue, Item, load_catalogue
from kiosk.core.catalogue_search import MAX_READINGS, CatalogueIndex, normalize, readings
from tests.catalogue.samples import SHIPPED, load, small_document

PERF_QUERIES = (
    "ybcx",
    "医保",
    "yibao",
    "社保卡",
    "pension",
    "jzz",
    "公积金 租房",
    "social security card",
    "y",
    "xyz",
)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(SHIPPED)


@pytest.fixture(scope="module")
def index(catalogue: Catalogue) -> CatalogueIndex:
    return CatalogueIndex(catalogue)


def names(items: list[Item]) -> list[str]:
    return [item.name.zh for item in items]


def renamed(catalogue: Catalogue, *changes: tuple[str, str, int]) -> Catalogue:
    """A copy whose first items get new (zh name, en name, popularity)."""
    items = list(catalogue.items)
    for position, (zh, en, popularity) in enumerate(changes):
        name = dataclasses.replace(items[position].name, zh=zh, en=en)
        items[position] = dataclasses.replace(
            items[position], name=name, keywords=(), popularity=popularity
        )
    return dataclasses.replace(catalogue, items=tuple(items))


def test_pinyin_initials_find_the_service(index: CatalogueIndex) -> None:
    """`ybcx` (医保…查询 abbreviated) puts 医保参保信息查询 first; `sbk` finds the card items."""
    assert names(index.search("ybcx"))[0] == "医保参保信息查询"
    assert names(index.search("ybcbxxcx")) == ["医保参保信息查询"]
    assert set(names(index.search("sbk"))[:4]) == {
        "社保卡申领",
        "社保卡补换",
        "社保卡启用",
        "社保卡临时挂失",
    }


def test_full_pinyin_with_or_without_spaces(index: CatalogueIndex) -> None:
    """Full pinyin, complete or a prefix, spaced or not, finds the item."""
    assert names(index.search("yibaodianzipingzheng"))[0] == "医保电子凭证激活"
    assert names(index.search("bu dong chan"))[0].startswith("不动产")
    assert names(index.search("juzhuzheng"))[:2] == ["居住证签注", "居住证申领"]


def test_chinese_keywords_and_english_text(index: CatalogueIndex) -> None:
    """Chinese keywords (违章) and English words (passport, full-width or upper case) match."""
    assert set(names(index.search("违章"))) == {"交通违法处理", "交通违法记录查询"}
    assert names(index.search("Passport")) == ["普通护照办理"]
    assert names(index.search("ＰＡＳＳＰＯＲＴ")) == ["普通护照办理"]
    assert names(index.search("social security card"))[0] == "社保卡申领"


def test_each_word_of_a_multi_word_query_must_match(index: CatalogueIndex) -> None:
    """`公积金 租房` finds 公积金提取（租房） although the words are not adjacent."""
    assert names(index.search("公积金 租房"))[0] == "公积金提取（租房）"
    assert "公积金提取（购房）" not in names(index.search("公积金 租房"))


def test_every_item_is_found_first_by_its_name_and_id(catalogue: Catalogue) -> None:
    """An exact Chinese name, English name or id always ranks its own item first."""
    index = CatalogueIndex(catalogue)
    for item in catalogue.items:
        assert index.search(item.name.zh)[0] is item
        assert index.search(item.name.en)[0] is item
        assert index.search(item.id) == [item]


def test_category_listing_is_most_used_first(index: CatalogueIndex, catalogue: Catalogue) -> None:
    """by_category lists the category's items by popularity; an unknown category is empty."""
    listed = index.by_category("gongjijin")
    assert {i.id for i in listed} == {i.id for i in catalogue.items if i.category == "gongjijin"}
    assert [i.popularity for i in listed] == sorted((i.popularity for i in listed), reverse=True)
    assert index.by_category("no-such-category") == []
    assert all(i.category == "gongan" for i in index.search("证", category="gongan"))


def test_exact_then_prefix_then_substring_then_popularity(catalogue: Catalogue) -> None:
    """Rank beats popularity: exact name, then prefix, then substring; popularity within a rank."""
    custom = renamed(
        catalogue,
        ("测试事项乙", "Test B", 900),
        ("测试事项", "Test", 1),
        ("另一测试事项", "Another test", 5000),
        ("测试事项丙", "Test C", 100),
    )
    found = names(CatalogueIndex(custom).search("测试事项"))
    assert found == ["测试事项", "测试事项乙", "测试事项丙", "另一测试事项"]


def test_equal_scores_keep_catalogue_order(catalogue: Catalogue) -> None:
    """Ties in rank and popularity keep the order of the catalogue file (stable)."""
    custom = renamed(
        catalogue,
        ("并列事项甲", "Tie A", 7),
        ("并列事项乙", "Tie B", 7),
        ("并列事项丙", "Tie C", 7),
    )
    assert names(CatalogueIndex(custom).search("并列事项")) == [
        "并列事项甲",
        "并列事项乙",
        "并列事项丙",
    ]


def test_usage_counter_moves_items_up_and_carries_over() -> None:
    """record_use adds to the seed popularity; the counter survives into a rebuilt index."""
    catalogue = load(small_document())
    index = CatalogueIndex(catalogue)
    assert [i.id for i in index.popular(2)] == ["yb-001", "sb-001"]
    for _ in range(60):
        assert index.record_use("sb-001")
    assert not index.record_use("gone-001")
    assert [i.id for i in index.popular(2)] == ["sb-001", "yb-001"]
    assert index.usage() == {"sb-001": 60}
    rebuilt = CatalogueIndex(catalogue, usage={**index.usage(), "gone-001": 5})
    assert [i.id for i in rebuilt.popular(1)] == ["sb-001"]
    assert rebuilt.usage() == {"sb-001": 60}


def test_popular_and_blank_queries(index: CatalogueIndex, catalogue: Catalogue) -> None:
    """popular(n) is the n most used; a blank query lists everything, most used first."""
    top = index.popular(5)
    assert len(top) == 5
    assert top[0].name.zh == "医保参保信息查询"
    assert index.popular(0) == []
    assert len(index.search("   ")) == len(catalogue.items)
    assert index.search("", limit=5) == top
    assert {i.category for i in index.popular(3, category="shuiwu")} == {"shuiwu"}


def test_polyphonic_characters_are_indexed_with_all_readings(catalogue: Catalogue) -> None:
    """朝阳 is found as chaoyang and zhaoyang (both readings), and readings stay bounded."""
    custom = renamed(catalogue, ("朝阳社区长者饭堂登记", "Chaoyang community canteen", 1))
    index = CatalogueIndex(custom)
    for query in ("chaoyang", "zhaoyang", "cysq", "zysq"):
        assert names(index.search(query))[0] == "朝阳社区长者饭堂登记", query
    initials, full = readings("重长行调朝还传降给率都")  # eleven polyphonic characters
    assert 1 < len(initials) <= MAX_READINGS
    assert 1 < len(full) <= MAX_READINGS


def test_single_ascii_letter_matches_only_at_starts(index: CatalogueIndex) -> None:
    """`y` finds names whose pinyin starts with y, not every name containing a y somewhere."""
    found = index.search("y")
    assert found
    assert len(found) < len(index.catalogue.items) // 2


def test_queries_are_fast_on_a_400_item_catalogue(catalogue: Catalogue) -> None:
    """Mean query time on 400 items stays under a generous 10 ms bound (budget 2 ms)."""
    items = [
        dataclasses.replace(item, id=f"{item.id}-{copy}")
        for copy in range(3)
        for item in catalogue.items
    ][:400]
    index = CatalogueIndex(dataclasses.replace(catalogue, items=tuple(items)))
    index.prepare()  # the pinyin keys, built at construction before they became lazy
    durations = []
    for _ in range(5):
        for query in PERF_QUERIES:
            start = time.perf_counter()
            index.search(query)
            durations.append(time.perf_counter() - start)
    assert statistics.mean(durations) < 0.010  # measured ~0.7 ms mean, ~2 ms worst, on 2 cores


def test_normalize_caps_and_folds() -> None:
    """Queries are NFKC-folded, lower-cased, whitespace-collapsed and length-capped."""
    assert normalize("  ＹＢ　ｃｘ \n") == "yb cx"
    assert len(normalize("长" * 10_000)) == 64


@settings(max_examples=200)
@given(query=st.text(max_size=80), category=st.sampled_from([None, "yibao", "gongan", "nope"]))
def test_search_never_raises_and_returns_catalogue_items(
    index: CatalogueIndex, query: str, category: str | None
) -> None:
    """Any text is a valid query; results are distinct items of the catalogue in the category."""
    results = index.search(query, category=category, limit=20)
    assert len(results) <= 20
    assert len({id(item) for item in results}) == len(results)
    for item in results:
        assert index.catalogue.item(item.id) is item
        assert category is None or item.category == category


@settings(max_examples=100)
@given(st.lists(st.sampled_from("医保社卡查询证公积金ybsjzcx abc-（）"), max_size=12).map("".join))
def test_search_on_near_miss_text_never_raises(index: CatalogueIndex, query: str) -> None:
    """Fragments of real names and pinyin (the common typing case) are handled and deterministic."""
    assert index.search(query) == index.search(query)
