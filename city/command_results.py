"""Fold the kiosks' `command.result` events into the `commands` table, inside the ingest
transaction (city/store.py), so a stored result and the state it implies commit together.

A result counts only for the kiosk the command went to (the topic names the sender). `ok` is
final: a later rejection with the same id (anyone can publish a forged command carrying a
real id and earn a `bad_signature` for it) never undoes an applied command. The running
versions go to `kiosk_config` and, for the catalogue, to `kiosks.catalogue_version`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from city.messages import EventRow

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STATE_OF = {"ok": "applied", "rejected": "rejected", "failed": "failed"}
MAX_DETAIL_CHARS = 64 * 1024

APPLY_RESULT = """
UPDATE commands SET state = %(state)s, reason = %(reason)s, detail = %(detail)s::jsonb,
       result_at = %(at)s, updated_at = %(at)s
WHERE id = %(id)s AND kiosk = %(kiosk)s AND state <> 'applied' AND state <> 'cancelled'
RETURNING type, args
"""

RUNNING = """
INSERT INTO kiosk_config (kiosk, kind, version, since) VALUES (%(kiosk)s, %(kind)s, %(version)s,
       %(at)s)
ON CONFLICT (kiosk, kind) DO UPDATE SET version = EXCLUDED.version, since = EXCLUDED.since
"""


def apply_command_results(
    conn: psycopg.Connection, events: Sequence[EventRow], received_at: datetime
) -> int:
    """Update commands from newly stored results and births; how many commands changed."""
    relevant = [e for e in events if e.type in ("command.result", "agent.online")]
    if not relevant:  # the ingest's common case: nothing to do, not even a cursor
        return 0
    changed = 0
    with conn.cursor() as cur:
        for event in sorted(relevant, key=lambda e: (e.kiosk, e.ts)):
            if event.type == "command.result":
                changed += _result(cur, event, received_at)
            elif event.type == "agent.online":
                version = event.data.get("config_version")
                if isinstance(version, str) and version:
                    _running(cur, event.kiosk, "catalogue", version, received_at)
    return changed


def _result(cur: psycopg.Cursor[Any], event: EventRow, at: datetime) -> int:
    data = event.data
    command_id = data.get("command_id")
    state = STATE_OF.get(str(data.get("status")))
    if not isinstance(command_id, str) or not UUID_RE.fullmatch(command_id) or state is None:
        return 0
    detail = data.get("detail")
    detail_json = json.dumps(detail, ensure_ascii=False) if isinstance(detail, dict) else None
    if detail_json is not None and len(detail_json) > MAX_DETAIL_CHARS:
        detail_json = json.dumps({"problem": "detail too large to keep"})
    cur.execute(
        APPLY_RESULT,
        {
            "state": state,
            "reason": data.get("reason"),
            "detail": detail_json,
            "at": at,
            "id": command_id,
            "kiosk": event.kiosk,
        },
    )
    row = cur.fetchone()
    if row is None:
        return 0
    command_type, args = row
    if state == "applied" and command_type == "set_config" and isinstance(args, dict):
        kind, version = args.get("kind"), args.get("version")
        if isinstance(kind, str) and isinstance(version, str):
            _running(cur, event.kiosk, kind, version, at)
    return 1


def _running(cur: psycopg.Cursor[Any], kiosk: str, kind: str, version: str, at: datetime) -> None:
    cur.execute(RUNNING, {"kiosk": kiosk, "kind": kind, "version": version, "at": at})
    if kind == "catalogue":
        cur.execute("UPDATE kiosks SET catalogue_version = %s WHERE kiosk = %s", (version, kiosk))
