"""The SQL rebuild of the rollups gives exactly what the ingest's hook gave, event for event."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from city.config import DEFAULT_CONTRACT_DIR
from city.contract import load_contract
from city.messages import decode_message
from city.reports.calendar import WorkCalendar
from city.reports.rebuild import rebuild
from city.reports.rollup import ReportRollup, RollupPolicy
from city.store import BatchWriter
from testbed import report_events as ev
from testbed.city_events import ROOT, KioskSim, batch

pytestmark = pytest.mark.postgres

POLICY = RollupPolicy("Asia/Shanghai", 3, WorkCalendar.of([date(2026, 12, 4)]))
TABLES = (
    "report_usage_daily",
    "report_sessions_hourly",
    "report_ratings_daily",
    "report_rating_reasons_daily",
    "report_health_daily",
    "report_city_usage_daily",
    "report_city_hourly",
    "report_city_ratings_daily",
    "report_centre_daily",
    "report_high_bp",
    "report_followups",
)
REASONS = ("waited_too_long", "hard_to_use", "other", "device_problem")
CLASSES = (
    (118, 76, "normal"),
    (150, 95, "grade_1"),
    (165, 102, "grade_2"),
    (185, 115, "grade_3"),
    (170, 85, "isolated_systolic"),
    (145, 85, "isolated_systolic"),
)


def random_events(rng: random.Random, sim: KioskSim, n: int) -> list[dict[str, Any]]:
    """A mixed day of resident events around local midnight (16:00 UTC)."""
    events: list[dict[str, Any]] = []
    ev.at(sim, datetime(2026, 12, 2, 14, 0, tzinfo=UTC))
    subjects = [f"{rng.getrandbits(256):064x}" for _ in range(3)]
    for _ in range(n):
        sim.clock += timedelta(minutes=rng.randint(1, 90))
        s = ev.new_session()
        events.append(ev.session_started(sim, s, rng.choice(["services", "health"])))
        if rng.random() < 0.5:
            events.append(
                ev.card_read(sim, s, subjects[0], rng.choice(["resident", "hkmotw_permit"]))
            )
        if rng.random() < 0.3:
            events.append(ev.qr_scanned(sim, s, rng.choice(["health_code", "url"])))
        item = rng.choice(["a", "b", "c-1"])
        events.append(ev.service_selected(sim, s, item))
        if rng.random() < 0.6:
            level = rng.randint(1, 5)
            reasons = tuple(rng.sample(REASONS, rng.randint(0, 2))) if level <= 2 else ()
            events.append(ev.rating(sim, s, level, reasons, rng.choice([item, None])))
        if rng.random() < 0.4:
            sys_, dia, klass = rng.choice(CLASSES)
            who = rng.choice([*subjects, None])
            events.append(ev.bp_measured(sim, s, sys_, dia, klass, subject=who))
        identified = rng.choice([True, False, None])
        events.append(
            ev.session_ended(sim, s, rng.choice(["completed", "idle_timeout"]), identified)
        )
    return events


def snapshot(conn: psycopg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row, sorted (follow-ups without their creation time)."""
    result = {}
    for table in TABLES:
        columns = (
            "*"
            if table != "report_followups"
            else (
                "event_id, kiosk, city, centre, item, level, reasons, rated_at, rated_day, due_day"
            )
        )
        rows = conn.execute(f"SELECT {columns} FROM {table}").fetchall()
        result[table] = sorted(rows, key=repr)
    return result


@pytest.fixture
def conn(city_db: str) -> Iterator[psycopg.Connection]:
    """A connection to a migrated database."""
    with psycopg.connect(city_db) as connection:
        yield connection


def _write(conn: psycopg.Connection, writer: BatchWriter, events: list[dict[str, Any]]) -> None:
    contract = load_contract(DEFAULT_CONTRACT_DIR)
    sims = KioskSim()
    for start in range(0, len(events), 50):
        decoded = decode_message(
            sims.topic(),
            batch(*events[start : start + 50]),
            topic_root=ROOT,
            contract=contract,
            max_payload_bytes=10**7,
            raw_cap_bytes=100,
        )
        assert not decoded.quarantined
        writer.write([decoded], datetime.now(UTC))


def test_rebuild_equals_the_hook(conn: psycopg.Connection) -> None:
    """Hook first, then rebuild the period: every rollup row stays exactly as it was."""
    events = random_events(random.Random(7), KioskSim(), 120)
    _write(conn, BatchWriter(conn, after_insert=ReportRollup(POLICY)), events)
    by_hook = snapshot(conn)
    assert by_hook["report_followups"]
    assert by_hook["report_high_bp"]
    assert rebuild(conn, date(2026, 12, 1), date(2026, 12, 31), POLICY) == 0
    assert snapshot(conn) == by_hook


def test_rebuild_fills_what_the_hook_never_saw(conn: psycopg.Connection, city_db: str) -> None:
    """Events stored without the hook (before migration 0004): the rebuild adds the same rows."""
    events = random_events(random.Random(11), KioskSim(), 80)
    _write(conn, BatchWriter(conn, after_insert=ReportRollup(POLICY)), events)
    by_hook = snapshot(conn)
    for table in TABLES:
        conn.execute(f"TRUNCATE {table}")
    conn.commit()
    added = rebuild(conn, date(2026, 12, 1), date(2026, 12, 31), POLICY)
    assert added == len(by_hook["report_followups"])
    assert snapshot(conn) == by_hook
