"""Every text a report takes from outside (CLI flags, query strings, form fields) is parsed
totally: a value, or FilterError/AnswerError with a message — never anything else."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from city.reports.filters import (
    MAX_PERIOD_DAYS,
    FilterError,
    parse_centre,
    parse_date,
    parse_filter,
)
from city.reports.followups import (
    MAX_ANSWER_CHARS,
    AnswerError,
    parse_answer,
    parse_event_id,
    parse_status,
)

TODAY = date(2026, 12, 3)
any_text = st.text(max_size=300) | st.text(alphabet="0123456789-/ ", max_size=14)


@given(text=any_text)
def test_dates_parse_or_refuse(text: str) -> None:
    """A date or FilterError."""
    try:
        day = parse_date(text)
    except FilterError:
        return
    assert day.isoformat() == text.strip()


@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2199, 12, 31)))
def test_every_real_day_round_trips(day: date) -> None:
    """YYYY-MM-DD of any day in range parses to that day."""
    assert parse_date(day.isoformat()) == day


@pytest.mark.parametrize(
    "text", ["2026-02-30", "2026-13-01", "26-01-01", "2026-1-1", "１２３４-01-01", "1999-12-31"]
)
def test_impossible_dates_are_refused(text: str) -> None:
    """Not a day, not the format, out of range (full-width digits too)."""
    with pytest.raises(FilterError):
        parse_date(text)


@given(first=any_text | st.none(), last=any_text | st.none(), centre=any_text | st.none())
def test_filters_parse_or_refuse(first: str | None, last: str | None, centre: str | None) -> None:
    """A filter always has first <= last within the longest period, or FilterError."""
    try:
        f = parse_filter(first, last, centre, today=TODAY)
    except FilterError:
        return
    assert f.first <= f.last
    assert f.days <= MAX_PERIOD_DAYS


def test_filter_defaults_and_limits() -> None:
    """No dates: the 30 days up to today; reversed or over-long periods are refused."""
    f = parse_filter(None, None, None, today=TODAY)
    assert (f.first, f.last, f.centre) == (TODAY - timedelta(days=29), TODAY, None)
    with pytest.raises(FilterError):
        parse_filter("2026-12-04", "2026-12-03", today=TODAY)
    with pytest.raises(FilterError):
        parse_filter("2020-01-01", "2026-12-03", today=TODAY)


@given(text=any_text)
def test_centres_parse_or_refuse(text: str) -> None:
    """CENTRE or CITY/CENTRE, each one topic level; the parts join back to the text."""
    try:
        city, centre = parse_centre(text)
    except FilterError:
        return
    if centre is None:
        assert not text.strip()
    else:
        assert (f"{city}/{centre}" if city else centre) == text.strip()
        assert "'" not in centre
        assert " " not in centre


@pytest.mark.parametrize("text", ["a/b/c", "/x", "x/", "中心", "a b", "a;drop", "-x"])
def test_bad_centres_are_refused(text: str) -> None:
    """Anything but one or two topic levels."""
    with pytest.raises(FilterError):
        parse_centre(text)


@given(text=st.text(max_size=2100))
def test_answers_parse_or_refuse(text: str) -> None:
    """An answer is trimmed, 1-2000 characters, no control characters but line breaks."""
    try:
        answer = parse_answer(text)
    except AnswerError:
        return
    assert 1 <= len(answer) <= MAX_ANSWER_CHARS
    assert answer == answer.strip()
    assert all(ch in {"\n", "\t"} or ord(ch) >= 0x20 for ch in answer if ord(ch) < 0x80)


@given(text=any_text | st.none())
def test_statuses_parse_or_refuse(text: str | None) -> None:
    """One of the listed statuses, or FilterError."""
    try:
        status = parse_status(text)
    except FilterError:
        return
    assert status in ("all", "open", "answered", "closed", "overdue")


@given(text=any_text | st.uuids().map(str))
def test_ids_parse_or_refuse(text: str) -> None:
    """A UUID in canonical form, or FilterError."""
    try:
        value = parse_event_id(text)
    except FilterError:
        return
    assert len(value) == 36
