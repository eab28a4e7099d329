"""The activities document: a good one loads in start order; every mistake has its path; any
bytes at all give either Activities or a ConfigError (the agent's set_config entry point)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.activities import EMPTY, activities_from_bytes, activities_from_data, load_activities
from config.loader import ConfigError


def activity(activity_id: str = "tai-chi-1210", **changes: Any) -> dict[str, Any]:
    base = {
        "id": activity_id,
        "title": {"zh": "太极拳晨练", "en": "Morning tai chi"},
        "starts_at": "2026-12-10T08:30:00+08:00",
        "ends_at": "2026-12-10T09:30:00+08:00",
        "place": {"zh": "中心一楼活动室", "en": "Activity room, ground floor"},
        "organiser": {"zh": "社区老年协会", "en": "Seniors' association"},
        "audience": {"zh": "60岁以上居民", "en": "Residents aged 60 and over"},
        "capacity": 30,
        "places_left": 12,
    }
    return {**base, **changes}


def document(*activities: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "activities", "version": "2026-12-01.1", "activities": list(activities)}


def problems_of(raw: Any) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        activities_from_data(raw, "test")
    return {p.path: p.message for p in caught.value.problems}


def test_a_good_document_loads_in_start_order() -> None:
    """Two activities come back sorted by start; lookups by id work."""
    later = activity(
        "calligraphy", starts_at="2026-12-11T14:00:00+08:00", ends_at="2026-12-11T16:00:00+08:00"
    )
    loaded = activities_from_bytes(json.dumps(document(later, activity())).encode(), "t")
    assert [a.id for a in loaded.activities] == ["tai-chi-1210", "calligraphy"]
    assert loaded.get("calligraphy") is later_or(loaded, "calligraphy")
    assert loaded.get("none") is None
    assert loaded.activities[0].title.get("en") == "Morning tai chi"


def later_or(loaded: Any, activity_id: str) -> Any:
    return next(a for a in loaded.activities if a.id == activity_id)


def test_mistakes_are_reported_with_their_paths() -> None:
    """Bad time, end before start, more places than capacity, a duplicate id, a missing text."""
    bad = activity("b", starts_at="tomorrow")
    backwards = activity("c", ends_at="2026-12-10T08:00:00+08:00")
    too_many = activity("d", places_left=31)
    no_offset = activity("e", starts_at="2026-12-10T08:30:00")
    untitled = activity("f")
    del untitled["title"]
    found = problems_of(
        document(activity("a"), activity("a"), bad, backwards, too_many, no_offset, untitled)
    )
    assert "activities[1].id" in found
    assert "ISO 8601" in found["activities[2].starts_at"]
    assert found["activities[3].ends_at"] == "must be after starts_at"
    assert found["activities[4].places_left"] == "more than the capacity"
    assert "offset" in found["activities[5].starts_at"]
    assert "activities[6].title" in found


def test_the_kind_and_a_non_empty_list_are_required() -> None:
    """A catalogue sent as activities, or an empty list, is refused."""
    assert "kind" in problems_of({"kind": "catalogue", "version": "1", "activities": [activity()]})
    assert "activities" in problems_of({"kind": "activities", "version": "1", "activities": []})


def test_no_file_yet_is_no_activities(tmp_path: Path) -> None:
    """Before the city pushes any, the kiosk shows none."""
    assert load_activities(tmp_path / "activities.yaml") is EMPTY


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000) | st.builds(lambda d: json.dumps(d).encode(), JSON_VALUES))
def test_any_bytes_load_or_raise_config_error(data: bytes) -> None:
    """Hostile set_config payloads: only ConfigError, never another exception."""
    with contextlib.suppress(ConfigError):
        activities_from_bytes(data, "fuzz")


def test_an_alias_bomb_is_refused_by_the_bounded_reader() -> None:
    """A few hundred bytes of YAML aliases do not expand."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{n}: &a{n} [*a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}]" for n in range(1, 12)
    ]
    with pytest.raises(ConfigError):
        activities_from_bytes("\n".join(lines).encode(), "bomb")
