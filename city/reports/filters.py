"""A report's period and centre, parsed from the command line or a page's query string.

Sans-I/O and total: `parse_filter` returns a ReportFilter or raises FilterError with a message
fit to show; nothing else escapes, whatever the text (tests/city/test_report_filters.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
# A centre is CENTRE or CITY/CENTRE, each level as in the topic tree (docs/contract/README.md).
LEVEL = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
CENTRE_RE = re.compile(rf"^(?:({LEVEL})/)?({LEVEL})$")
MAX_PERIOD_DAYS = 1100  # three years: longer asks are mistakes, and they stay cheap to refuse
MAX_TEXT_CHARS = 200
EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)


class FilterError(ValueError):
    """The filter cannot be used; the message says why."""


@dataclass(frozen=True)
class ReportFilter:
    """Local days first..last (both included) and optionally one centre."""

    first: date
    last: date
    city: str | None = None
    centre: str | None = None

    @property
    def days(self) -> int:
        """How many days the period covers."""
        return (self.last - self.first).days + 1

    def centre_label(self) -> str:
        """CITY/CENTRE, CENTRE, or '' for every centre."""
        if self.centre is None:
            return ""
        return f"{self.city}/{self.centre}" if self.city else self.centre


def parse_date(text: str, what: str = "date") -> date:
    """YYYY-MM-DD, a real calendar day between 2000 and 2199."""
    text = text.strip()
    match = DATE_RE.match(text) if len(text) <= MAX_TEXT_CHARS else None
    if match is None:
        raise FilterError(f"{what}: expected YYYY-MM-DD")
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise FilterError(f"{what}: not a calendar day") from None
    if not EARLIEST <= day <= LATEST:
        raise FilterError(f"{what}: outside {EARLIEST}..{LATEST}")
    return day


def parse_centre(text: str) -> tuple[str | None, str | None]:
    """'' → (None, None); 'CENTRE' → (None, CENTRE); 'CITY/CENTRE' → (CITY, CENTRE)."""
    text = text.strip()
    if not text:
        return None, None
    match = CENTRE_RE.match(text) if len(text) <= MAX_TEXT_CHARS else None
    if match is None:
        raise FilterError("centre: expected CENTRE or CITY/CENTRE (letters, digits, _ and -)")
    return match[1], match[2]


def parse_filter(
    first: str | None, last: str | None, centre: str | None = None, *, today: date
) -> ReportFilter:
    """Build a filter; a missing end is today, a missing start 29 days before the end."""
    end = parse_date(last, "to") if last and last.strip() else today
    start = parse_date(first, "from") if first and first.strip() else end - timedelta(days=29)
    if start > end:
        raise FilterError("from: must not be after to")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise FilterError(f"the period is longer than {MAX_PERIOD_DAYS} days")
    city, name = parse_centre(centre or "")
    return ReportFilter(start, end, city, name)
