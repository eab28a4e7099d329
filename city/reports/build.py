"""One entry point for every report: name + filter + config → Report (the CLI and the pages)."""

from __future__ import annotations

from datetime import date
from typing import Literal

import psycopg

from city.config import CityConfig
from city.reports.calendar import WorkCalendar
from city.reports.filters import ReportFilter
from city.reports.followups import StatusFilter, followups_report
from city.reports.health import health_report
from city.reports.labels import Lang
from city.reports.ratings import ratings_report
from city.reports.table import Report
from city.reports.usage import usage_report

ReportName = Literal["ratings", "usage", "health", "followups"]
REPORT_NAMES: tuple[ReportName, ...] = ("ratings", "usage", "health", "followups")


def calendar_of(config: CityConfig) -> WorkCalendar:
    """The working-day calendar from `reports.holidays` and `reports.workdays`."""
    return WorkCalendar.of(config.reports.holidays, config.reports.workdays)


def build_report(
    conn: psycopg.Connection,
    name: ReportName,
    f: ReportFilter,
    config: CityConfig,
    *,
    today: date,
    lang: Lang = "zh",
    status: StatusFilter = "all",
) -> Report:
    """The named report for the filter."""
    if name == "ratings":
        return ratings_report(conn, f, lang)
    if name == "usage":
        return usage_report(
            conn,
            f,
            today=today,
            calendar=calendar_of(config),
            min_open_hours=config.reports.min_open_hours,
            lang=lang,
        )
    if name == "health":
        return health_report(
            conn,
            f,
            window_days=config.reports.warning_window_days,
            timezone=config.timezone,
            lang=lang,
        )
    return followups_report(conn, f, status, today=today, timezone=config.timezone, lang=lang)
