"""好差评 per centre and service item over a period: counts per level, satisfaction rate,
the reasons given for 不满意/非常不满意 (from report_ratings_daily, report_rating_reasons_daily).

Satisfaction rate (满意率, docs/reports.md): ratings at 基本满意 or better (levels 3-5) divided
by all ratings; None when there are none. 差评 are levels 1-2.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import psycopg

from city.reports.filters import ReportFilter
from city.reports.labels import LEVELS, Lang, code_label, level_label, ordered
from city.reports.scope import day_scope, query
from city.reports.table import Cell, Column, Report, Table

ALL_ITEMS = "*"
SATISFIED_LEVELS = (5, 4, 3)
LOW_LEVELS = (2, 1)


@dataclass
class RatingCounts:
    """One centre (and item, or every item) over the period."""

    city: str
    centre: str
    item: str
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


def rating_counts(conn: psycopg.Connection, f: ReportFilter) -> list[RatingCounts]:
    """Per centre: an every-item row (item '*') first, then one row per item, busiest first."""
    where, params = day_scope(f)
    rows: dict[tuple[str, str, str], RatingCounts] = {}

    def at(city: str, centre: str, item: str) -> RatingCounts:
        key = (city, centre, item)
        if key not in rows:
            rows[key] = RatingCounts(city, centre, item)
        return rows[key]

    for city, centre, item, level, n in conn.execute(
        query(
            "SELECT city, centre, item, level, sum(n)::bigint FROM report_ratings_daily"
            " WHERE {where} GROUP BY city, centre, item, level",
            where,
        ),
        params,
    ):
        at(city, centre, item).levels[level] += n
        at(city, centre, ALL_ITEMS).levels[level] += n
    for city, centre, item, reason, n in conn.execute(
        query(
            "SELECT city, centre, item, reason, sum(n)::bigint FROM report_rating_reasons_daily"
            " WHERE {where} AND level <= 2 GROUP BY city, centre, item, reason",
            where,
        ),
        params,
    ):
        for key in (item, ALL_ITEMS):
            reasons = at(city, centre, key).reasons
            reasons[reason] = reasons.get(reason, 0) + n
    by_centre: dict[tuple[str, str], list[RatingCounts]] = defaultdict(list)
    for row in rows.values():
        by_centre[(row.city, row.centre)].append(row)
    ordered_rows: list[RatingCounts] = []
    for key in sorted(by_centre):
        group = by_centre[key]
        group.sort(key=lambda r: (r.item != ALL_ITEMS, -r.total, r.item))
        ordered_rows += group
    return ordered_rows


def ratings_report(conn: psycopg.Connection, f: ReportFilter, lang: Lang = "zh") -> Report:
    """The 好差评 report as one table."""
    counts = rating_counts(conn, f)
    reasons = ordered("reason", {r for c in counts for r in c.reasons})
    columns = (
        Column("city", "城市", "City"),
        Column("centre", "服务中心", "Centre"),
        Column("item", "服务事项", "Service item"),
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
    all_items = "（全部事项）" if lang == "zh" else "(all items)"
    no_item = "（未关联事项）" if lang == "zh" else "(no item)"
    rows: list[tuple[Cell, ...]] = []
    for c in counts:
        item = all_items if c.item == ALL_ITEMS else (c.item or no_item)
        rate = c.satisfaction_rate
        rows.append(
            (
                c.city,
                c.centre,
                item,
                *(c.levels[n] for n in LEVELS),
                c.total,
                c.low,
                None if rate is None else round(rate, 4),
                *(c.reasons.get(r, 0) for r in reasons),
            )
        )
    table = Table("ratings", ("好差评统计", "Ratings (好差评)"), columns, rows)
    return Report(
        "ratings", ("好差评报表", "Ratings report"), (f.first, f.last), f.centre_label(), (table,)
    )
