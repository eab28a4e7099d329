"""Resident requests (诉求) at runtime: the private store of requests this kiosk filed, and the
`requests.status` online call (docs/requests.md). Not kiosk/runtime/requests.py, which is the
agent's requests to the kiosk (restart, diagnostics).

The store is like the sign-ups (kiosk/runtime/signups.py): SQLite in the kiosk user's private
directory, keyed by pseudonym only, versioned with common/sqlite_schema.py (version 1 is the
first release), bounded (at most MAX_PER_SUBJECT per resident, deleted `retention_days` after
they were filed). It never holds a phone number: the session seals the number before anything
is stored or sent, and the store has no column for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.sqlite_schema import Schema, SchemaMismatch, immediate, open_store, parse_utc, utc_text
from kiosk.core import inputs as i
from kiosk.core.resident_requests import StatusCall, StoredRequest, parse_status_data
from kiosk.runtime.points_client import PointsClient

REQUESTS_FILE = "resident-requests.sqlite3"
DEFAULT_RETENTION_DAYS = 180
MAX_PER_SUBJECT = 30
_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
_V1 = """
CREATE TABLE request (
    request_id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    ticket TEXT NOT NULL,
    category TEXT NOT NULL,
    building TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    submitted_at TEXT NOT NULL
);
CREATE INDEX request_by_subject ON request (subject, submitted_at);
CREATE INDEX request_by_time ON request (submitted_at);
"""
COLUMNS = (
    "request_id", "subject", "ticket", "category", "building", "unit", "text", "submitted_at",
)  # fmt: skip
REQUEST_SCHEMA = Schema(
    "resident requests", "kiosk", migrations={1: _V1}, expected_columns={"request": COLUMNS}
)


class RequestSchemaError(SchemaMismatch):
    """The database file is newer than this code, unversioned, or not the schema it claims."""


class ResidentRequests:
    """A RequestStore in one SQLite file (WAL, synchronous=FULL); use from one thread."""

    def __init__(
        self,
        path: Path,
        *,
        retention_days: float = DEFAULT_RETENTION_DAYS,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._retention = timedelta(days=retention_days)
        self._wall_clock = wall_clock
        self._db = open_store(path, REQUEST_SCHEMA, RequestSchemaError)
        self.purge()

    def add(self, subject: str, request: StoredRequest) -> None:
        """Keep a request just filed (a repeat of its id is ignored); the oldest beyond
        MAX_PER_SUBJECT of this resident go."""
        if not _PSEUDONYM.match(subject):
            raise ValueError("requests are keyed by a 64-hex pseudonym only")
        values = (
            request.request_id, subject, request.ticket, request.category_id, request.building,
            request.unit, request.text, utc_text(request.submitted_at),
        )  # fmt: skip
        with immediate(self._db):
            self._db.execute(
                "INSERT OR IGNORE INTO request VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values
            )
            self._db.execute(
                "DELETE FROM request WHERE subject = ? AND request_id NOT IN ("
                " SELECT request_id FROM request WHERE subject = ?"
                " ORDER BY submitted_at DESC LIMIT ?)",
                (subject, subject, MAX_PER_SUBJECT),
            )
        self.purge()

    def for_subject(self, subject: str) -> list[StoredRequest]:
        """This resident's requests filed here, newest first."""
        if not _PSEUDONYM.match(subject):
            raise ValueError("requests are keyed by a 64-hex pseudonym only")
        rows = self._db.execute(
            "SELECT request_id, ticket, category, building, unit, text, submitted_at"
            " FROM request WHERE subject = ? ORDER BY submitted_at DESC, request_id DESC",
            (subject,),
        ).fetchall()
        return [
            StoredRequest(rid, ticket, category, building, unit, text, parse_utc(at))
            for rid, ticket, category, building, unit, text, at in rows
        ]

    def purge(self) -> int:
        """Delete requests filed longer ago than the retention."""
        cutoff = utc_text(self._wall_clock() - self._retention)
        return self._db.execute("DELETE FROM request WHERE submitted_at < ?", (cutoff,)).rowcount

    def close(self) -> None:
        """Close the file."""
        self._db.close()


def ask_status(client: PointsClient, call: StatusCall) -> i.RequestStatusAnswered:
    """Run one `requests.status` call (blocks up to the call's expiry: run it off the UI thread)
    and turn the answer into the session's input. The online-call channel is the red points'
    (kiosk/runtime/points_client.py: DATA_DIR/calls, relayed by edge_agent/calls.py)."""
    params = {"subject": call.subject, "key_id": call.key_id, "limit": call.limit}
    answer = client.call("requests.status", params)
    if not answer.ok:
        return i.RequestStatusAnswered(call.call_id, False, (), answer.reason or "timeout")
    requests = parse_status_data(answer.data)
    if requests is None:
        return i.RequestStatusAnswered(call.call_id, False, (), "invalid_call")
    return i.RequestStatusAnswered(call.call_id, True, requests)
