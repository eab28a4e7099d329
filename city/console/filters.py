"""Parsing the console's query parameters: bounded, typed, and a clear message when wrong.

Pure functions (no I/O): tests/city/console/test_inputs_fuzz.py throws arbitrary input at them.
A parse error is a `BadInput` (HTTP 400 with the message), never an exception of another kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from city.console.web import BadInput

STATES = ("online", "degraded", "offline", "missing")
ALERT_STATES = ("open", "acknowledged", "resolved")
MAX_TEXT = 100
MAX_PAGE = 100_000
KIOSK_PART = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class FleetFilter:
    """What the fleet page shows: every field optional; `page` counts from 1."""

    district: str | None = None
    centre: str | None = None
    state: str | None = None
    text: str | None = None
    page: int = 1


def text_param(query: Mapping[str, str], name: str, max_length: int = MAX_TEXT) -> str | None:
    """A free-text parameter: stripped, None when empty; refused when too long or with controls."""
    value = query.get(name)
    if value is None:
        return None
    value = value.strip()
    if len(value) > max_length:
        raise BadInput(f"{name}: at most {max_length} characters")
    if CONTROL.search(value):
        raise BadInput(f"{name}: control characters are not allowed")
    return value or None


def choice_param(query: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    """One of `choices`, or None when absent/empty."""
    value = query.get(name)
    if value is None or value == "":
        return None
    if value not in choices:
        raise BadInput(f"{name}: one of {', '.join(choices)}")
    return value


def page_param(query: Mapping[str, str], name: str = "page") -> int:
    """A page number 1…MAX_PAGE (1 when absent)."""
    value = query.get(name)
    if value is None or value == "":
        return 1
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise BadInput(f"{name}: a whole number from 1 to {MAX_PAGE}")
    return int(value)


def fleet_filter(query: Mapping[str, str]) -> FleetFilter:
    """The fleet page's filters from its query string."""
    return FleetFilter(
        district=text_param(query, "district"),
        centre=text_param(query, "centre"),
        state=choice_param(query, "state", STATES),
        text=text_param(query, "q"),
        page=page_param(query),
    )


def kiosk_id(city: str, centre: str, name: str) -> str:
    """CITY/CENTRE/KIOSK from the three path segments, each a topic-safe name."""
    for part in (city, centre, name):
        if not KIOSK_PART.match(part):
            raise BadInput("a kiosk id is CITY/CENTRE/KIOSK of letters, digits, '.', '_', '-'")
    return f"{city}/{centre}/{name}"


def note_field(form: Mapping[str, str], name: str = "note", max_length: int = 500) -> str:
    """A free-text form field (a note): stripped, bounded, no control characters but newlines."""
    value = form.get(name, "").strip()
    if len(value) > max_length:
        raise BadInput(f"{name}: at most {max_length} characters")
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", value):
        raise BadInput(f"{name}: control characters are not allowed")
    return value
