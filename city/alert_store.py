"""Alerts in PostgreSQL: load the unresolved ones, store transitions, acknowledge, list."""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from city import audit
from city.rules import Alert

COLUMNS = (
    "id, kiosk, rule, subject, state, message, opened_at, acknowledged_at, resolved_at, clear_since"
)
ROW_COLUMNS = COLUMNS + ", acknowledged_by, ack_note"
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


def cli_actor() -> str:
    """Who acknowledges from the command line: `cli:` and the login name."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def acknowledge(
    conn: psycopg.Connection,
    alert_id: int,
    now: datetime | None = None,
    *,
    by: str | None = None,
    note: str = "",
) -> bool:
    """open → acknowledged by `by` (default: the CLI user) with a note, audited in the same
    transaction; False if there is no such open alert."""
    actor = by or cli_actor()
    row = conn.execute(
        "UPDATE alerts SET state = 'acknowledged', acknowledged_at = %s, acknowledged_by = %s,"
        " ack_note = %s WHERE id = %s AND state = 'open' RETURNING id, kiosk, rule, subject",
        (now or datetime.now(UTC), actor, note or None, alert_id),
    ).fetchone()
    if row is None:
        return False
    audit.record(
        conn,
        actor=actor,
        action="alert.acknowledge",
        subject=str(alert_id),
        detail={"kiosk": row[1], "rule": row[2], "subject": row[3], "note": note},
    )
    return True


def alert_page(
    conn: psycopg.Connection, *, state: str, kiosk: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int, dict[str, int]]:
    """One page of alerts in `state` (optionally one kiosk), newest first; the total in that
    state and the count in every state (for the tabs)."""
    counts = {"open": 0, "acknowledged": 0, "resolved": 0}
    for name, count in conn.execute(
        "SELECT state, count(*) FROM alerts"
        " WHERE %(kiosk)s::text IS NULL OR kiosk = %(kiosk)s GROUP BY state",
        {"kiosk": kiosk},
    ).fetchall():
        counts[name] = int(count)
    order = "resolved_at DESC" if state == "resolved" else "opened_at DESC"
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT * FROM alerts WHERE state = %(state)s"  # noqa: S608 — `order` is a constant
            " AND (%(kiosk)s::text IS NULL OR kiosk = %(kiosk)s)"
            f" ORDER BY {order}, id DESC LIMIT %(limit)s OFFSET %(offset)s",
            {"state": state, "kiosk": kiosk, "limit": limit, "offset": offset},
        ).fetchall()
    return rows, counts.get(state, 0), counts


def alert_rows(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Unresolved alerts, then the most recently resolved, as JSON-ready dicts."""
    rows = conn.execute(
        f"(SELECT {ROW_COLUMNS} FROM alerts WHERE state <> 'resolved')"  # noqa: S608 — constants
        f" UNION ALL (SELECT {ROW_COLUMNS} FROM alerts WHERE state = 'resolved'"
        " ORDER BY resolved_at DESC LIMIT %s) ORDER BY id",
        (RECENT_RESOLVED,),
    ).fetchall()
    names = [c.strip() for c in ROW_COLUMNS.split(",")]
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
