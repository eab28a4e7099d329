"""The SQL condition a ReportFilter puts on a rollup table (day range, optional centre).

Composed with psycopg.sql: values are always parameters, column names identifiers.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from psycopg import sql

from city.reports.filters import ReportFilter

Scope = tuple[sql.Composable, list[Any]]


def day_scope(f: ReportFilter, day_column: str = "day") -> Scope:
    """`WHERE` condition and parameters for a table with a local day column, `city`, `centre`."""
    condition = sql.SQL("{} BETWEEN %s AND %s").format(sql.Identifier(day_column))
    return _with_centre(condition, [f.first, f.last], f)


def hour_scope(f: ReportFilter) -> Scope:
    """The same for report_sessions_hourly (local wall-clock hours)."""
    params: list[Any] = [
        datetime.combine(f.first, time()),
        datetime.combine(f.last + timedelta(days=1), time()),
    ]
    return _with_centre(sql.SQL("hour >= %s AND hour < %s"), params, f)


def _with_centre(condition: sql.Composable, params: list[Any], f: ReportFilter) -> Scope:
    if f.centre is not None:
        condition = sql.SQL("{} AND centre = %s").format(condition)
        params.append(f.centre)
        if f.city is not None:
            condition = sql.SQL("{} AND city = %s").format(condition)
            params.append(f.city)
    return condition, params


def query(template: str, scope: sql.Composable) -> sql.Composed:
    """`template` (a constant with one `{where}`) with the scope's condition in it."""
    return sql.SQL(template).format(where=scope)


def days_of(f: ReportFilter) -> list[date]:
    """Every day of the period."""
    return [f.first + timedelta(days=n) for n in range(f.days)]
