"""The catalogue model: the shipped file is complete and bilingual; bad files name every problem."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.catalogue import (
    MAX_DOCUMENT_BYTES,
    Catalogue,
    catalogue_from_bytes,
    catalogue_from_data,
    load_catalogue,
)
from config.loader import ConfigError
from config.schema import Problem
from tests.catalogue.samples import SHIPPED, dump, load, small_document, write

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_catalogue(SHIPPED)


def problems_of(document: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(document)
    return [str(p) for p in caught.value.problems]


def test_shipped_catalogue_is_large_and_spans_the_required_categories(shipped: Catalogue) -> None:
    """config/catalogue.yaml has ≥100 items over ≥10 categories, including the issue's ten."""
    assert len(shipped.items) >= 120
    used = Counter(item.category for item in shipped.items)
    assert len(used) >= 10
    names = {c.name.zh for c in shipped.categories}
    required = {
        "医保",
        "社保",
        "公积金",
        "税务",
        "不动产",
        "公安",
        "交通运输",
        "民政",
        "残联",
        "卫健",
    }
    assert required <= names
    assert all(used[c.id] >= 5 for c in shipped.categories)
    assert shipped.city == "440300"


def test_shipped_items_are_bilingual_and_distinct(shipped: Catalogue) -> None:
    """Every item has Chinese and English name and summary; names and ids are unique."""
    for item in shipped.items:
        for text in (item.name, item.summary, *item.materials):
            assert CJK.search(text.zh), item.id
            assert text.en.strip(), item.id
            assert not CJK.search(text.en), item.id
    assert len({i.id for i in shipped.items}) == len(shipped.items)
    assert len({i.name.zh for i in shipped.items}) == len(shipped.items)
    assert len({i.name.en for i in shipped.items}) == len(shipped.items)
    assert len({i.summary.zh for i in shipped.items}) == len(shipped.items)


def test_shipped_handling_modes_are_complete(shipped: Catalogue) -> None:
    """All three modes occur; windows have a place and hours; links are example https URLs."""
    modes = Counter(item.handling.mode for item in shipped.items)
    assert min(modes["here"], modes["online"], modes["window"]) >= 20
    for item in shipped.items:
        handling = item.handling
        if handling.mode == "window":
            assert handling.place is not None
            assert shipped.hours_of(item) is not None
        if handling.mode == "online":
            assert handling.url is not None
            assert handling.url.startswith(
                ("https://service.example/", "https://www.example.gov.cn/")
            )
        if not item.materials:
            assert handling.mode == "here"
    assert sum(item.age_friendly for item in shipped.items) >= 20


def test_catalogue_lookups_and_category_order(shipped: Catalogue) -> None:
    """Categories come in tile order; items and categories are found by id; unknown ids raise."""
    orders = [c.order for c in shipped.categories]
    assert orders == sorted(orders)
    assert shipped.item("yb-001").name.zh == "医保参保信息查询"
    assert shipped.category("yibao").name.en == "Medical insurance"
    with pytest.raises(KeyError):
        shipped.item("nope-001")


def test_objects_are_frozen(shipped: Catalogue) -> None:
    """Loaded catalogue objects cannot be changed in place (the kiosk swaps whole catalogues)."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        shipped.items[0].popularity = 1  # type: ignore[misc]


def test_opening_hours_are_structured_and_described_in_both_languages() -> None:
    """Schedules answer is_open for a given time and describe themselves for people."""
    catalogue = load(small_document())
    centre = catalogue.schedules["centre"]
    assert centre.describe("zh") == "周一至周五 09:00–12:00、14:00–18:00；周六 09:00–12:00"
    assert centre.describe("en") == "Mon–Fri 09:00–12:00, 14:00–18:00; Sat 09:00–12:00"
    monday = datetime(2025, 3, 3)
    assert centre.is_open(monday.replace(hour=9))
    assert not centre.is_open(monday.replace(hour=12, minute=30))
    assert not centre.is_open(monday.replace(day=8, hour=15))  # Saturday afternoon
    assert not centre.is_open(monday.replace(day=9, hour=10))  # Sunday
    assert catalogue.schedules["online"].is_open(monday.replace(hour=3))
    assert catalogue.schedules["online"].describe("zh") == "全天24小时"
    assert catalogue.hours_of(catalogue.item("sb-001")) is centre
    assert catalogue.hours_of(catalogue.item("yb-001")) is None


def test_material_names_resolve_to_glossary_texts() -> None:
    """An item may name a shared material; it loads as the glossary's bilingual text."""
    item = load(small_document()).item("sb-001")
    assert [m.en for m in item.materials] == [
        "Resident ID card (original)",
        "Digital photo receipt",
    ]


def test_many_mistakes_are_all_reported_with_their_paths() -> None:
    """One run reports every mistake, each at its dotted path, with suggestions for typos."""
    doc = small_document()
    doc["version"] = "has spaces"
    doc["schedules"]["centre"]["rules"][0]["times"][0] = "9:00-12:00"
    items = doc["items"]
    base = items[1]
    mistakes: list[dict[str, Any]] = [
        {"id": "yb-001"},  # duplicate id
        {"category": "yibao2"},
        {"name": {"zh": "缺英文的事项"}},
        {"handling": {"mode": "online", "url": "http://service.example/x"}},
        {"materials": [], "handling": {"mode": "window", "place": base["name"], "hours": "centre"}},
        {"materials": ["id-crad"]},
        {"handling": {"mode": "window", "place": base["name"], "hours": "centr"}},
        {"handling": {"mode": "window", "hours": "centre"}},
        {"popularity": -3},
        {"keywords": ["备案", "备案"]},
        {"handling": {"mode": "here", "action": "print", "url": "https://service.example/y"}},
        {"sumary": base["summary"]},
        {"name": {"zh": "异地就医备案", "en": "Same Chinese name as items[1]"}},
        {"name": {"zh": "Only English here", "en": "Chinese missing"}},
    ]
    for number, change in enumerate(mistakes):
        item = {
            **base,
            "id": f"t-{number:03d}",
            "name": {"zh": f"事项{number}", "en": f"Item {number}"},
        }
        merged = {**item, **change}
        if "sumary" in change:
            del merged["summary"]
        items.append(merged)
    problems = problems_of(doc)
    expected = [
        "version: use 1-64 letters",
        "items[3].id: duplicate 'yb-001' (also items[0])",
        "items[4].category: unknown category 'yibao2'; did you mean 'yibao'?",
        "items[5].name.en: required",
        "items[6].handling.url: expected an https:// URL with a host",
        "items[7].materials: list what to bring",
        "items[8].materials[0]: unknown material 'id-crad'; did you mean 'id-card'?",
        "items[9].handling.hours: unknown schedule 'centr'; did you mean 'centre'?",
        "items[10].handling.place: required for mode 'window'",
        "items[11].popularity: must be between 0 and 1e+09",
        "items[12].keywords[1]: duplicate keyword '备案'",
        "items[13].handling.url: only for mode 'online'",
        "items[14].sumary: unknown key; did you mean 'summary'?",
        "items[14].summary: required",
        "items[15].name.zh: duplicate '异地就医备案' (also items[1])",
        "items[16].name.zh: the Chinese text has no Chinese characters",
        "schedules.centre.rules[0].times[0]: expected 'HH:MM-HH:MM'",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected), problems


def test_structural_checks_on_schedules_and_categories() -> None:
    """Overlapping periods, a day in two rules, unused and duplicate categories are refused."""
    doc = small_document()
    doc["schedules"]["centre"]["rules"][0]["times"] = ["09:00-12:00", "11:00-13:00"]
    doc["schedules"]["online"] = {"always": True, "rules": doc["schedules"]["centre"]["rules"]}
    doc["schedules"]["twice"] = {"rules": [{"days": ["mon"], "times": ["08:00-09:00"]}] * 2}
    doc["categories"].append({**doc["categories"][0], "order": 99})
    doc["categories"].append({**doc["categories"][0], "id": "unused"})
    problems = problems_of(doc)
    assert "schedules.centre.rules[0].times[1]: periods must be in order and must not overlap" in (
        problems
    )
    assert any(p.startswith("schedules.online: give either") for p in problems)
    assert "schedules.twice.rules[1].days: a day already appears in an earlier rule" in problems
    assert "categories[2].id: duplicate 'yibao' (also categories[0])" in problems
    assert "categories[3]: no item uses category 'unused'" in problems


def test_top_level_mistakes_are_reported() -> None:
    """A wrong kind, a missing city and an unknown top-level key each get their own line."""
    doc = small_document()
    doc["kind"] = "catalog"
    del doc["city"]
    doc["itmes"] = []
    problems = problems_of(doc)
    assert any(p.startswith("kind: must be one of 'catalogue'") for p in problems)
    assert "city: required" in problems
    assert any(p.startswith("itmes: unknown key; did you mean 'items'?") for p in problems)


def test_bytes_that_are_not_a_catalogue_raise_config_error() -> None:
    """Non-UTF-8, YAML errors, oversized documents and alias bombs become ConfigError."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 10)}]\n" for n in range(6)
    )
    cases = {
        b"\xff\xfe not utf-8": "not UTF-8",
        b"kind: [unclosed": "YAML error",
        b"#" * (MAX_DOCUMENT_BYTES + 1): "larger than",
        bomb.encode(): "more than",
        b"- just\n- a list\n": "expected a mapping",
        # libyaml's composer recurses in C: these crashed the process before the depth check.
        b"- " * 400_000 + b"x": "nested too deeply",
        b"[" * 500_000 + b"]" * 500_000: "nested too deeply",
        b"a: " + b"{b: " * 101 + b"1" + b"}" * 101: "nested too deeply",
    }
    for data, message in cases.items():
        with pytest.raises(ConfigError) as caught:
            catalogue_from_bytes(data, "set_config")
        assert message in str(caught.value), caught.value


def test_json_documents_are_accepted() -> None:
    """The city may send the catalogue as JSON (a YAML subset) through set_config."""
    catalogue = catalogue_from_bytes(json.dumps(small_document()).encode(), "set_config")
    assert catalogue.version == "test-1"
    assert [c.id for c in catalogue.categories] == ["shebao", "yibao"]


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A catalogue path that does not exist is reported, not raised as OSError."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_catalogue(tmp_path / "absent.yaml")


def test_written_file_round_trips(tmp_path: Path) -> None:
    """load_catalogue reads what catalogue_from_bytes accepts."""
    path = write(tmp_path, small_document())
    assert load_catalogue(path) == catalogue_from_bytes(dump(small_document()), str(path))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
ITEM_KEYS = [
    "id",
    "category",
    "name",
    "summary",
    "materials",
    "handling",
    "keywords",
    "popularity",
    "x",
]
TOP_KEYS = ["kind", "version", "city", "schedules", "materials", "categories", "items"]


@settings(max_examples=150, deadline=None)
@given(
    item_changes=st.dictionaries(st.sampled_from(ITEM_KEYS), JSON_VALUES, max_size=3),
    top_changes=st.dictionaries(st.sampled_from(TOP_KEYS), JSON_VALUES, max_size=2),
)
def test_any_malformed_document_gives_config_error_with_paths(
    item_changes: dict[str, object], top_changes: dict[str, object]
) -> None:
    """Arbitrary values anywhere load or raise ConfigError whose problems all carry text."""
    doc = small_document()
    doc["items"][1].update(item_changes)
    doc.update(top_changes)
    problems: list[Problem] = []
    try:
        catalogue = catalogue_from_data(doc, "fuzz")
    except ConfigError as exc:
        problems = exc.problems
        assert problems
    else:
        assert len(catalogue.items) == 3
    assert all(problem.message for problem in problems)
