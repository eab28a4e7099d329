"""Use of services per centre: sessions by day and by hour of the week, the most used items,
how residents identified themselves, how sessions ended, and the ≥ 8 h opening check.

Opening check (docs/reports.md): on every working day of the period (before today) a centre
is flagged when its inventory opening hours give it less than `reports.min_open_hours` that
day, or when its hours of activity (first to last local hour with a session started, both
included) are fewer. Centres are those the `kiosks` table knows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import psycopg

from city.inventory import parse_hours
from city.reports.calendar import WorkCalendar
from city.reports.filters import ReportFilter
from city.reports.labels import Lang, code_label, ordered
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


def opening_hours_per_weekday(texts: list[str]) -> list[float]:
    """Hours open on each weekday (0 = Monday): the longest of the centre's kiosks.

    An empty text means always open (city/inventory.py); an unreadable one counts as unknown
    and is skipped (the inventory loader refuses those anyway).
    """
    hours = [0.0] * 7
    for text in texts or [""]:
        try:
            parsed = parse_hours(text)
        except ValueError:
            continue
        if parsed is None:
            return [FULL_DAY_H] * 7
        closes = parsed.closes
        span = (
            datetime.combine(date.min, closes) - datetime.combine(date.min, parsed.opens)
        ).total_seconds() / 3600
        if closes == time.max:
            span = round(span, 2)
        for day in parsed.days:
            hours[day] = max(hours[day], span)
    return hours


def activity_span(hours: set[int]) -> int:
    """Hours from the first active hour to the last, both included (0 when none)."""
    return 0 if not hours else max(hours) - min(hours) + 1


def usage_data(
    conn: psycopg.Connection,
    f: ReportFilter,
    *,
    today: date,
    calendar: WorkCalendar,
    min_open_hours: float,
) -> Usage:
    """Read the rollups for the usage report."""
    usage = Usage(by_day=dict.fromkeys(days_of(f), 0))
    where, params = day_scope(f)
    centre_counts: dict[CentreKey, Counter[str]] = defaultdict(Counter)
    items: Counter[str] = Counter()
    ident: Counter[tuple[str, str]] = Counter()
    for day, city, centre, metric, key, n in conn.execute(
        query(
            "SELECT day, city, centre, metric, key, sum(n)::bigint FROM report_usage_daily"
            " WHERE {where} GROUP BY day, city, centre, metric, key",
            where,
        ),
        params,
    ):
        counts = centre_counts[(city, centre)]
        if metric == "started":
            usage.by_day[day] = usage.by_day.get(day, 0) + n
            counts["sessions"] += n
        elif metric == "ended":
            usage.ended[key] += n
            counts[f"ended:{key}"] += n
        elif metric == "item":
            items[key] += n
        elif metric in ("card", "qr"):
            ident[(metric, key)] += n
        elif metric == "identified":
            counts[f"identified:{key}"] += n
            if key == "no":
                ident[("anonymous", "")] += n
    usage.items = sorted(items.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_ITEMS]
    usage.identification = [(m, k, n) for (m, k), n in sorted(ident.items())]
    where_h, params_h = hour_scope(f)
    active: dict[tuple[CentreKey, date], set[int]] = defaultdict(set)
    for hour, city, centre, n in conn.execute(
        query("SELECT hour, city, centre, n FROM report_sessions_hourly WHERE {where}", where_h),
        params_h,
    ):
        usage.heatmap[hour.weekday()][hour.hour] += n
        active[((city, centre), hour.date())].add(hour.hour)
    known = _centres(conn, f)
    for key in known:
        centre_counts.setdefault(key, Counter())
    usage.centres = dict(sorted(centre_counts.items()))
    for day in calendar.working_days_between(f.first, min(f.last, today - timedelta(days=1))):
        for key, weekday_hours in sorted(known.items()):
            opening = weekday_hours[day.weekday()]
            span = activity_span(active.get((key, day), set()))
            if opening < min_open_hours or span < min_open_hours:
                usage.flags.append(
                    (day, *key, opening, float(span), len(active.get((key, day), ())))
                )
    return usage


def _centres(conn: psycopg.Connection, f: ReportFilter) -> dict[CentreKey, list[float]]:
    sql = "SELECT city, centre, array_agg(coalesce(opening_hours, '')) FROM kiosks"
    params: list[str] = []
    if f.centre is not None:
        sql += " WHERE centre = %s"
        params.append(f.centre)
        if f.city is not None:
            sql += " AND city = %s"
            params.append(f.city)
    sql += " GROUP BY city, centre"
    return {
        (city, centre): opening_hours_per_weekday(list(texts))
        for city, centre, texts in conn.execute(sql, params)
    }


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
            Column("active_hours", "有服务的小时数", "Hours with sessions"),
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
