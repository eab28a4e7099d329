"""Property tests for what operators type and upload: selectors and documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from city.selector import Selector, SelectorError, parse_selector
from city.upload import Invalid, ValidDocument, parse_upload

CATALOGUE = Path(__file__).resolve().parents[2] / "config" / "catalogue.yaml"
ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)


@given(kind=st.sampled_from(["district", "centre", "kiosk"]), value=ids)
def test_selectors_round_trip(kind: str, value: str) -> None:
    assume(kind != "district" or not value.startswith("-"))  # a district name starts a word
    selector = parse_selector(f"{kind}:{value}")
    assert selector == Selector(kind, value)  # type: ignore[arg-type]
    assert parse_selector(str(selector)) == selector


@given(parts=st.tuples(ids, ids, ids))
def test_full_kiosk_ids_are_selectors(parts: tuple[str, str, str]) -> None:
    full = "/".join(parts)
    assert parse_selector(f"kiosk:{full}") == Selector("kiosk", full)


@given(text=st.text(max_size=300))
def test_any_text_is_a_selector_or_a_selector_error(text: str) -> None:
    try:
        selector = parse_selector(text)
    except SelectorError as exc:
        message = str(exc)
        selector = None
    if selector is None:
        assert "all, district:NAME" in message
        return
    assert selector.kind == "all" or selector.value  # never an empty value: never widens


@pytest.mark.parametrize(
    "text",
    ["", "centre:", "centre", "Centre:x", "kiosk:a/b", "centre:福田区", "district:福 田",
     "centre:a b", "all:x", "centre:a/b/c", "kiosk:a/b/c/d", "centre:*", "x" * 201],
)  # fmt: skip
def test_near_misses_are_refused(text: str) -> None:
    with pytest.raises(SelectorError):
        parse_selector(text)


def test_districts_are_names_in_any_script() -> None:
    assert parse_selector("district:福田区") == Selector("district", "福田区")
    assert parse_selector("district:Futian-1") == Selector("district", "Futian-1")


def test_all_tolerates_surrounding_blanks() -> None:
    assert parse_selector(" all\n") == Selector("all")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000))
def test_any_bytes_are_an_upload_result_never_an_exception(data: bytes) -> None:
    for kind in ("catalogue", "ui_texts"):
        assert isinstance(parse_upload(kind, data), ValidDocument | Invalid)


yaml_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=200, deadline=None)
@given(tree=yaml_trees)
def test_any_yaml_tree_gets_problems_with_paths_or_is_valid(tree: object) -> None:
    for kind in ("catalogue", "ui_texts"):
        result = parse_upload(kind, yaml.safe_dump(tree, allow_unicode=True).encode())
        if isinstance(result, Invalid):
            assert result.problems
            assert result.total >= len(result.problems)


def test_the_shipped_catalogue_is_valid_with_its_summary() -> None:
    result = parse_upload("catalogue", CATALOGUE.read_bytes())
    assert isinstance(result, ValidDocument), result
    assert result.version == "440300-2025.03.1"
    assert result.summary["city"] == "440300"
    assert result.summary["items"] > 10


def test_catalogue_problems_carry_their_paths() -> None:
    document = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    document["items"][2]["category"] = "nope"
    document["items"][3]["name"]["zh"] = "no chinese"
    result = parse_upload("catalogue", json.dumps(document, ensure_ascii=False).encode())
    assert isinstance(result, Invalid)
    paths = [p.path for p in result.problems]
    assert "items[2].category" in paths
    assert "items[3].name.zh" in paths


def test_bounds_and_bombs_are_refused_before_walking() -> None:
    assert isinstance(parse_upload("catalogue", b"x" * (1024 * 1024 + 1)), Invalid)
    bomb = b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n".encode()
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    result = parse_upload("ui_texts", b"version: '1'\n" + bomb)
    assert isinstance(result, Invalid)
    assert "values" in result.problems[0].message
    assert isinstance(parse_upload("catalogue", b"\xff\xfe"), Invalid)
    assert isinstance(parse_upload("catalogue", b"[" * 5000), Invalid)


def test_ui_texts_need_a_version_and_are_not_a_catalogue() -> None:
    assert isinstance(parse_upload("ui_texts", b"version: '2026.1'\nzh: {}\n"), ValidDocument)
    missing = parse_upload("ui_texts", b"zh: {}\n")
    assert isinstance(missing, Invalid)
    assert missing.problems[0].path == "version"
    assert isinstance(parse_upload("ui_texts", CATALOGUE.read_bytes()), Invalid)
    assert isinstance(parse_upload("ui_texts", b"version: 'a b'\n"), Invalid)
    assert isinstance(parse_upload("other", b"version: '1'\n"), Invalid)
