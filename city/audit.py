"""The audit log: who did what, when (every alert acknowledged, every command sent).

`record` writes in the caller's transaction, so an action and its audit entry commit together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

MAX_FIELD = 200
MAX_DETAIL_BYTES = 16_000


@dataclass(frozen=True)
class AuditEntry:
    """One row of audit_log."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


def record(
    conn: psycopg.Connection,
    *,
    actor: str,
    action: str,
    subject: str = "",
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Append one entry (e.g. actor "wang", action "alert.acknowledge", subject "42"); its id."""
    text = json.dumps(dict(detail or {}), ensure_ascii=False, default=str)
    if len(text.encode()) > MAX_DETAIL_BYTES:
        raise ValueError(f"audit detail over {MAX_DETAIL_BYTES} bytes")
    row = conn.execute(
        "INSERT INTO audit_log (actor, action, subject, detail) VALUES (%s, %s, %s, %s::jsonb)"
        " RETURNING id",
        (actor[:MAX_FIELD], action[:MAX_FIELD], subject[:MAX_FIELD], text),
    ).fetchone()
    assert row is not None
    return int(row[0])


def entries(
    conn: psycopg.Connection,
    *,
    action: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """The newest entries first (optionally one action prefix / one actor), and how many match."""
    where, params = ["TRUE"], []
    if action:
        where.append("action LIKE %s")
        params.append(_like_prefix(action))
    if actor:
        where.append("actor = %s")
        params.append(actor)
    condition = " AND ".join(where)
    total_row = conn.execute(
        f"SELECT count(*) FROM audit_log WHERE {condition}",  # noqa: S608 — fixed fragments
        params,
    ).fetchone()
    rows = conn.execute(
        f"SELECT id, at, actor, action, subject, detail FROM audit_log WHERE {condition}"  # noqa: S608
        " ORDER BY at DESC, id DESC LIMIT %s OFFSET %s",
        [*params, limit, offset],
    ).fetchall()
    return [AuditEntry(*row) for row in rows], int(total_row[0]) if total_row else 0


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
