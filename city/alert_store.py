"""Alerts in PostgreSQL: load the unresolved ones, store transitions, acknowledge, list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from city.rules import Alert

COLUMNS = (
    "id, kiosk, rule, subject, state, message, opened_at, acknowledged_at, resolved_at, clear_since"
)
RECENT_RESOLVED = 50


def unresolved(conn: psycopg.Connection) -> list[Alert]:
    """Every open or acknowledged alert."""
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM alerts WHERE state <> 'resolved' ORDER BY id"  # noqa: S608 — constant
    ).fetchall()
    return [Alert(*row) for row in rows]


def save(conn: psycopg.Connection, alerts: Sequence[Alert]) -> list[Alert]:
    """Insert new alerts and update changed ones; returns them with their ids."""
    saved: list[Alert] = []
    with conn.cursor() as cur:
        for alert in alerts:
            if alert.id is None:
                cur.execute(
                    "INSERT INTO alerts (kiosk, rule, subject, state, message, opened_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                    (
                        alert.kiosk,
                        alert.rule,
                        alert.subject,
                        alert.state,
                        alert.message,
                        alert.opened_at,
                    ),
                )
                row = cur.fetchone()
                assert row is not None
                saved.append(Alert(row[0], *_fields(alert)[1:]))
            else:
                cur.execute(
                    "UPDATE alerts SET state = %s, message = %s, resolved_at = %s,"
                    " clear_since = %s WHERE id = %s",
                    (alert.state, alert.message, alert.resolved_at, alert.clear_since, alert.id),
                )
                saved.append(alert)
    return saved


def _fields(alert: Alert) -> tuple[Any, ...]:
    return (
        alert.id,
        alert.kiosk,
        alert.rule,
        alert.subject,
        alert.state,
        alert.message,
        alert.opened_at,
        alert.acknowledged_at,
        alert.resolved_at,
        alert.clear_since,
    )


def acknowledge(conn: psycopg.Connection, alert_id: int, now: datetime | None = None) -> bool:
    """open → acknowledged; False if there is no such open alert."""
    row = conn.execute(
        "UPDATE alerts SET state = 'acknowledged', acknowledged_at = %s"
        " WHERE id = %s AND state = 'open' RETURNING id",
        (now or datetime.now(UTC), alert_id),
    ).fetchone()
    return row is not None


def alert_rows(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Unresolved alerts, then the most recently resolved, as JSON-ready dicts."""
    rows = conn.execute(
        f"(SELECT {COLUMNS} FROM alerts WHERE state <> 'resolved')"  # noqa: S608 — constants
        f" UNION ALL (SELECT {COLUMNS} FROM alerts WHERE state = 'resolved'"
        " ORDER BY resolved_at DESC LIMIT %s) ORDER BY id",
        (RECENT_RESOLVED,),
    ).fetchall()
    names = [c.strip() for c in COLUMNS.split(",")]
    return [
        {
            n: (v.isoformat() if isinstance(v, datetime) else v)
            for n, v in zip(names, row, strict=True)
        }
        for row in rows
    ]


def format_alerts(rows: Sequence[dict[str, Any]]) -> str:
    """A plain table for the terminal."""
    if not rows:
        return "no alerts"
    lines = [f"{'id':>5}  {'state':<12}  {'kiosk':<36}  {'rule':<22}  message"]
    for r in rows:
        rule = r["rule"] + (f"[{r['subject']}]" if r["subject"] else "")
        lines.append(
            f"{r['id']:>5}  {r['state']:<12}  {r['kiosk']:<36}  {rule:<22}  {r['message']}"
        )
    return "\n".join(lines)
