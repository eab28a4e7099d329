"""`python -m city fleet`: every kiosk's state in one query (inventory, presence, health)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg

FLEET_QUERY = """
SELECT k.kiosk, k.district, k.in_inventory,
       CASE WHEN k.presence = 'never_seen' THEN 'missing' ELSE k.presence END AS presence,
       k.presence_since, k.presence_connection, k.last_heartbeat_at, k.outbox_depth,
       k.oldest_unsent_age_s, k.free_disk_mb, k.devices, k.clock_synchronised,
       k.versions, k.catalogue_version, k.agent_version,
       COALESCE(f.faults, '{}'::jsonb) AS faults,
       COALESCE(a.open_alerts, 0) AS open_alerts
FROM kiosks k
LEFT JOIN (SELECT kiosk, jsonb_object_agg(device, fault_kind) AS faults FROM device_states
           WHERE fault_since IS NOT NULL GROUP BY kiosk) f USING (kiosk)
LEFT JOIN (SELECT kiosk, count(*) AS open_alerts FROM alerts WHERE state <> 'resolved'
           GROUP BY kiosk) a USING (kiosk)
ORDER BY k.kiosk
"""
FLEET_JSON = "SELECT coalesce(json_agg(fleet), '[]'::json)::text FROM (" + FLEET_QUERY + ") fleet"  # noqa: S608 — constants only


def fleet_document(conn: psycopg.Connection) -> str:
    """Every kiosk as one JSON array text, built by PostgreSQL.

    Converting 10,000 rows value by value in Python took 0.6-1.4 s here; one JSON text from
    json_agg parses in milliseconds.
    """
    row = conn.execute(FLEET_JSON).fetchone()
    return str(row[0]) if row else "[]"


def fleet_rows(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every kiosk as a dict (a listed kiosk that never spoke is `missing`)."""
    rows: list[dict[str, Any]] = json.loads(fleet_document(conn))
    return rows


def format_fleet(rows: Sequence[dict[str, Any]]) -> str:
    """A plain table for the terminal."""
    if not rows:
        return "no kiosks"
    header = (
        f"{'kiosk':<40}  {'presence':<9}  {'last heartbeat':<25}  {'outbox':>6}  {'disk MB':>8}"
        "  faults  alerts"
    )
    lines = [header]
    for r in rows:
        faults = ",".join(sorted(r["faults"])) or "-"
        disk = "-" if r["free_disk_mb"] is None else f"{r['free_disk_mb']:.0f}"
        outbox = "-" if r["outbox_depth"] is None else str(r["outbox_depth"])
        lines.append(
            f"{r['kiosk']:<40}  {r['presence']:<9}  {r['last_heartbeat_at'] or '-':<25}  "
            f"{outbox:>6}  {disk:>8}  {faults:<6}  {r['open_alerts']}"
        )
    return "\n".join(lines)
