"""Health huts: blood-pressure measurements and their guideline classes per centre, and the
early-warning list (智能预警) for the community doctor.

Early warning (docs/reports.md): a consenting resident (pseudonym only) with grade 2 or 3
readings (isolated systolic at 160 mmHg or more counts as grade 2) on two different local days
at most `reports.warning_window_days` apart, the later one in the period. The list holds the
pseudonym (key id and HMAC) and the readings, nothing else: no centre, kiosk or session.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from city.reports.filters import ReportFilter
from city.reports.labels import CLASS_ORDER, Lang, code_label
from city.reports.scope import day_scope, query
from city.reports.table import Cell, Column, Report, Table


@dataclass(frozen=True)
class Reading:
    """One high reading on the list."""

    taken_at: datetime
    systolic: float
    diastolic: float
    heart_rate: float | None
    classification: str


@dataclass(frozen=True)
class Warning:
    """One resident on the list: the pseudonym and the readings."""

    key_id: str
    subject: str
    readings: tuple[Reading, ...]


def class_counts(
    conn: psycopg.Connection, f: ReportFilter
) -> dict[tuple[str, str], dict[str, int]]:
    """(city, centre) → class → measurements in the period."""
    where, params = day_scope(f)
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for city, centre, klass, n in conn.execute(
        query(
            "SELECT city, centre, class, sum(n)::bigint FROM report_health_daily"
            " WHERE {where} GROUP BY city, centre, class ORDER BY city, centre",
            where,
        ),
        params,
    ):
        counts[(city, centre)][klass] = n
    return dict(counts)


def early_warnings(conn: psycopg.Connection, f: ReportFilter, window_days: int) -> list[Warning]:
    """Residents to follow up, with every high reading from window_days before the period."""
    reach = ReportFilter(f.first - timedelta(days=window_days), f.last, f.city, f.centre)
    where, params = day_scope(reach)
    cur = conn.execute(
        query(
            "WITH r AS (SELECT * FROM report_high_bp WHERE {where}),"
            " flagged AS (SELECT DISTINCT a.key_id, a.subject FROM r a JOIN r b"
            "  ON a.subject = b.subject AND a.key_id = b.key_id"
            "  AND b.day > a.day AND b.day - a.day <= %s AND b.day BETWEEN %s AND %s)"
            " SELECT r.key_id, r.subject, r.taken_at, r.systolic, r.diastolic, r.heart_rate,"
            " r.classification FROM r JOIN flagged USING (key_id, subject)"
            " ORDER BY r.key_id, r.subject, r.taken_at",
            where,
        ),
        [*params, window_days, f.first, f.last],
    )
    grouped: dict[tuple[str, str], list[Reading]] = defaultdict(list)
    for key_id, subject, *reading in cur:
        grouped[(key_id, subject)].append(Reading(*reading))
    return [Warning(k, s, tuple(r)) for (k, s), r in grouped.items()]


def health_report(
    conn: psycopg.Connection, f: ReportFilter, *, window_days: int, timezone: str, lang: Lang = "zh"
) -> Report:
    """Class distribution per centre and the early-warning list."""
    counts = class_counts(conn, f)
    classes = [c for c in CLASS_ORDER if any(c in v for v in counts.values())]
    classes += sorted({c for v in counts.values() for c in v} - set(classes))
    dist = Table(
        "classes",
        ("血压分级分布", "Guideline classes"),
        (
            Column("city", "城市", "City"),
            Column("centre", "服务中心", "Centre"),
            Column("measurements", "测量次数", "Measurements"),
            *(
                Column(f"class_{c}", code_label("class", c, "zh"), code_label("class", c, "en"))
                for c in classes
            ),
        ),
        [
            (city, centre, sum(v.values()), *(v.get(c, 0) for c in classes))
            for (city, centre), v in sorted(counts.items())
        ],
    )
    zone = ZoneInfo(timezone)
    rows: list[tuple[Cell, ...]] = []
    for w in early_warnings(conn, f, window_days):
        for r in w.readings:
            rows.append(
                (
                    w.key_id,
                    w.subject,
                    r.taken_at.astimezone(zone).replace(tzinfo=None),
                    r.systolic,
                    r.diastolic,
                    r.heart_rate,
                    code_label("class", r.classification, lang),
                )
            )
    warnings = Table(
        "early_warning",
        ("智能预警随访名单", "Early-warning follow-up list"),
        (
            Column("key_id", "密钥编号", "Key id"),
            Column("pseudonym", "居民假名", "Pseudonym"),
            Column("taken_at", "测量时间", "Measured at"),
            Column("systolic", "收缩压(mmHg)", "Systolic (mmHg)"),
            Column("diastolic", "舒张压(mmHg)", "Diastolic (mmHg)"),
            Column("heart_rate", "心率(次/分)", "Heart rate (/min)"),
            Column("class", "分级", "Class"),
        ),
        rows,
    )
    return Report(
        "health",
        ("健康小屋报表", "Health huts"),
        (f.first, f.last),
        f.centre_label(),
        (dist, warnings),
    )
