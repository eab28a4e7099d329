"""Reports at a city's size (`python -m bench reports`, keys `city.reports.*`): millions of
resident events made with generate_series in a private PostgreSQL, the rollups rebuilt from
them, then each report read from the rollups beside the same figure read from `events`, and
the ingest's write rate with and without the rollup hook (docs/reports.md "Scale").
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from bench.runner import Figure
from city.config import DEFAULT_CONTRACT_DIR
from city.contract import load_contract
from city.db import migrate
from city.messages import Decoded, decode_message
from city.reports.calendar import WorkCalendar
from city.reports.filters import ReportFilter
from city.reports.followups import list_followups
from city.reports.health import early_warnings
from city.reports.ratings import rating_counts
from city.reports.rebuild import rebuild
from city.reports.rollup import ReportRollup, RollupPolicy
from city.reports.usage import usage_data
from city.store import BatchWriter
from testbed import report_events as ev
from testbed.city_events import ROOT, KioskSim, batch
from testbed.postgres import PostgresServer

KIOSKS = 10_000
KIOSKS_PER_CENTRE = 3
DAYS = 30
FIRST = date(2026, 11, 1)
EVENTS_PER_SESSION = 4.2
POLICY = RollupPolicy("Asia/Shanghai", 5, WorkCalendar())
RUNS = 7
# Faster loading for a throwaway bench cluster only; the tests keep fsync on.
SETTINGS = {
    "max_connections": "20",
    "shared_buffers": "256MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_wal_size": "4GB",
    "work_mem": "32MB",
}
SESSION = """
SELECT i,
  '440300/c' || (k / {per}) || '/k' || (k % {per}) AS kiosk,
  ('{first} 09:00+08'::timestamptz + (i % {days}) * interval '1 day'
    + ((i * 31) % 540) * interval '1 minute' + (i % 60) * interval '1 second') AS ts,
  md5(i::text)::uuid::text AS sid
FROM (SELECT i, (i * 7919) % {kiosks} AS k FROM generate_series(1::bigint, {sessions}) AS i) s
"""
INSERT = (
    "INSERT INTO events (id, kiosk, type, ts, boot, stream, seq, schema, data)"
    " SELECT gen_random_uuid(), kiosk, '{type}', ts + {minutes} * interval '1 minute',"
    " '00000000-0000-4000-8000-000000000000', 'main', i * 8 + {seq}, {schema}, {data}"
    " FROM ({session}) s WHERE {where}"
)
# 5 % 非常不满意, 5 % 不满意, 15 % 基本满意, 30 % 满意, 45 % 非常满意
LEVEL = (
    "(CASE WHEN (i * 17) % 20 = 0 THEN 1 WHEN (i * 17) % 20 = 1 THEN 2"
    " WHEN (i * 17) % 20 < 5 THEN 3 WHEN (i * 17) % 20 < 11 THEN 4 ELSE 5 END)"
)
DATA = {
    "session.started": (
        0,
        1,
        "jsonb_build_object('session_id', sid, 'language', 'zh',"
        " 'flow', CASE WHEN i % 10 = 0 THEN 'health' ELSE 'services' END)",
        "true",
    ),
    "service.selected": (
        1,
        1,
        "jsonb_build_object('session_id', sid, 'item_id', 'item-' || ((i * 13) % 97 % 40),"
        " 'category', 'social', 'catalogue_version', '2026.11')",
        "i % 10 <> 0",
    ),
    "card.read": (
        1,
        1,
        "jsonb_build_object('session_id', sid, 'card_type', CASE WHEN i % 50 = 0"
        " THEN 'hkmotw_permit' ELSE 'resident' END, 'subject', md5(i::text) || md5(i::text),"
        " 'key_id', 'k1', 'id_number_valid', true)",
        "i % 2 = 0",
    ),
    "rating.submitted": (
        2,
        1,
        "jsonb_build_object('session_id', sid, 'item_id', 'item-' || ((i * 13) % 97 % 40),"
        f" 'level', {LEVEL}, 'label', '', 'reasons', CASE WHEN {LEVEL} <= 2"
        " THEN '[\"waited_too_long\"]'::jsonb ELSE '[]'::jsonb END)",
        "i % 5 < 3",
    ),
    "bp.measured": (
        2,
        2,
        "jsonb_build_object('session_id', sid, 'consent', i % 20 = 0,"
        " 'subject', CASE WHEN i % 20 = 0 THEN md5('r' || (i / 20 % 5000))"
        "  || md5('s' || (i / 20 % 5000)) END,"
        " 'outcome', 'ok', 'classification', (ARRAY['normal', 'high_normal', 'grade_1',"
        "  'grade_2', 'grade_3', 'normal'])[(i / 10) % 6 + 1],"
        " 'observation', jsonb_build_object('subject', jsonb_build_object('identifier',"
        "  jsonb_build_object('system', 'urn:civic-kiosk:pseudonym:k1')), 'component',"
        "  jsonb_build_array("
        '   jsonb_build_object(\'code\', \'{"coding": [{"code": "8480-6"}]}\'::jsonb,'
        "    'valueQuantity', jsonb_build_object('value', 110 + (i / 10) % 6 * 15)),"
        '   jsonb_build_object(\'code\', \'{"coding": [{"code": "8462-4"}]}\'::jsonb,'
        "    'valueQuantity', jsonb_build_object('value', 70 + (i / 10) % 6 * 9)))))",
        "i % 10 = 0",
    ),
    "session.ended": (
        3,
        1,
        "jsonb_build_object('session_id', sid, 'duration_s', 180, 'identified', i % 2 = 0,"
        " 'reason', CASE WHEN i % 10 < 8 THEN 'completed' WHEN i % 10 = 8 THEN 'idle_timeout'"
        " ELSE 'user_exit' END)",
        "true",
    ),
}


def generate(conn: psycopg.Connection, events: int) -> int:
    """About `events` resident events over 30 days at 10,000 kiosks; returns the count."""
    sessions = int(events / EVENTS_PER_SESSION)
    session = SESSION.format(
        per=KIOSKS_PER_CENTRE, first=FIRST, days=DAYS, kiosks=KIOSKS, sessions=sessions
    )
    for seq, (event_type, (minutes, schema, data, where)) in enumerate(DATA.items()):
        sql = INSERT.format(
            type=event_type,
            minutes=minutes,
            seq=seq,
            schema=schema,
            data=data,
            session=session,
            where=where,
        )
        conn.execute(sql.encode())  # constants only, no parameters: % is SQL's modulo here
        conn.commit()
    # the inventory: every kiosk, one centre in ten open only 09:00-16:00 (flagged: < 8 h)
    conn.execute(
        "INSERT INTO kiosks (kiosk, city, centre, name, in_inventory, opening_hours)"
        f" SELECT '440300/c' || (k / {KIOSKS_PER_CENTRE}) || '/k' || (k % {KIOSKS_PER_CENTRE}),"
        f" '440300', 'c' || (k / {KIOSKS_PER_CENTRE}), 'k' || (k % {KIOSKS_PER_CENTRE}), true,"
        f" CASE WHEN k / {KIOSKS_PER_CENTRE} % 10 = 0 THEN 'Mon-Fri 09:00-16:00'"
        " ELSE 'Mon-Fri 09:00-18:00' END"
        f" FROM generate_series(0, {KIOSKS - 1}) AS k"
    )
    conn.execute("ANALYZE")
    (count,) = conn.execute("SELECT count(*) FROM events").fetchone() or (0,)
    conn.commit()
    return int(count)


def timed(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, float]:
    """Median and worst wall time of `runs` calls, in ms."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


RAW_RATINGS = (
    "SELECT split_part(kiosk, '/', 2), data->>'item_id', (data->>'level')::int, count(*)"
    " FROM events WHERE type = 'rating.submitted' AND ts >= %s AND ts < %s GROUP BY 1, 2, 3"
)
RAW_HEATMAP = (
    "SELECT extract(isodow FROM ts AT TIME ZONE 'Asia/Shanghai'),"
    " extract(hour FROM ts AT TIME ZONE 'Asia/Shanghai'), count(*)"
    " FROM events WHERE type = 'session.started' AND ts >= %s AND ts < %s GROUP BY 1, 2"
)


def _batches(count: int, size: int) -> list[Decoded]:
    contract = load_contract(DEFAULT_CONTRACT_DIR)
    rng = random.Random(5)
    out = []
    for n in range(count):
        sim = ev.at(
            KioskSim(kiosk=f"k{n % 3}", centre=f"c{n}"), datetime(2026, 11, 20, 2, tzinfo=UTC)
        )
        events: list[dict[str, Any]] = []
        while len(events) < size:
            s = ev.new_session()
            sim.clock += timedelta(seconds=rng.randint(1, 300))
            events += [
                ev.session_started(sim, s),
                ev.service_selected(sim, s, f"item-{rng.randint(0, 40)}"),
                ev.rating(sim, s, rng.randint(1, 5), item=f"item-{rng.randint(0, 40)}"),
                ev.session_ended(sim, s, "completed", True),
            ]
        decoded = decode_message(
            sim.topic(),
            batch(*events[:size]),
            topic_root=ROOT,
            contract=contract,
            max_payload_bytes=10**8,
            raw_cap_bytes=100,
        )
        out.append(decoded)
    return out


def ingest_overhead(conn: psycopg.Connection, batches: int, size: int) -> list[Figure]:
    """Events/s of BatchWriter.write with and without the rollup hook, interleaved."""
    plain, hooked = BatchWriter(conn), BatchWriter(conn, after_insert=ReportRollup(POLICY))
    data = _batches(batches * 2, size)
    spent = {"plain": 0.0, "hooked": 0.0}
    for index, message in enumerate(data):
        name = "hooked" if index % 2 else "plain"
        writer = hooked if index % 2 else plain
        start = time.perf_counter()
        writer.write([message], datetime.now(UTC))
        spent[name] += time.perf_counter() - start
    rates = {k: batches * size / v for k, v in spent.items()}
    return [
        Figure(
            "city.reports.ingest.plain_ev_s", round(rates["plain"]), "ev/s", f"{size}-event batches"
        ),
        Figure(
            "city.reports.ingest.with_rollups_ev_s",
            round(rates["hooked"]),
            "ev/s",
            "same batches, hook on",
        ),
        Figure(
            "city.reports.ingest.ratio",
            round(rates["hooked"] / rates["plain"], 2),
            "x",
            "with / without",
        ),
    ]


def concurrent_ingest(url: str, batches: int, size: int, writers: int = 3) -> list[Figure]:
    """Total events/s of `writers` concurrent BatchWriters (hook on, then off), each its own
    connection and kiosks of the same centres and day: the city-wide rollup rows are shared."""
    import threading

    figures = []
    for hooked in (False, True):
        data = [_batches(batches, size) for _ in range(writers)]
        errors: list[BaseException] = []

        def work(
            messages: list[Decoded],
            hooked: bool = hooked,
            errors: list[BaseException] = errors,
        ) -> None:
            try:
                with psycopg.connect(url) as conn:
                    hook = ReportRollup(POLICY) if hooked else None
                    writer = BatchWriter(conn, after_insert=hook)
                    for message in messages:
                        writer.write([message], datetime.now(UTC))
            except BaseException as exc:  # noqa: BLE001 — reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(d,)) for d in data]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        if errors:
            raise errors[0]
        name = "with_rollups" if hooked else "plain"
        figures.append(
            Figure(
                f"city.reports.ingest.{writers}_writers_{name}_ev_s",
                round(writers * batches * size / elapsed),
                "ev/s",
                "concurrent writers, same centres",
            )
        )
    return figures


def run(quick: bool) -> list[Figure]:
    """The section's figures."""
    events = 300_000 if quick else 3_000_000
    server = PostgresServer(settings=SETTINGS)
    figures: list[Figure] = []
    try:
        server.start()
        url = server.create_database("reports")
        migrate(url)
        with psycopg.connect(url) as conn:
            start = time.perf_counter()
            count = generate(conn, events)
            gen_s = time.perf_counter() - start
            figures.append(Figure("city.reports.events", count, "events", f"made in {gen_s:.0f} s"))
            start = time.perf_counter()
            rebuild(conn, FIRST, FIRST + timedelta(days=DAYS - 1), POLICY)
            conn.execute("ANALYZE")
            conn.commit()
            rebuild_s = time.perf_counter() - start
            figures.append(
                Figure(
                    "city.reports.rebuild_s",
                    round(rebuild_s, 1),
                    "s",
                    f"{count / rebuild_s:,.0f} ev/s",
                )
            )
            for table in (
                "report_usage_daily",
                "report_sessions_hourly",
                "report_ratings_daily",
                "report_health_daily",
                "report_centre_daily",
                "report_city_usage_daily",
                "report_city_hourly",
                "report_followups",
                "report_high_bp",
            ):
                (rows,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
                figures.append(Figure(f"city.reports.rows.{table}", int(rows), "rows"))
            month = ReportFilter(FIRST, FIRST + timedelta(days=DAYS - 1))
            centre = ReportFilter(month.first, month.last, "440300", "c42")
            start_ts = datetime(2026, 10, 31, 16, tzinfo=UTC)
            end_ts = start_ts + timedelta(days=DAYS)
            today = FIRST + timedelta(days=DAYS)
            cases: dict[str, Callable[[], Any]] = {
                "ratings_city_month": lambda: rating_counts(conn, month),
                "ratings_city_month_raw_events": lambda: conn.execute(
                    RAW_RATINGS, (start_ts, end_ts)
                ).fetchall(),
                "ratings_centre_month": lambda: rating_counts(conn, centre),
                "usage_city_month": lambda: usage_data(
                    conn,
                    month,
                    today=today,
                    calendar=POLICY.calendar,
                    min_open_hours=8,
                    flag_limit=500,
                ),
                "heatmap_city_month_raw_events": lambda: conn.execute(
                    RAW_HEATMAP, (start_ts, end_ts)
                ).fetchall(),
                "usage_centre_month": lambda: usage_data(
                    conn, centre, today=today, calendar=POLICY.calendar, min_open_hours=8
                ),
                "health_warnings_city_month": lambda: early_warnings(conn, month, 30),
                "followups_open_city_month": lambda: list_followups(
                    conn, month, "open", today=today, limit=200
                ),
            }
            for name, fn in cases.items():
                median, worst = timed(fn, 3 if "raw" in name else RUNS)
                figures.append(
                    Figure(
                        f"city.reports.query.{name}_ms",
                        round(median, 1),
                        "ms",
                        f"worst {worst:.0f} ms",
                    )
                )
                conn.rollback()
            figures += ingest_overhead(conn, 5 if quick else 15, 2000)
        figures += concurrent_ingest(url, 4 if quick else 10, 2000)
    finally:
        server.remove()
    return figures


if __name__ == "__main__":
    import sys

    from bench.runner import print_table

    print_table(run("--quick" in sys.argv))
