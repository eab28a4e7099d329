"""One kiosk's history for its console page, each query bounded in time and rows.

Every query reads `events` by (kiosk, ts), the events_kiosk_ts index; the heartbeat chart is
bucketed with date_bin to at most CHART_POINTS points whatever the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

WINDOWS: dict[str, timedelta] = {
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_WINDOW = "24h"
CHART_POINTS = 360
MAX_TRANSITIONS = 100
MAX_FAULTS = 50


def presence_timeline(
    conn: psycopg.Connection, kiosk: str, since: datetime
) -> list[dict[str, Any]]:
    """agent.online / agent.offline since `since`, newest first (at most MAX_TRANSITIONS)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT ts, received_at, type, data->>'reason' AS reason,"
            "       (data->>'connection')::bigint AS connection,"
            "       data->>'agent_version' AS agent_version"
            " FROM events WHERE kiosk = %s AND ts >= %s"
            "   AND type IN ('agent.online', 'agent.offline')"
            " ORDER BY ts DESC LIMIT %s",
            (kiosk, since, MAX_TRANSITIONS),
        ).fetchall()


def heartbeat_series(
    conn: psycopg.Connection, kiosk: str, since: datetime, until: datetime
) -> dict[str, list[Any]]:
    """Heartbeats bucketed: the largest backlog and the least free disk per bucket."""
    bucket = max(timedelta(seconds=60), (until - since) / CHART_POINTS)
    rows = conn.execute(
        "SELECT date_bin(%(bucket)s, ts, TIMESTAMPTZ '2000-01-01') AS at,"
        "       max((data->>'outbox_depth')::bigint) AS outbox_depth,"
        "       max((data->>'oldest_unsent_age_s')::float8) AS oldest_unsent_age_s,"
        "       min((data->>'free_disk_mb')::float8) AS free_disk_mb"
        " FROM events WHERE kiosk = %(kiosk)s AND ts >= %(since)s AND ts <= %(until)s"
        "   AND type = 'heartbeat'"
        " GROUP BY 1 ORDER BY 1",
        {"bucket": bucket, "kiosk": kiosk, "since": since, "until": until},
    ).fetchall()
    return {
        "at": [r[0].isoformat() for r in rows],
        "outbox_depth": [r[1] for r in rows],
        "oldest_unsent_age_s": [r[2] for r in rows],
        "free_disk_mb": [r[3] for r in rows],
    }


def device_rows(conn: psycopg.Connection, kiosk: str) -> list[dict[str, Any]]:
    """Per device: the fault the city tracks (device_states)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT device, fault_kind, fault_since, changed_ts FROM device_states"
            " WHERE kiosk = %s ORDER BY device",
            (kiosk,),
        ).fetchall()


def recent_faults(conn: psycopg.Connection, kiosk: str, since: datetime) -> list[dict[str, Any]]:
    """device.fault / device.recovered since `since`, newest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT ts, type, data->>'device' AS device, data->>'kind' AS kind,"
            "       data->>'code' AS code, data->>'message' AS message"
            " FROM events WHERE kiosk = %s AND ts >= %s"
            "   AND type IN ('device.fault', 'device.recovered')"
            " ORDER BY ts DESC LIMIT %s",
            (kiosk, since, MAX_FAULTS),
        ).fetchall()


def kiosk_alerts(conn: psycopg.Connection, kiosk: str) -> list[dict[str, Any]]:
    """The kiosk's unresolved alerts and its ten latest resolved ones."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "(SELECT * FROM alerts WHERE kiosk = %(k)s AND state <> 'resolved')"
            " UNION ALL (SELECT * FROM alerts WHERE kiosk = %(k)s AND state = 'resolved'"
            " ORDER BY resolved_at DESC LIMIT 10) ORDER BY opened_at DESC",
            {"k": kiosk},
        ).fetchall()
