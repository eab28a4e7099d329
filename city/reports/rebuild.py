"""Recompute the rollups of a period from the `events` table (`python -m city db
rebuild-reports`): for events stored before migration 0004, or after a change of `timezone`.

One transaction. The rollup tables are locked EXCLUSIVE first (reads go on; the ingest's
upserts wait), so an ingest transaction either committed before the rebuild reads `events`
or adds its counts after the rebuild commits: nothing is counted twice or lost. Follow-ups
and early-warning readings are only ever added (ON CONFLICT DO NOTHING): answers stay.
The SQL mirrors city/reports/rollup.py; tests/city/test_report_rebuild.py holds them equal.
"""

# ruff: noqa: S608 — every statement is composed from constants at import; values are parameters

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from city.reports.rollup import (
    CENTRE_DAY_COLUMNS,
    ENDED_REASONS,
    RollupPolicy,
    delta_of,
    insert_followups,
)

ROLLUP_TABLES = (
    "report_usage_daily",
    "report_sessions_hourly",
    "report_ratings_daily",
    "report_rating_reasons_daily",
    "report_health_daily",
    "report_city_usage_daily",
    "report_city_hourly",
    "report_city_ratings_daily",
    "report_centre_daily",
)
LOCAL_DAY = "(ts AT TIME ZONE %(tz)s)::date"
IN_RANGE = "ts >= %(start)s AND ts < %(end)s"
DELETES = (
    "DELETE FROM report_usage_daily WHERE day BETWEEN %(first)s AND %(last)s",
    "DELETE FROM report_sessions_hourly WHERE hour >= %(first)s::timestamp"
    " AND hour < (%(last)s::date + 1)::timestamp",
    "DELETE FROM report_ratings_daily WHERE day BETWEEN %(first)s AND %(last)s",
    "DELETE FROM report_rating_reasons_daily WHERE day BETWEEN %(first)s AND %(last)s",
    "DELETE FROM report_health_daily WHERE day BETWEEN %(first)s AND %(last)s",
    "DELETE FROM report_city_usage_daily WHERE day BETWEEN %(first)s AND %(last)s",
    "DELETE FROM report_city_hourly WHERE hour >= %(first)s::timestamp"
    " AND hour < (%(last)s::date + 1)::timestamp",
    "DELETE FROM report_city_ratings_daily WHERE day BETWEEN %(first)s AND %(last)s",
    "DELETE FROM report_centre_daily WHERE day BETWEEN %(first)s AND %(last)s",
)
USAGE_METRICS = (
    ("started", "session.started", "data->>'flow'"),
    ("ended", "session.ended", "data->>'reason'"),
    ("card", "card.read", "data->>'card_type'"),
    ("qr", "qr.scanned", "data->>'kind'"),
    ("item", "service.selected", "data->>'item_id'"),
)
INSERTS = (
    *(
        "INSERT INTO report_usage_daily (day, city, centre, metric, key, n)"
        f" SELECT {LOCAL_DAY}, split_part(kiosk, '/', 1), split_part(kiosk, '/', 2),"
        f" '{metric}', coalesce({key}, ''), count(*) FROM events"
        f" WHERE type = '{event_type}' AND {IN_RANGE} GROUP BY 1, 2, 3, 5"
        for metric, event_type, key in USAGE_METRICS
    ),
    "INSERT INTO report_usage_daily (day, city, centre, metric, key, n)"
    f" SELECT {LOCAL_DAY}, split_part(kiosk, '/', 1), split_part(kiosk, '/', 2), 'identified',"
    " CASE WHEN (data->'identified')::boolean THEN 'yes' ELSE 'no' END, count(*) FROM events"
    f" WHERE type = 'session.ended' AND {IN_RANGE} AND jsonb_typeof(data->'identified') = 'boolean'"
    " GROUP BY 1, 2, 3, 5",
    "INSERT INTO report_sessions_hourly (hour, city, centre, n)"
    " SELECT date_trunc('hour', ts AT TIME ZONE %(tz)s), split_part(kiosk, '/', 1),"
    " split_part(kiosk, '/', 2), count(*) FROM events"
    f" WHERE type = 'session.started' AND {IN_RANGE} GROUP BY 1, 2, 3",
    "INSERT INTO report_ratings_daily (day, city, centre, item, level, n)"
    f" SELECT {LOCAL_DAY}, split_part(kiosk, '/', 1), split_part(kiosk, '/', 2),"
    " coalesce(data->>'item_id', ''), (data->>'level')::smallint, count(*) FROM events"
    f" WHERE type = 'rating.submitted' AND {IN_RANGE} GROUP BY 1, 2, 3, 4, 5",
    "INSERT INTO report_rating_reasons_daily (day, city, centre, item, level, reason, n)"
    " SELECT day, city, centre, item, level, reason, count(*) FROM ("
    f"  SELECT DISTINCT e.id, {LOCAL_DAY} AS day, split_part(kiosk, '/', 1) AS city,"
    "  split_part(kiosk, '/', 2) AS centre, coalesce(data->>'item_id', '') AS item,"
    "  (data->>'level')::smallint AS level, r.reason"
    "  FROM events e, jsonb_array_elements_text(e.data->'reasons') AS r(reason)"
    f"  WHERE type = 'rating.submitted' AND {IN_RANGE}) x GROUP BY 1, 2, 3, 4, 5, 6",
    "INSERT INTO report_health_daily (day, city, centre, class, n)"
    f" SELECT {LOCAL_DAY}, split_part(kiosk, '/', 1), split_part(kiosk, '/', 2),"
    " coalesce(data->>'classification', 'device_error'), count(*) FROM events"
    f" WHERE type = 'bp.measured' AND {IN_RANGE} GROUP BY 1, 2, 3, 4",
)
# The coarser grains, summed from the fine ones just rebuilt (as Delta.coarsen does).
HOURS = "hour >= %(first)s::timestamp AND hour < (%(last)s::date + 1)::timestamp"
DAYS = "day BETWEEN %(first)s AND %(last)s"


def _zeros(count: int) -> str:
    return ", ".join(["0"] * count)


COARSE = (
    "INSERT INTO report_city_usage_daily (day, city, metric, key, n)"
    f" SELECT day, city, metric, key, sum(n) FROM report_usage_daily WHERE {DAYS}"
    " GROUP BY 1, 2, 3, 4",
    "INSERT INTO report_city_hourly (hour, city, n)"
    f" SELECT hour, city, sum(n) FROM report_sessions_hourly WHERE {HOURS} GROUP BY 1, 2",
    "INSERT INTO report_city_ratings_daily (day, city, item, level, n)"
    f" SELECT day, city, item, level, sum(n) FROM report_ratings_daily WHERE {DAYS}"
    " GROUP BY 1, 2, 3, 4",
    f"INSERT INTO report_centre_daily (day, city, centre, {', '.join(CENTRE_DAY_COLUMNS)})"
    " SELECT day, city, centre, min(fh), max(lh), "
    + ", ".join(f"sum(c{i})" for i in range(len(CENTRE_DAY_COLUMNS) - 2))
    + " FROM ("
    " SELECT day, city, centre, NULL::int AS fh, NULL::int AS lh,"
    " CASE WHEN metric = 'started' THEN n ELSE 0 END AS c0, "
    + ", ".join(
        f"CASE WHEN metric = 'ended' AND key = '{r}' THEN n ELSE 0 END AS c{1 + i}"
        for i, r in enumerate(ENDED_REASONS)
    )
    + ", CASE WHEN metric = 'identified' AND key = 'yes' THEN n ELSE 0 END AS c6,"
    " CASE WHEN metric = 'identified' AND key = 'no' THEN n ELSE 0 END AS c7, "
    + ", ".join(f"0 AS c{8 + i}" for i in range(5))
    + f" FROM report_usage_daily WHERE {DAYS} AND metric IN ('started', 'ended', 'identified')"
    " UNION ALL SELECT hour::date, city, centre, extract(hour FROM hour)::int,"
    f" extract(hour FROM hour)::int, {_zeros(13)} FROM report_sessions_hourly WHERE {HOURS}"
    f" UNION ALL SELECT day, city, centre, NULL, NULL, {_zeros(8)}, "
    + ", ".join(f"CASE WHEN level = {n} THEN n ELSE 0 END" for n in (1, 2, 3, 4, 5))
    + f" FROM report_ratings_daily WHERE {DAYS}) x GROUP BY 1, 2, 3",
)
SYSTOLIC = (
    "(jsonb_path_query_first(data, '$.observation.component[*] ? "
    '(@.code.coding[0].code == "8480-6").valueQuantity.value\'))::float8'
)
DIASTOLIC = SYSTOLIC.replace("8480-6", "8462-4")
HIGH_READINGS = (
    "INSERT INTO report_high_bp (event_id, key_id, subject, session_id, taken_at, day, city,"
    " centre, classification, systolic, diastolic, heart_rate)"
    " SELECT id, coalesce(substring(data#>>'{observation,subject,identifier,system}'"
    " FROM '^urn:civic-kiosk:pseudonym:(.*)$'), ''), data->>'subject',"
    f" (data->>'session_id')::uuid, ts, {LOCAL_DAY}, split_part(kiosk, '/', 1),"
    " split_part(kiosk, '/', 2), data->>'classification', sys, dia,"
    " (data#>>'{heart_rate,valueQuantity,value}')::float8"
    f" FROM (SELECT *, {SYSTOLIC} AS sys, {DIASTOLIC} AS dia FROM events"
    f"  WHERE type = 'bp.measured' AND {IN_RANGE}) e"
    " WHERE data->'consent' = 'true' AND jsonb_typeof(data->'subject') = 'string'"
    " AND sys IS NOT NULL AND dia IS NOT NULL"
    " AND (data->>'classification' IN ('grade_2', 'grade_3')"
    "  OR (data->>'classification' = 'isolated_systolic' AND sys >= 160))"
    " ON CONFLICT (event_id) DO NOTHING"
)
LOW_RATINGS_WITHOUT_FOLLOWUP = (
    "SELECT id::text, kiosk, type, to_char(ts AT TIME ZONE 'UTC',"
    ' \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\'), data FROM events e'
    f" WHERE type = 'rating.submitted' AND {IN_RANGE} AND (data->>'level')::int <= 2"
    " AND NOT EXISTS (SELECT 1 FROM report_followups f WHERE f.event_id = e.id)"
)


@dataclass(frozen=True)
class _Row:
    id: str
    kiosk: str
    type: str
    ts: str
    data: dict[str, Any]


def rebuild(conn: psycopg.Connection, first: date, last: date, policy: RollupPolicy) -> int:
    """Recompute the rollups of local days first..last; returns the follow-ups it added."""
    zone = ZoneInfo(policy.timezone)
    params = {
        "tz": policy.timezone,
        "first": first,
        "last": last,
        "start": datetime.combine(first, time(), zone),
        "end": datetime.combine(last + timedelta(days=1), time(), zone),
    }
    with conn.cursor() as cur:
        cur.execute("LOCK TABLE " + ", ".join(ROLLUP_TABLES) + " IN EXCLUSIVE MODE")
        for statement in (*DELETES, *INSERTS, *COARSE, HIGH_READINGS):
            cur.execute(statement, params)
        rows = [_Row(*r) for r in cur.execute(LOW_RATINGS_WITHOUT_FOLLOWUP, params)]
        followups = delta_of(rows, policy).followups
        insert_followups(cur, followups)
    conn.commit()
    return len(followups)
