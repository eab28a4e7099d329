"""Use of services per centre: sessions by day and by hour of the week, the most used items,
how residents identified themselves, how sessions ended, and the ≥ 8 h opening check.

Opening check (docs/reports.md): on every working day of the period (before today) a centre
is flagged when its inventory opening hours give it less than `reports.min_open_hours` that
day, or when its hours of activity (first to last local hour with a session started, both
included) are fewer. Centres are those the `kiosks` table knows.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import psycopg
from psycopg import sql

from city.inventory import parse_hours
from city.reports.calendar import WorkCalendar
from city.reports.filters import ReportFilter
from city.reports.labels import Lang, code_label, ordered
from city.reports.rollup import ENDED_REASONS
from city.reports.scope import day_scope, days_of, hour_scope, query
from city.reports.table import Cell, Column, Report, Table

TOP_ITEMS = 50
TIMED_OUT = "idle_timeout"
FULL_DAY_H = 24.0

CentreKey = tuple[str, str]


@dataclass
class Usage:
    """Everything the usage report shows, before it becomes tables."""

    by_day: dict[date, int] = field(default_factory=dict)
    heatmap: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])
    items: list[tuple[str, int]] = field(default_factory=list)
    identification: list[tuple[str, str, int]] = field(default_factory=list)
    ended: Counter[str] = field(default_factory=Counter)
    centres: dict[CentreKey, Counter[str]] = field(default_factory=dict)
    flags: list[tuple[date, str, str, float, float, int]] = field(default_factory=list)
    flags_total: int = 0


@functools.lru_cache(maxsize=4096)
def opening_hours_per_weekday(texts: tuple[str, ...]) -> tuple[float, ...]:
    """Hours open on each weekday (0 = Monday): the longest of the centre's kiosks.

    An empty text means always open (city/inventory.py); an unreadable one counts as unknown
    and is skipped (the inventory loader refuses those anyway).
    """
    hours = [0.0] * 7
    for text in texts or ("",):
        try:
            parsed = parse_hours(text)
        except ValueError:
            continue
        if parsed is None:
            return (FULL_DAY_H,) * 7
        closes = parsed.closes
        span = (
            datetime.combine(date.min, closes) - datetime.combine(date.min, parsed.opens)
        ).total_seconds() / 3600
        if closes == time.max:
            span = round(span, 2)
        for day in parsed.days:
            hours[day] = max(hours[day], span)
    return tuple(hours)


def usage_data(
    conn: psycopg.Connection,
    f: ReportFilter,
    *,
    today: date,
    calendar: WorkCalendar,
    min_open_hours: float,
    flag_limit: int | None = None,
) -> Usage:
    """Read the rollups for the usage report (at most `flag_limit` opening flags)."""
    usage = Usage(by_day=dict.fromkeys(days_of(f), 0))
    where, params = day_scope(f)
    # City-wide: the tables without centres (thousands of rows a month, not millions).
    usage_table = sql.Identifier(
        "report_city_usage_daily" if f.centre is None else "report_usage_daily"
    )
    hourly_table = sql.Identifier(
        "report_city_hourly" if f.centre is None else "report_sessions_hourly"
    )

    def rows(
        template: str,
        scope: tuple[sql.Composable, list[Any]] = (where, params),
        table: sql.Composable = usage_table,
    ) -> Any:
        return conn.execute(sql.SQL(template).format(where=scope[0], table=table), scope[1])

    for day, n in rows(
        "SELECT day, sum(n)::bigint FROM {table} WHERE {where} AND metric = 'started' GROUP BY day"
    ):
        usage.by_day[day] = n
    centre_counts: dict[CentreKey, Counter[str]] = defaultdict(Counter)
    for city, centre, *values in rows(CENTRE_USAGE_QUERY):
        centre_counts[(city, centre)] = Counter(dict(zip(CENTRE_USAGE_NAMES, values, strict=True)))
    usage.items = [
        (key, n)
        for key, n in rows(
            "SELECT key, sum(n)::bigint FROM {table} WHERE {where} AND metric = 'item'"
            " GROUP BY key ORDER BY 2 DESC, 1 LIMIT %s",
            (where, [*params, TOP_ITEMS]),
        )
    ]
    ident: list[tuple[str, str, int]] = []
    for metric, key, n in rows(
        "SELECT metric, key, sum(n)::bigint FROM {table}"
        " WHERE {where} AND metric IN ('ended', 'card', 'qr', 'identified')"
        " GROUP BY metric, key ORDER BY metric, key"
    ):
        if metric == "ended":
            usage.ended[key] += n
        elif metric in ("card", "qr"):
            ident.append((metric, key, n))
        elif key == "no":
            ident.append(("anonymous", "", n))
    usage.identification = sorted(ident)
    hours = hour_scope(f)
    for weekday, hour, n in rows(
        "SELECT extract(isodow FROM hour)::int - 1, extract(hour FROM hour)::int, sum(n)::bigint"
        " FROM {table} WHERE {where} GROUP BY 1, 2",
        hours,
        hourly_table,
    ):
        usage.heatmap[weekday][hour] = n
    known = _centres(conn, f)
    for key in known:
        centre_counts.setdefault(key, Counter())
    usage.centres = dict(sorted(centre_counts.items()))
    working = calendar.working_days_between(f.first, min(f.last, today - timedelta(days=1)))
    if known and working:
        usage.flags, usage.flags_total = _opening_flags(
            conn,
            known=known,
            working=working,
            days=(where, params),
            min_open_hours=min_open_hours,
            limit=flag_limit,
        )
    return usage


LONG_DAYS = (
    "SELECT day, city, centre FROM report_centre_daily WHERE {where}"
    " AND first_hour IS NOT NULL AND last_hour - first_hour + 1 >= %s"
)
SHOWN_DAYS = (
    "SELECT day, city, centre, (last_hour - first_hour + 1)::float8, sessions::int"
    " FROM report_centre_daily WHERE first_hour IS NOT NULL"
    " AND (day, city, centre) IN (SELECT * FROM unnest(%s::date[], %s::text[], %s::text[]))"
)


def _opening_flags(
    conn: psycopg.Connection,
    *,
    known: dict[CentreKey, tuple[float, ...]],
    working: list[date],
    days: tuple[sql.Composable, list[Any]],
    min_open_hours: float,
    limit: int | None,
) -> tuple[list[tuple[date, str, str, float, float, int]], int]:
    """The flagged (day, centre)s in order (at most `limit`) and how many there are.

    Only the long days are read (activity ≥ the minimum); a known centre's working day that is
    not one of them, or whose published hours are short, is flagged. Counting is set
    arithmetic, so a city-wide month costs one indexed read, not centres × days rows.
    """
    where, params = days
    long_days: dict[date, set[CentreKey]] = defaultdict(set)
    for day, city, centre in conn.execute(query(LONG_DAYS, where), [*params, min_open_hours]):
        long_days[day].add((city, centre))
    keys = sorted(known)
    short_by_weekday = [
        {k for k in keys if known[k][weekday] < min_open_hours} for weekday in range(7)
    ]
    total = 0
    chosen: list[tuple[date, CentreKey]] = []
    for day in working:
        short = short_by_weekday[day.weekday()]
        long_ok = sum(1 for k in long_days.get(day, ()) if k in known and k not in short)
        flagged_today = len(keys) - long_ok
        total += flagged_today
        if flagged_today and (limit is None or len(chosen) < limit):
            for key in keys:
                if key in short or key not in long_days.get(day, ()):
                    chosen.append((day, key))
                    if limit is not None and len(chosen) >= limit:
                        break
    activity: dict[tuple[date, str, str], tuple[float, int]] = {}
    if chosen:
        columns = [[d for d, _k in chosen], [k[0] for _d, k in chosen], [k[1] for _d, k in chosen]]
        for day, city, centre, span, n in conn.execute(SHOWN_DAYS, columns):
            activity[(day, city, centre)] = (span, n)
    flags = []
    for day, (city, centre) in chosen:
        span, n = activity.get((day, city, centre), (0.0, 0))
        flags.append((day, city, centre, known[(city, centre)][day.weekday()], span, n))
    return flags, total


def _centres(conn: psycopg.Connection, f: ReportFilter) -> dict[CentreKey, tuple[float, ...]]:
    statement = (
        "SELECT city, centre, array_agg(DISTINCT coalesce(opening_hours, '')"
        " ORDER BY coalesce(opening_hours, '')) FROM kiosks"
    )
    params: list[str] = []
    if f.centre is not None:
        statement += " WHERE centre = %s"
        params.append(f.centre)
        if f.city is not None:
            statement += " AND city = %s"
            params.append(f.city)
    statement += " GROUP BY city, centre"
    return {
        (city, centre): opening_hours_per_weekday(tuple(texts))
        for city, centre, texts in conn.execute(statement, params)
    }


CENTRE_USAGE_NAMES = (
    "sessions",
    *(f"ended:{r}" for r in ENDED_REASONS),
    "identified:yes",
    "identified:no",
)
CENTRE_USAGE_SUMS = ", ".join(
    f"sum({c})::bigint"
    for c in ("sessions", *(f"ended_{r}" for r in ENDED_REASONS), "identified", "anonymous")
)
CENTRE_USAGE_QUERY = (
    f"SELECT city, centre, {CENTRE_USAGE_SUMS} FROM report_centre_daily"  # noqa: S608 — constants
    " WHERE {where} GROUP BY city, centre"
)
WEEKDAYS = (
    ("周一", "Mon"),
    ("周二", "Tue"),
    ("周三", "Wed"),
    ("周四", "Thu"),
    ("周五", "Fri"),
    ("周六", "Sat"),
    ("周日", "Sun"),
)
IDENT_KIND = {
    "card": ("证件", "ID card"),
    "qr": ("二维码", "QR code"),
    "anonymous": ("匿名", "Anonymous"),
}


def usage_report(
    conn: psycopg.Connection,
    f: ReportFilter,
    *,
    today: date,
    calendar: WorkCalendar,
    min_open_hours: float,
    lang: Lang = "zh",
) -> Report:
    """The usage report's tables."""
    u = usage_data(conn, f, today=today, calendar=calendar, min_open_hours=min_open_hours)
    return usage_tables(u, f, lang)


def usage_tables(u: Usage, f: ReportFilter, lang: Lang) -> Report:
    """Tables from read usage data."""
    by_day = Table(
        "sessions_by_day",
        ("每日服务人次", "Sessions by day"),
        (Column("day", "日期", "Day"), Column("sessions", "服务人次", "Sessions")),
        [(d, n) for d, n in sorted(u.by_day.items())],
    )
    heat = Table(
        "sessions_by_hour_of_week",
        ("分时段服务人次", "Sessions by hour of the week"),
        (
            Column("weekday", "星期", "Weekday"),
            *(Column(f"h{h:02d}", f"{h:02d}时", f"{h:02d}h") for h in range(24)),
        ),
        [(WEEKDAYS[w][0 if lang == "zh" else 1], *u.heatmap[w]) for w in range(7)],
    )
    ends = ordered("ended", list(u.ended))
    centre_rows: list[tuple[Cell, ...]] = []
    for (city, centre), c in u.centres.items():
        centre_rows.append(
            (
                city,
                centre,
                c["sessions"],
                *(c[f"ended:{e}"] for e in ends),
                c["identified:yes"],
                c["identified:no"],
            )
        )
    centres = Table(
        "centres",
        ("各中心服务情况", "Sessions per centre"),
        (
            Column("city", "城市", "City"),
            Column("centre", "服务中心", "Centre"),
            Column("sessions", "服务人次", "Sessions"),
            *(
                Column(f"ended_{e}", code_label("ended", e, "zh"), code_label("ended", e, "en"))
                for e in ends
            ),
            Column("identified", "已认证身份", "Identified"),
            Column("anonymous", "匿名", "Anonymous"),
        ),
        centre_rows,
    )
    items = Table(
        "items",
        ("常用服务事项", "Most used items"),
        (Column("item", "服务事项", "Service item"), Column("count", "使用次数", "Times opened")),
        [(i, n) for i, n in u.items],
    )
    ident = Table(
        "identification",
        ("身份认证方式", "How residents identified themselves"),
        (
            Column("method", "方式", "Method"),
            Column("kind", "类型", "Kind"),
            Column("count", "次数", "Count"),
        ),
        [
            (
                IDENT_KIND[m][0 if lang == "zh" else 1],
                code_label(m, k, lang) if k else "",
                n,
            )
            for m, k, n in u.identification
        ],
    )
    flags = Table(
        "opening_check",
        ("开放时长不足8小时", "Open fewer than 8 hours"),
        (
            Column("day", "日期", "Day"),
            Column("city", "城市", "City"),
            Column("centre", "服务中心", "Centre"),
            Column("opening_hours", "公布开放时长(小时)", "Opening hours (h)"),
            Column("activity_hours", "实际服务时段(小时)", "Hours of activity (h)"),
            Column("sessions", "服务人次", "Sessions"),
        ),
        [tuple(row) for row in u.flags],
    )
    return Report(
        "usage",
        ("服务使用情况报表", "Use of services"),
        (f.first, f.last),
        f.centre_label(),
        (by_day, heat, centres, items, ident, flags),
    )
