"""好差评 over a period: counts per level, satisfaction rate and the reasons given for
不满意/非常不满意, per centre, per service item, per centre and item, and per day
(report_ratings_daily, report_rating_reasons_daily; summed in SQL).

Satisfaction rate (满意率, docs/reports.md): ratings at 基本满意 or better (levels 3-5) divided
by all ratings; None when there are none. 差评 are levels 1-2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from psycopg import sql

from city.reports.filters import ReportFilter
from city.reports.labels import LEVELS, Lang, code_label, level_label, ordered
from city.reports.scope import day_scope, days_of
from city.reports.table import Cell, Column, Report, Table

Grouping = Literal["centre", "item", "centre_item", "day"]
GROUP_COLUMNS: dict[Grouping, tuple[str, ...]] = {
    "centre": ("city", "centre"),
    "item": ("item",),
    "centre_item": ("city", "centre", "item"),
    "day": ("day",),
}
SATISFIED_LEVELS = (5, 4, 3)
LOW_LEVELS = (2, 1)
LEVEL_SUMS = ", ".join(f"coalesce(sum(n) FILTER (WHERE level = {n}), 0)::bigint" for n in LEVELS)
CENTRE_SUMS = ", ".join(f"sum(level_{n})::bigint" for n in LEVELS)
CENTRE_TOTAL = " + ".join(f"level_{n}" for n in LEVELS)


@dataclass
class RatingCounts:
    """One group (a centre, an item, a centre's item or a day) over the period."""

    key: tuple[Any, ...]
    levels: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Every rating."""
        return sum(self.levels.values())

    @property
    def low(self) -> int:
        """差评: levels 1-2."""
        return sum(self.levels[n] for n in LOW_LEVELS)

    @property
    def satisfaction_rate(self) -> float | None:
        """Levels 3-5 over all ratings (None without ratings)."""
        total = self.total
        return None if total == 0 else sum(self.levels[n] for n in SATISFIED_LEVELS) / total


def rating_counts(
    conn: psycopg.Connection, f: ReportFilter, by: Grouping = "centre", limit: int | None = None
) -> list[RatingCounts]:
    """Groups of the period, most ratings first (days in order); at most `limit` of them."""
    where, params = day_scope(f)
    names = GROUP_COLUMNS[by]
    group = sql.SQL(", ").join(sql.Identifier(n) for n in names)
    rows: dict[tuple[Any, ...], RatingCounts] = {}
    if by == "centre":  # one row per centre and day holds the levels (report_centre_daily)
        statement = sql.SQL(
            "SELECT city, centre, {sums} FROM report_centre_daily WHERE {where}"
            " GROUP BY city, centre HAVING sum({total}) > 0"
            " ORDER BY sum({total}) DESC, city, centre LIMIT %s"
        ).format(sums=sql.SQL(CENTRE_SUMS), where=where, total=sql.SQL(CENTRE_TOTAL))
    else:
        # city-wide items and days come from the table without centres
        table = "report_city_ratings_daily" if f.centre is None else "report_ratings_daily"
        order = group if by == "day" else sql.SQL("sum(n) DESC, {}").format(group)
        if by == "centre_item":
            table = "report_ratings_daily"
        statement = sql.SQL(
            "SELECT {group}, {sums} FROM {table} WHERE {where}"
            " GROUP BY {group} ORDER BY {order} LIMIT %s"
        ).format(
            group=group,
            sums=sql.SQL(LEVEL_SUMS),
            table=sql.Identifier(table),
            where=where,
            order=order,
        )
    cur = conn.execute(statement, [*params, limit])
    width = len(names)
    for values in cur:
        key = tuple(values[:width])
        rows[key] = RatingCounts(key, dict(zip(LEVELS, values[width:], strict=True)))
    for values in conn.execute(
        sql.SQL(
            "SELECT {group}, reason, sum(n)::bigint FROM report_rating_reasons_daily"
            " WHERE {where} AND level <= 2 GROUP BY {group}, reason"
        ).format(group=group, where=where),
        params,
    ):
        counts = rows.get(tuple(values[:width]))
        if counts is not None:
            counts.reasons[values[width]] = values[width + 1]
    return list(rows.values())


ITEM_LIMIT = 1000


def _columns(key_columns: tuple[Column, ...], reasons: list[str]) -> tuple[Column, ...]:
    return (
        *key_columns,
        *(Column(f"level_{n}", level_label(n, "zh"), level_label(n, "en")) for n in LEVELS),
        Column("total", "评价总数", "Ratings"),
        Column("low", "差评数", "Poor ratings"),
        Column("satisfaction_rate", "满意率", "Satisfaction rate"),
        *(
            Column(
                f"reason_{r}",
                "差评原因：" + code_label("reason", r, "zh"),
                "Reason: " + code_label("reason", r, "en"),
            )
            for r in reasons
        ),
    )


def _cells(c: RatingCounts, key: tuple[Cell, ...], reasons: list[str]) -> tuple[Cell, ...]:
    rate = c.satisfaction_rate
    return (
        *key,
        *(c.levels[n] for n in LEVELS),
        c.total,
        c.low,
        None if rate is None else round(rate, 4),
        *(c.reasons.get(r, 0) for r in reasons),
    )


CITY = Column("city", "城市", "City")
CENTRE = Column("centre", "服务中心", "Centre")
ITEM = Column("item", "服务事项", "Service item")
DAY = Column("day", "日期", "Day")


def ratings_report(
    conn: psycopg.Connection, f: ReportFilter, lang: Lang = "zh", *, detail: bool = True
) -> Report:
    """Per centre, per item, per day and (with `detail`) per centre and item."""
    no_item = "（未关联事项）" if lang == "zh" else "(no item)"
    groups: dict[Grouping, list[RatingCounts]] = {
        "centre": rating_counts(conn, f, "centre"),
        "item": rating_counts(conn, f, "item", ITEM_LIMIT),
        "day": rating_counts(conn, f, "day"),
    }
    if detail:
        groups["centre_item"] = rating_counts(conn, f, "centre_item")
    reasons = ordered("reason", {r for c in groups["centre"] for r in c.reasons})

    def item_name(value: Any) -> str:
        return str(value) if value else no_item

    centre_rows = [_cells(c, (c.key[0], c.key[1]), reasons) for c in groups["centre"]]
    by_day = {c.key[0]: c for c in groups["day"]}
    day_rows = [_cells(by_day.get(d) or RatingCounts((d,)), (d,), reasons) for d in days_of(f)]
    tables = [
        Table(
            "by_centre", ("按服务中心", "By centre"), _columns((CITY, CENTRE), reasons), centre_rows
        ),
        Table(
            "by_item",
            ("按服务事项", "By service item"),
            _columns((ITEM,), reasons),
            [_cells(c, (item_name(c.key[0]),), reasons) for c in groups["item"]],
        ),
        Table("by_day", ("按日", "By day"), _columns((DAY,), reasons), day_rows),
    ]
    if detail:
        tables.append(
            Table(
                "by_centre_item",
                ("按中心和事项", "By centre and item"),
                _columns((CITY, CENTRE, ITEM), reasons),
                [
                    _cells(c, (c.key[0], c.key[1], item_name(c.key[2])), reasons)
                    for c in sorted(groups["centre_item"], key=lambda c: (c.key[0], c.key[1]))
                ],
            )
        )
    return Report(
        "ratings",
        ("好差评报表", "Ratings report"),
        (f.first, f.last),
        f.centre_label(),
        tuple(tables),
    )
