"""String catalogues: English complete, same keys and fields, every key the core uses exists."""

from __future__ import annotations

import json
from typing import get_args

import pytest

from drivers.bp.messages import ERROR_MESSAGES
from kiosk.core.bp_classification import BpCategory, advice_key, category_key
from kiosk.core.i18n import (
    LANGUAGES,
    STRINGS_DIR,
    CatalogueFormatError,
    MissingString,
    load_strings,
    parse_catalogue,
)
from kiosk.core.inputs import DeviceName
from kiosk.core.points import ENTRY_SOURCES
from kiosk.core.ports import HANDLINGS
from kiosk.core.render import RATING_LEVELS, RATING_REASONS
from kiosk.core.session import CARD_FAULT_KEYS
from kiosk.core.views import PrintStatus


def test_catalogues_have_the_same_keys() -> None:
    """zh and en define exactly the same keys."""
    zh, en = load_strings("zh"), load_strings("en")
    assert zh.keys == en.keys


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_empty_values(language: str) -> None:
    """Every value is a non-empty string (the loader would refuse otherwise)."""
    raw = json.loads((STRINGS_DIR / f"{language}.json").read_text(encoding="utf-8"))
    assert all(isinstance(v, str) and v.strip() for v in raw.values())


def test_templates_use_the_same_fields_in_both_languages() -> None:
    """A key's `{field}`s match across languages (dates pick from one fixed set of fields)."""
    zh, en = load_strings("zh"), load_strings("en")
    date_fields = {"year", "month", "day", "weekday", "month_name", "hour", "minute"}
    for key in zh.keys:
        if key.startswith("datetime."):
            assert zh.fields(key) | en.fields(key) <= date_fields, key
        else:
            assert zh.fields(key) == en.fields(key), key


def _keys_the_core_uses() -> set[str]:
    keys = {f"bp.error.{k}" for k in ERROR_MESSAGES} | {"bp.error.meter_unavailable"}
    keys |= {category_key(c) for c in BpCategory} | {advice_key(c) for c in BpCategory}
    keys |= {f"rating.level.{n}" for n in RATING_LEVELS}
    keys |= {f"rating.reason.{r}" for r in RATING_REASONS}
    keys |= {f"card.fault.{k}" for k in (*CARD_FAULT_KEYS, "unknown")}
    keys |= {f"catalogue.handling.{h}" for h in HANDLINGS}
    keys |= {f"weekday.{n}" for n in range(7)} | {f"month.{n}" for n in range(1, 13)}
    keys |= {f"diagnostics.device.{d}" for d in get_args(DeviceName)}
    keys |= {f"print.status.{s}" for s in get_args(PrintStatus)} | {"print.guide", "print.bp"}
    keys |= {f"diagnostics.state.{s}" for s in ("ok", "disconnected", "timeout", "fault")}
    keys |= {f"identify.prompt.{f}" for f in ("services", "health")}
    keys |= {f"identify.skip.{f}" for f in ("services", "health")}
    keys |= {"countdown.continue", "countdown.message", "card.place", "identify.greeting"}
    keys |= {"identify.prompt.points", "identify.skip.points", "points.error.other"}
    keys |= {f"points.source.{source}" for source in ENTRY_SOURCES}
    keys |= {f"points.wait.{phase}" for phase in ("loading", "redeeming")}
    keys |= {f"points.reward.{s}" for s in ("can", "short", "unavailable", "identify")}
    return keys


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_the_core_uses_exists(language: str) -> None:
    """Device error keys from every BP protocol, card faults, ratings… are all translated."""
    missing = _keys_the_core_uses() - load_strings(language).keys
    assert not missing


def test_unknown_key_is_a_typed_error() -> None:
    """Asking for a key that does not exist raises MissingString."""
    with pytest.raises(MissingString):
        load_strings("en").text("no.such.key")


@pytest.mark.parametrize("raw", [[], {"a": ""}, {"a": 3}, {"a": "  "}])
def test_malformed_catalogue_is_refused(raw: object) -> None:
    """A catalogue that is not a flat object of non-empty strings is refused."""
    with pytest.raises(CatalogueFormatError):
        parse_catalogue(raw, "x.json")


def test_greeting_masks_in_both_languages() -> None:
    """The greeting template takes the masked name as given."""
    assert load_strings("zh").text("identify.greeting", name="张*") == "张*，您好"
    assert load_strings("en").text("identify.greeting", name="J*** S****") == "Hello, J*** S****"
