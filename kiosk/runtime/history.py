"""Local SQLite history of consenting residents' BP readings, keyed by pseudonym only.

The key is the HMAC pseudonym (64 hex characters); anything else, such as an ID number, is
refused. Retention is bounded twice: at most `max_per_subject` readings per resident and none
older than `retention_days` (purged on every write and on open).

An adapter behind the core's ReadingHistory port (kiosk/core/ports.py). The file lives in the
kiosk user's private directory (config.paths.kiosk_private_dir), which the agent's user cannot
read (docs/design.md; issue 10 item 9). Versioned like the outbox (common/sqlite_schema.py):
version 1 is the first release's table and index, version 2 adds the index the retention purge
runs on (it scanned the whole table on every write before).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.sqlite_schema import Schema, SchemaMismatch, immediate, open_store, parse_utc, utc_text
from kiosk.core.ports import StoredReading

DEFAULT_MAX_PER_SUBJECT = 30
DEFAULT_RETENTION_DAYS = 365
_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
_V1 = """
CREATE TABLE reading (
    subject TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    systolic INTEGER NOT NULL,
    diastolic INTEGER NOT NULL,
    pulse INTEGER
);
CREATE INDEX reading_by_subject ON reading (subject, taken_at);
"""
_V1_TO_V2 = """
CREATE INDEX reading_by_time ON reading (taken_at);
"""
HISTORY_SCHEMA = Schema(
    "BP history",
    "kiosk",
    migrations={1: _V1, 2: _V1_TO_V2},
    expected_columns={"reading": ("subject", "taken_at", "systolic", "diastolic", "pulse")},
)
SCHEMA_VERSION = HISTORY_SCHEMA.version


class HistorySchemaError(SchemaMismatch):
    """The database file is newer than this code, unversioned, or not the schema it claims."""


def _check_subject(subject: str) -> None:
    if not _PSEUDONYM.match(subject):
        raise ValueError("history is keyed by a 64-hex pseudonym only")


class BpHistory:
    """A ReadingHistory in one SQLite file (WAL, synchronous=FULL); use from one thread."""

    def __init__(
        self,
        path: Path,
        *,
        max_per_subject: int = DEFAULT_MAX_PER_SUBJECT,
        retention_days: float = DEFAULT_RETENTION_DAYS,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._max_per_subject = max_per_subject
        self._retention = timedelta(days=retention_days)
        self._wall_clock = wall_clock
        self._db = open_store(path, HISTORY_SCHEMA, HistorySchemaError)
        self.purge()

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        return immediate(self._db)

    def add(self, subject: str, reading: StoredReading) -> None:
        """Store one reading, then trim this subject to its newest `max_per_subject`."""
        _check_subject(subject)
        with self._transaction():
            self._db.execute(
                "INSERT INTO reading VALUES (?, ?, ?, ?, ?)",
                (
                    subject,
                    utc_text(reading.taken_at),
                    reading.systolic,
                    reading.diastolic,
                    reading.pulse,
                ),
            )
            self._db.execute(
                "DELETE FROM reading WHERE subject = ? AND rowid NOT IN ("
                " SELECT rowid FROM reading WHERE subject = ?"
                " ORDER BY taken_at DESC, rowid DESC LIMIT ?)",
                (subject, subject, self._max_per_subject),
            )
        self.purge()

    def recent(self, subject: str, limit: int) -> list[StoredReading]:
        """The newest `limit` readings of `subject`, oldest first."""
        _check_subject(subject)
        rows = self._db.execute(
            "SELECT taken_at, systolic, diastolic, pulse FROM reading WHERE subject = ?"
            " ORDER BY taken_at DESC, rowid DESC LIMIT ?",
            (subject, limit),
        ).fetchall()
        return [StoredReading(parse_utc(t), s, d, p) for t, s, d, p in reversed(rows)]

    def purge(self) -> int:
        """Delete readings older than the retention period; returns how many went."""
        cutoff = utc_text(self._wall_clock() - self._retention)
        with self._transaction():
            cursor = self._db.execute("DELETE FROM reading WHERE taken_at < ?", (cutoff,))
        return cursor.rowcount

    def count(self) -> int:
        """Readings stored (all subjects)."""
        (n,) = self._db.execute("SELECT count(*) FROM reading").fetchone()
        return int(n)

    def close(self) -> None:
        """Close the file."""
        self._db.close()
