"""A small district's resident events written the way the ingest writes them (the report
rollup hook included), for the report pages' tests and screenshots."""

from __future__ import annotations

import functools
import hashlib
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from city.config import DEFAULT_CONTRACT_DIR
from city.contract import Contract, load_contract
from city.messages import decode_message
from city.reports.calendar import WorkCalendar
from city.reports.rollup import ReportRollup, RollupPolicy
from city.store import BatchWriter
from testbed import report_events as ev
from testbed.city_events import ROOT, KioskSim, batch

POLICY = RollupPolicy("Asia/Shanghai", 5, WorkCalendar())
CENTRES = (
    ("futian-xmh", "福田区", "Mon-Fri 09:00-18:00"),
    ("futian-lhc", "福田区", "Mon-Sat 09:00-17:30"),
    ("nanshan-yh", "南山区", "Mon-Fri 09:00-15:00"),
)
ITEMS = ("social-card", "pension-cert", "medical-claim", "household-cert", "residence-permit")
REASONS = (
    "waited_too_long",
    "hard_to_use",
    "information_unclear",
    "could_not_finish",
    "device_problem",
    "other",
)
# 60 residents: every one shows a card now and then; a few come back for their blood pressure
SUBJECTS = tuple(hashlib.sha256(f"resident-{n}".encode()).hexdigest() for n in range(60))


@functools.cache
def _contract() -> Contract:
    return load_contract(DEFAULT_CONTRACT_DIR)


def write(conn: psycopg.Connection, sim: KioskSim, events: list[dict[str, Any]]) -> None:
    """Store events as the ingest does (one transaction per 200, rollups in it)."""
    contract = _contract()
    writer = BatchWriter(conn, after_insert=ReportRollup(POLICY))
    for start in range(0, len(events), 200):
        decoded = decode_message(
            sim.topic(),
            batch(*events[start : start + 200]),
            topic_root=ROOT,
            contract=contract,
            max_payload_bytes=10**7,
            raw_cap_bytes=100,
        )
        assert not decoded.quarantined, decoded.quarantined[:1]
        writer.write([decoded], datetime.now(UTC))


def seed_district(db_url: str, first: date, days: int = 14, seed: int = 3) -> None:
    """Three centres, two kiosks each, `days` days of sessions from `first` (local 09-18 h)."""
    with psycopg.connect(db_url) as conn:
        seed_district_on(conn, first, days, seed)


def seed_district_on(conn: psycopg.Connection, first: date, days: int = 14, seed: int = 3) -> None:
    """The same on an open connection (committed); other kiosks of the inventory stay."""
    rng = random.Random(seed)
    conn.cursor().executemany(
        "INSERT INTO kiosks (kiosk, city, centre, name, in_inventory, district, opening_hours)"
        " VALUES (%s, %s, %s, %s, true, %s, %s) ON CONFLICT (kiosk) DO UPDATE SET"
        " in_inventory = true, district = EXCLUDED.district,"
        " opening_hours = EXCLUDED.opening_hours",
        [
            (f"440300/{c}/k0{n}", "440300", c, f"k0{n}", district, hours)
            for c, district, hours in CENTRES
            for n in (1, 2)
        ],
    )
    conn.commit()
    for centre, _district, _hours in CENTRES:
        for n in (1, 2):
            sim = KioskSim(centre=centre, kiosk=f"k0{n}")
            write(conn, sim, _days(rng, sim, centre, first, days))


def _days(
    rng: random.Random, sim: KioskSim, centre: str, first: date, days: int
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    short = centre.startswith("nanshan")
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day.weekday() == 6:
            continue
        start = datetime(day.year, day.month, day.day, 1, tzinfo=UTC)  # 09:00 local
        for _ in range(rng.randint(6, 14)):
            hour = rng.uniform(0, 5.5 if short else 8.8)
            ev.at(sim, start + timedelta(hours=hour))
            events += _session(rng, sim)
    return events


def _session(rng: random.Random, sim: KioskSim) -> list[dict[str, Any]]:
    s = ev.new_session()
    health = rng.random() < 0.25
    out = [ev.session_started(sim, s, "health" if health else "services")]
    identified = rng.random() < 0.6
    if identified:
        if rng.random() < 0.7:
            out.append(
                ev.card_read(
                    sim, s, rng.choice(SUBJECTS), rng.choice(["resident"] * 9 + ["hkmotw_permit"])
                )
            )
        else:
            out.append(
                ev.qr_scanned(
                    sim, s, rng.choice(["medical_insurance_code", "e_social_security_card"])
                )
            )
    item = None
    if health:
        sys_, dia, klass = rng.choice(
            [
                (118, 76, "normal"),
                (132, 84, "high_normal"),
                (148, 94, "grade_1"),
                (166, 103, "grade_2"),
                (184, 112, "grade_3"),
                (150, 85, "isolated_systolic"),
            ]
        )
        subject = rng.choice(SUBJECTS) if identified else None
        pulse = rng.randint(58, 96)
        out.append(ev.bp_measured(sim, s, sys_, dia, klass, subject=subject, pulse=pulse))
    else:
        item = rng.choice(ITEMS)
        out.append(ev.service_selected(sim, s, item))
    if rng.random() < 0.7:
        level = rng.choices([5, 4, 3, 2, 1], [45, 28, 14, 8, 5])[0]
        reasons = tuple(rng.sample(REASONS, rng.randint(1, 2))) if level <= 2 else ()
        out.append(ev.rating(sim, s, level, reasons, item))
    reason = rng.choices(["completed", "idle_timeout", "user_exit"], [80, 12, 8])[0]
    out.append(ev.session_ended(sim, s, reason, identified))
    return out
