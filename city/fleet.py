"""Keep the `kiosks` table current from newly stored events (inside the ingest transaction).

Presence follows the contract (decision 3): the message with the highest `data.connection`
wins; at equal connection `agent.offline` beats `agent.online`; never ts or seq. The time a
kiosk went offline is when the city received the Will (its ts is when it was registered).
Heartbeat values: the newest by kiosk time wins; receipt time drives "no heartbeat" alerts.
Rows are touched in kiosk order so that concurrent workers lock them in one order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from city.messages import EventRow

DEVICE_EVENTS = frozenset({"device.fault", "device.recovered"})


@dataclass(frozen=True)
class FleetChange:
    """A presence change worth a console line."""

    kiosk: str
    presence: str
    connection: int | None


UPSERT_KIOSK = """
INSERT INTO kiosks (kiosk, city, centre, name, last_event_at)
VALUES (%(kiosk)s, %(city)s, %(centre)s, %(name)s, %(at)s)
ON CONFLICT (kiosk) DO UPDATE
SET last_event_at = GREATEST(kiosks.last_event_at, EXCLUDED.last_event_at)
"""

PRESENCE = """
UPDATE kiosks SET presence = %(state)s, presence_connection = %(conn)s, presence_since = %(at)s,
       offline_reason = %(reason)s, boot = %(boot)s,
       agent_version = COALESCE(%(agent_version)s, agent_version), updated_at = %(at)s
WHERE kiosk = %(kiosk)s
  AND (%(conn)s::bigint IS NULL OR presence_connection IS NULL
       OR %(conn)s::bigint > presence_connection
       OR (%(conn)s::bigint = presence_connection AND %(state)s = 'offline'
           AND presence <> 'offline'))
RETURNING kiosk, presence, presence_connection
"""

HEARTBEAT = """
UPDATE kiosks SET heartbeat_ts = %(ts)s,
       last_heartbeat_at = GREATEST(last_heartbeat_at, %(at)s),
       outbox_depth = %(outbox_depth)s, oldest_unsent_age_s = %(oldest)s,
       free_disk_mb = %(free_disk_mb)s, devices = %(devices)s::jsonb,
       clock_synchronised = %(clock_sync)s, clock_offset_ms = %(clock_offset)s,
       versions = %(versions)s::jsonb,
       catalogue_version = COALESCE(%(catalogue)s, catalogue_version), updated_at = %(at)s
WHERE kiosk = %(kiosk)s AND (heartbeat_ts IS NULL OR heartbeat_ts < %(ts)s)
"""

HEARTBEAT_SEEN = """
UPDATE kiosks SET last_heartbeat_at = GREATEST(last_heartbeat_at, %(at)s) WHERE kiosk = %(kiosk)s
"""

DEVICE = """
INSERT INTO device_states (kiosk, device, fault_kind, fault_since, changed_ts)
VALUES (%(kiosk)s, %(device)s, %(kind)s, %(since)s, %(ts)s)
ON CONFLICT (kiosk, device) DO UPDATE SET
    fault_kind = EXCLUDED.fault_kind,
    fault_since = CASE WHEN EXCLUDED.fault_kind IS NULL THEN NULL
                       ELSE COALESCE(device_states.fault_since, EXCLUDED.fault_since) END,
    changed_ts = EXCLUDED.changed_ts
WHERE device_states.changed_ts < EXCLUDED.changed_ts
"""

AGENT_ALERT = """
INSERT INTO agent_alerts (kiosk, kind, message, at)
VALUES (%(kiosk)s, %(kind)s, %(message)s, %(at)s)
ON CONFLICT (kiosk, kind) DO UPDATE SET message = EXCLUDED.message, at = EXCLUDED.at
WHERE agent_alerts.at < EXCLUDED.at
"""


def apply_events(
    conn: psycopg.Connection, events: Sequence[EventRow], received_at: datetime
) -> list[FleetChange]:
    """Fold newly stored events into the fleet tables; returns presence changes."""
    if not events:
        return []
    ordered = sorted(events, key=lambda e: (e.kiosk, e.ts))
    kiosks = sorted({e.kiosk for e in ordered})
    with conn.cursor() as cur:
        cur.executemany(UPSERT_KIOSK, [_kiosk_params(k, received_at) for k in kiosks])
        heartbeats = [e for e in ordered if e.type == "heartbeat"]
        if heartbeats:
            cur.executemany(HEARTBEAT, [_heartbeat_params(e, received_at) for e in heartbeats])
            cur.executemany(
                HEARTBEAT_SEEN, [{"kiosk": e.kiosk, "at": received_at} for e in heartbeats]
            )
        devices = [e for e in ordered if e.type in DEVICE_EVENTS]
        if devices:
            cur.executemany(DEVICE, [_device_params(e) for e in devices])
        alerts = [e for e in ordered if e.type == "agent.alert"]
        if alerts:
            cur.executemany(
                AGENT_ALERT,
                [
                    {
                        "kiosk": e.kiosk,
                        "kind": e.data["kind"],
                        "message": e.data["message"],
                        "at": received_at,
                    }
                    for e in alerts
                ],
            )
        changes: list[FleetChange] = []
        for event in ordered:
            if event.type in ("agent.online", "agent.offline"):
                cur.execute(PRESENCE, _presence_params(event, received_at))
                for kiosk, presence, connection in cur.fetchall():
                    changes.append(FleetChange(kiosk, presence, connection))
    return changes


def _kiosk_params(kiosk: str, at: datetime) -> dict[str, Any]:
    city, centre, name = kiosk.split("/")
    return {"kiosk": kiosk, "city": city, "centre": centre, "name": name, "at": at}


def _presence_params(event: EventRow, at: datetime) -> dict[str, Any]:
    online = event.type == "agent.online"
    connection = event.data.get("connection")
    return {
        "kiosk": event.kiosk,
        "state": "online" if online else "offline",
        "conn": connection if isinstance(connection, int) else None,
        "at": at,
        "reason": None if online else event.data.get("reason"),
        "boot": event.boot,
        "agent_version": event.data.get("agent_version") if online else None,
    }


def _heartbeat_params(event: EventRow, at: datetime) -> dict[str, Any]:
    data = event.data
    clock = data.get("clock") or {}
    versions = data.get("versions") or {}
    return {
        "kiosk": event.kiosk,
        "ts": event.ts,
        "at": at,
        "outbox_depth": data.get("outbox_depth"),
        "oldest": data.get("oldest_unsent_age_s"),
        "free_disk_mb": data.get("free_disk_mb"),
        "devices": json.dumps(data.get("devices") or {}),
        "clock_sync": clock.get("synchronised"),
        "clock_offset": clock.get("offset_ms"),
        "versions": json.dumps(versions),
        "catalogue": versions.get("catalogue"),
    }


def _device_params(event: EventRow) -> dict[str, Any]:
    fault = event.type == "device.fault"
    return {
        "kiosk": event.kiosk,
        "device": event.data["device"],
        "kind": event.data["kind"] if fault else None,
        "since": event.ts if fault else None,
        "ts": event.ts,
    }
