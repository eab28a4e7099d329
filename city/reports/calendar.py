"""Working days: weekends off, configured public holidays off, configured 调休 weekend days on.

Sans-I/O. A 差评's follow-up is due `followup_working_days` working days after the local day
it was given (docs/reports.md "Follow-ups").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

SATURDAY = 5
MAX_WORKING_DAYS = 366


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def of(
        cls, holidays: Iterable[date | str] = (), workdays: Iterable[date | str] = ()
    ) -> WorkCalendar:
        """A calendar from the config's lists (dates, or YYYY-MM-DD text)."""
        return cls(frozenset(map(_day, holidays)), frozenset(map(_day, workdays)))

    def is_working_day(self, day: date) -> bool:
        """A listed 调休 day works; a listed holiday does not; otherwise Monday to Friday."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < SATURDAY

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (start itself never counts)."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"working days must be 0..{MAX_WORKING_DAYS}")
        day = start
        left = days
        while left:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, first: date, last: date) -> list[date]:
        """Working days in [first, last]."""
        days = []
        day = first
        while day <= last:
            if self.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days
