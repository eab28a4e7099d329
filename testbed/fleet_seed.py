"""Fleet rows written straight into the city tables, for console tests, screenshots and benches.

The rows are what city.fleet and the ingest would have stored (docs/contract event shapes);
writing them directly keeps page tests independent of the broker. Deterministic per `seed`.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

CITY = "440300"
DISTRICTS = ("福田区", "罗湖区", "南山区", "宝安区", "龙岗区", "龙华区", "坪山区", "光明区")
DEVICES = ("idcard", "bp", "qrscan", "camera")


@dataclass(frozen=True)
class SeededKiosk:
    """One kiosk written by seed_fleet and the state the console should show."""

    kiosk: str
    district: str
    centre: str
    state: str


def kiosk_row(
    conn: psycopg.Connection,
    kiosk: str,
    *,
    district: str | None,
    presence: str = "online",
    now: datetime | None = None,
    outbox_depth: int = 0,
    oldest_unsent_age_s: float | None = None,
    free_disk_mb: float = 20_000.0,
    clock_synchronised: bool = True,
    devices: dict[str, str] | None = None,
    catalogue_version: str = "2026.11.1",
    heartbeat_age_s: float = 20.0,
) -> None:
    """Insert or replace one kiosks row."""
    now = now or datetime.now(UTC)
    city, centre, name = kiosk.split("/")
    seen = presence != "never_seen"
    conn.execute(
        "INSERT INTO kiosks (kiosk, city, centre, name, in_inventory, district, presence,"
        " presence_connection, presence_since, offline_reason, boot, agent_version,"
        " last_event_at, last_heartbeat_at, heartbeat_ts, outbox_depth, oldest_unsent_age_s,"
        " free_disk_mb, devices, clock_synchronised, clock_offset_ms, versions,"
        " catalogue_version)"
        " VALUES (%(kiosk)s, %(city)s, %(centre)s, %(name)s, true, %(district)s, %(presence)s,"
        " %(conn)s, %(since)s, %(reason)s, %(boot)s, %(agent)s, %(hb)s, %(hb)s, %(hb)s,"
        " %(outbox)s, %(oldest)s, %(disk)s, %(devices)s::jsonb, %(clock)s, %(offset)s,"
        " %(versions)s::jsonb, %(catalogue)s)"
        " ON CONFLICT (kiosk) DO UPDATE SET presence = EXCLUDED.presence,"
        " district = EXCLUDED.district, last_heartbeat_at = EXCLUDED.last_heartbeat_at,"
        " outbox_depth = EXCLUDED.outbox_depth, free_disk_mb = EXCLUDED.free_disk_mb,"
        " devices = EXCLUDED.devices, clock_synchronised = EXCLUDED.clock_synchronised,"
        " oldest_unsent_age_s = EXCLUDED.oldest_unsent_age_s",
        {
            "kiosk": kiosk,
            "city": city,
            "centre": centre,
            "name": name,
            "district": district,
            "presence": presence,
            "conn": 3 if seen else None,
            "since": now - timedelta(hours=5) if seen else None,
            "reason": "connection_lost" if presence == "offline" else None,
            "boot": uuid.uuid4() if seen else None,
            "agent": "0.1.0" if seen else None,
            "hb": now - timedelta(seconds=heartbeat_age_s) if seen else None,
            "outbox": outbox_depth if seen else None,
            "oldest": oldest_unsent_age_s,
            "disk": free_disk_mb if seen else None,
            "devices": json.dumps(
                devices if devices is not None else dict.fromkeys(DEVICES, "ok") if seen else {}
            ),
            "clock": clock_synchronised if seen else None,
            "offset": 3.5 if seen else None,
            "versions": json.dumps(
                {"agent": "0.1.0", "kiosk": "0.1.0", "catalogue": catalogue_version} if seen else {}
            ),
            "catalogue": catalogue_version if seen else None,
        },
    )


def seed_fleet(
    conn: psycopg.Connection, count: int, *, per_centre: int = 10, seed: int = 1
) -> list[SeededKiosk]:
    """`count` kiosks in centres of `per_centre`, spread over DISTRICTS, in mixed states."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    seeded = []
    for index in range(count):
        centre_index = index // per_centre
        district = DISTRICTS[centre_index % len(DISTRICTS)]
        centre = f"centre-{centre_index:04d}"
        kiosk = f"{CITY}/{centre}/kiosk-{index % per_centre:02d}"
        roll = rng.random()
        state = (
            "online"
            if roll < 0.8
            else "degraded"
            if roll < 0.9
            else "offline"
            if roll < 0.97
            else "missing"
        )
        presence = {"degraded": "online", "missing": "never_seen"}.get(state, state)
        kiosk_row(
            conn,
            kiosk,
            district=district,
            presence=presence,
            now=now,
            free_disk_mb=120.0 if state == "degraded" else 20_000.0,
        )
        seeded.append(SeededKiosk(kiosk, district, centre, state))
    return seeded


def seed_heartbeats(
    conn: psycopg.Connection,
    kiosk: str,
    *,
    hours: float = 24,
    interval_s: float = 60,
    now: datetime | None = None,
) -> int:
    """Heartbeat events every `interval_s` over the last `hours` (a backlog wave, disk easing)."""
    now = now or datetime.now(UTC)
    boot = uuid.uuid4()
    steps = int(hours * 3600 / interval_s)
    rows = []
    for step in range(steps):
        ts = now - timedelta(seconds=(steps - step) * interval_s)
        wave = max(0, int(40 * (1 - abs((step % 240) - 120) / 60)))
        data = {
            "outbox_depth": wave,
            "oldest_unsent_age_s": float(wave * 3) if wave else None,
            "free_disk_mb": 20_000.0 - step * 0.5,
            "devices": dict.fromkeys(DEVICES, "ok"),
            "clock": {"synchronised": True, "offset_ms": 2.0},
            "versions": {"agent": "0.1.0", "catalogue": "2026.11.1"},
            "uptime_s": float(step * interval_s),
        }
        rows.append((uuid.uuid4(), kiosk, ts, boot, step, json.dumps(data)))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO events (id, kiosk, type, ts, boot, stream, seq, schema, data)"
            " VALUES (%s, %s, 'heartbeat', %s, %s, 'heartbeat', %s, 2, %s::jsonb)",
            rows,
        )
    return len(rows)


def seed_event(
    conn: psycopg.Connection, kiosk: str, kind: str, data: Mapping[str, object], ts: datetime
) -> None:
    """One event on the main stream (e.g. agent.online, device.fault)."""
    conn.execute(
        "INSERT INTO events (id, kiosk, type, ts, boot, stream, seq, schema, data)"
        " VALUES (%s, %s, %s, %s, %s, 'main', 1, 1, %s::jsonb)",
        (uuid.uuid4(), kiosk, kind, ts, uuid.uuid4(), json.dumps(dict(data))),
    )


def open_alert(
    conn: psycopg.Connection,
    kiosk: str,
    rule: str,
    message: str,
    *,
    subject: str = "",
    opened_at: datetime | None = None,
) -> int:
    """An open alert row; its id."""
    row = conn.execute(
        "INSERT INTO alerts (kiosk, rule, subject, state, message, opened_at)"
        " VALUES (%s, %s, %s, 'open', %s, %s) RETURNING id",
        (kiosk, rule, subject, message, opened_at or datetime.now(UTC)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def fault_device(
    conn: psycopg.Connection, kiosk: str, device: str, kind: str, since: datetime
) -> None:
    """A device_states row: `device` faulted since `since`."""
    conn.execute(
        "INSERT INTO device_states (kiosk, device, fault_kind, fault_since, changed_ts)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (kiosk, device) DO UPDATE SET"
        " fault_kind = EXCLUDED.fault_kind, fault_since = EXCLUDED.fault_since",
        (kiosk, device, kind, since, since),
    )


def states_of(seeded: Sequence[SeededKiosk]) -> dict[str, int]:
    """How many seeded kiosks per state."""
    counts: dict[str, int] = {}
    for kiosk in seeded:
        counts[kiosk.state] = counts.get(kiosk.state, 0) + 1
    return counts
