"""Working days for follow-up deadlines: weekends, holidays, 调休 days (property tests)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from city.reports.calendar import WorkCalendar

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


def test_five_working_days_skip_the_weekend() -> None:
    """A 差评 on Thursday 2026-12-03 is due Thursday 2026-12-10."""
    assert WorkCalendar().add_working_days(date(2026, 12, 3), 5) == date(2026, 12, 10)


def test_holidays_and_make_up_days() -> None:
    """A holiday moves the deadline on; a 调休 Saturday worked brings it back."""
    cal = WorkCalendar.of(holidays=[date(2026, 12, 4)])
    assert cal.add_working_days(date(2026, 12, 3), 5) == date(2026, 12, 11)
    cal = WorkCalendar.of(holidays=[date(2026, 12, 4)], workdays=[date(2026, 12, 5)])
    assert cal.add_working_days(date(2026, 12, 3), 5) == date(2026, 12, 10)


@given(
    start=days,
    n=st.integers(0, 40),
    holidays=st.lists(days, max_size=20),
    workdays=st.lists(days, max_size=5),
)
def test_deadline_is_the_nth_working_day(
    start: date, n: int, holidays: list[date], workdays: list[date]
) -> None:
    """Exactly n working days lie in (start, due], and due itself is one (n > 0)."""
    cal = WorkCalendar.of(holidays, workdays)
    due = cal.add_working_days(start, n)
    assert due >= start
    between = cal.working_days_between(start + timedelta(days=1), due)
    assert len(between) == n
    if n:
        assert cal.is_working_day(due)
    else:
        assert due == start


@given(day=days)
def test_weekends_rest_unless_listed(day: date) -> None:
    """Without lists, Monday to Friday work."""
    assert WorkCalendar().is_working_day(day) == (day.weekday() < 5)
