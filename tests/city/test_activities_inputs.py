"""Outside input to the activities code: the staff form (HTTP) and the stored events' data.
Arbitrary values never raise; what the form accepts is within the database's and the kiosk's
limits (config/activities.py takes the document built from it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from city.activities.ingest import parse_event
from city.activities.publishing import _entry
from city.activities.service import FORM_FIELDS, MAX_EN, MAX_ZH, TEXT_FIELDS, parse_form
from city.messages import EventRow
from config.activities import activities_from_data

ZONE = ZoneInfo("Asia/Shanghai")
TEXT = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "太极拳",
            "Tai chi",
            "",
            " ",
            "2026-12-10T08:30",
            "0001-01-01T00:00",
            "9999-12-31T23:59",
            "30",
            "-1",
            "auto",
            "440300/c1",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FORM_FIELDS), TEXT))
def test_any_form_is_parsed_or_refused_by_field(form: dict[str, str]) -> None:
    """parse_form never raises; an accepted form builds a document the kiosk accepts."""
    data, problems = parse_form(form, ZONE)
    assert (data is None) == bool(problems)
    assert set(problems) <= set(FORM_FIELDS)
    if data is None:
        return
    for name in TEXT_FIELDS:
        assert len(getattr(data, name)) <= (MAX_ZH if name.endswith("_zh") else MAX_EN)
    row = (
        "a-1", data.title_zh, data.title_en, data.place_zh, data.place_en, data.organiser_zh,
        data.organiser_en, data.audience_zh, data.audience_en, data.starts_at, data.ends_at,
        data.capacity, 0, "published",
    )  # fmt: skip
    document = {"kind": "activities", "version": "v1", "activities": [_entry(row)]}
    activities_from_data(json.loads(json.dumps(document)), "built")


def good_form() -> dict[str, str]:
    starts = datetime.now(ZONE) + timedelta(days=1)
    return {
        "centre": "440300/c1", "title_zh": "太极拳", "title_en": "Tai chi",
        "place_zh": "活动室", "place_en": "Room", "organiser_zh": "协会",
        "organiser_en": "Club", "audience_zh": "居民", "audience_en": "Residents",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "capacity": "30", "points": "5", "approval": "auto",
    }  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FORM_FIELDS), TEXT)
def test_one_bad_field_is_named(name: str, value: str) -> None:
    """Changing one field of a good form either keeps it good or names exactly that field
    (the end may be reported for a start moved past it)."""
    form = good_form() | {name: value}
    _data, problems = parse_form(form, ZONE)
    assert set(problems) <= {name, "ends_at"}


def row(kind: str, data: Any, ts: str = "2026-12-03T08:15:30.123Z") -> EventRow:
    return EventRow(
        "0193f1c2-7a4b-7c3d-8e5f-0123456789ab", "440300/c1/k1", kind, ts,
        "7a1f5a0e-5b7c-4c8e-9d3a-2f6c1b0e4d11", "main", 1, 1, data, "{}", "events",
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["activity.signup", "activity.cancelled", "heartbeat"]),
    st.dictionaries(st.text(max_size=12), st.one_of(st.none(), st.integers(), st.text())),
    st.text(max_size=30),
)
def test_parse_event_never_raises(kind: str, data: dict[str, Any], ts: str) -> None:
    """Whatever a stored event holds, parse_event gives an event or None."""
    parsed = parse_event(row(kind, data, ts))
    if parsed is not None:
        assert parsed.at.tzinfo is not None
        assert kind != "heartbeat"


def test_parse_event_reads_a_signup() -> None:
    """A contract-shaped sign-up becomes a SignupEvent at its kiosk time."""
    data = {
        "signup_id": "0193f1c2-7a4b-7c3d-8e5f-0123456789ac", "activity_id": "tai-chi",
        "activities_version": "v1", "subject": "ab" * 32, "key_id": "k1",
        "session_id": "0193f1c2-7a4b-7c3d-8e5f-0123456789ab",
    }  # fmt: skip
    parsed = parse_event(row("activity.signup", data))
    assert parsed is not None
    assert parsed.at == datetime(2026, 12, 3, 8, 15, 30, 123000, tzinfo=UTC)
    assert (parsed.activity_id, parsed.kiosk) == ("tai-chi", "440300/c1/k1")
