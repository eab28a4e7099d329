"""One ingest transaction: COPY into `events` (a batch that holds stored events instead goes
through a temp table and INSERT … ON CONFLICT DO NOTHING), seq gaps, fleet state, command
results (city/command_results.py) and quarantine — all committed together, so a message is
acknowledged only after everything it caused is durable (docs/design.md §5).

Idempotency comes from the primary key, not from bookkeeping: a redelivered message inserts
nothing and changes nothing else (gaps and fleet state see only newly inserted events).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors

from city.command_results import apply_command_results
from city.fleet import FleetChange, apply_events
from city.gaps import Gap, StreamState, apply_seqs
from city.messages import Decoded, EventRow, QuarantineRow

log = logging.getLogger("city.store")

COPY_INCOMING = "COPY incoming (id, kiosk, type, ts, boot, stream, seq, schema, data) FROM STDIN"
COPY_EVENTS = (
    "COPY events (id, kiosk, type, ts, boot, stream, seq, schema, data, received_at) FROM STDIN"
)
INSERT_NEW = (
    "INSERT INTO events (id, kiosk, type, ts, boot, stream, seq, schema, data, received_at)"
    " SELECT DISTINCT ON (id) id, kiosk, type, ts, boot, stream, seq, schema, data, %s"
    " FROM incoming ON CONFLICT (id) DO NOTHING RETURNING id::text"
)
LOCK_STREAMS = """
SELECT kiosk, boot::text, stream, max_seq FROM seq_streams
WHERE (kiosk, boot, stream) IN (SELECT * FROM unnest(%s::text[], %s::uuid[], %s::text[]))
ORDER BY kiosk, boot, stream FOR UPDATE
"""
OPEN_GAPS = """
SELECT kiosk, boot::text, stream, first_seq, last_seq, opened_at FROM seq_gaps
WHERE (kiosk, boot, stream) IN (SELECT * FROM unnest(%s::text[], %s::uuid[], %s::text[]))
"""
MAX_ATTEMPTS_ON_CONFLICT = 5
# Errors that mean "this data", not "this connection": isolate the message and quarantine it.
DATA_ERRORS: tuple[type[Exception], ...] = (errors.DataError, errors.IntegrityError)
RETRYABLE: tuple[type[Exception], ...] = (errors.DeadlockDetected, errors.SerializationFailure)

StreamKey = tuple[str, str, str]
# Called with the batch's newly inserted events inside its transaction (the report rollups,
# city/reports/rollup.py): what it writes commits or rolls back with the events.
AfterInsert = Callable[[psycopg.Cursor[Any], Sequence[EventRow]], None]


@dataclass
class WriteResult:
    """What one committed write did."""

    offered: int = 0
    inserted: int = 0
    quarantined: int = 0
    changes: list[FleetChange] = field(default_factory=list)
    new_events: list[EventRow] = field(default_factory=list)


class BatchWriter:
    """Writes decoded messages over one connection; `write` commits or raises (nothing kept)."""

    def __init__(self, conn: psycopg.Connection, after_insert: AfterInsert | None = None) -> None:
        self.conn = conn
        self.after_insert = after_insert
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS incoming"
            " (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        conn.commit()

    def write(self, messages: Sequence[Decoded], received_at: datetime) -> WriteResult:
        """Store `messages` in one transaction (isolating any the database refuses)."""
        for attempt in range(MAX_ATTEMPTS_ON_CONFLICT):
            try:
                return self._write_all(messages, received_at)
            except RETRYABLE:
                self.conn.rollback()
                log.warning("write conflict, retrying (attempt %d)", attempt + 1)
            except DATA_ERRORS:
                self.conn.rollback()
                return self._write_isolated(messages, received_at)
        return self._write_all(messages, received_at)

    def _write_isolated(self, messages: Sequence[Decoded], received_at: datetime) -> WriteResult:
        total = WriteResult()
        for message in messages:
            try:
                result = self._write_all([message], received_at)
            except DATA_ERRORS as exc:
                self.conn.rollback()
                sqlstate = getattr(exc, "sqlstate", None) or "?"
                refused = [
                    QuarantineRow(
                        topic=row.kiosk,
                        reason=f"database refused it ({sqlstate})",
                        raw=row.data_json.encode()[:4096],
                        raw_size=len(row.data_json),
                    )
                    for row in message.events
                ]
                result = self._write_all(
                    [Decoded((), (*message.quarantined, *refused))], received_at
                )
            total.offered += result.offered
            total.inserted += result.inserted
            total.quarantined += result.quarantined
            total.changes += result.changes
            total.new_events += result.new_events
        return total

    def _write_all(self, messages: Sequence[Decoded], received_at: datetime) -> WriteResult:
        rows = [row for message in messages for row in message.events]
        quarantined = [q for message in messages for q in message.quarantined]
        result = WriteResult(offered=len(rows), quarantined=len(quarantined))
        # Events, gaps, fleet state and quarantine commit together; the broker ack follows.
        with self.conn.cursor() as cur:
            if rows:
                new_events = self._insert(cur, rows, received_at)
                result.inserted = len(new_events)
                result.new_events = new_events
                _track_gaps(cur, new_events, received_at)
                result.changes = apply_events(self.conn, new_events, received_at)
                apply_command_results(self.conn, new_events, received_at)
                if self.after_insert is not None and new_events:
                    self.after_insert(cur, new_events)
            if quarantined:
                cur.executemany(
                    "INSERT INTO quarantine (received_at, topic, reason, raw, raw_size)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    [(received_at, q.topic, q.reason, q.raw, q.raw_size) for q in quarantined],
                )
        self.conn.commit()
        return result

    def _insert(
        self, cur: psycopg.Cursor, rows: Sequence[EventRow], received_at: datetime
    ) -> list[EventRow]:
        """Insert the rows not stored yet; returns them (the first of each id).

        Almost every batch is new: COPY straight into `events` under a savepoint writes each
        row once. A redelivered batch breaks the primary key there; it is rolled back to the
        savepoint and goes through the temp table and ON CONFLICT DO NOTHING, which tells
        which rows are new (docs/city-scale.md, "Figures")."""
        if len({row.id for row in rows}) == len(rows):
            # A plain SAVEPOINT, not conn.transaction(): at the start of a write no transaction
            # is open yet, and conn.transaction() would then BEGIN and COMMIT the rows on their
            # own, ahead of their gaps and fleet state (a kill in between lost those for good).
            cur.execute("SAVEPOINT direct_copy")
            try:
                with cur.copy(COPY_EVENTS) as copy:
                    for row in rows:
                        copy.write_row((*_columns(row), received_at))
            except errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT direct_copy")
                log.debug("a batch holds stored events; taking the de-duplicating path")
            else:
                cur.execute("RELEASE SAVEPOINT direct_copy")
                return list(rows)
        with cur.copy(COPY_INCOMING) as copy:
            for row in rows:
                copy.write_row(_columns(row))
        cur.execute(INSERT_NEW, (received_at,))
        inserted = {r[0] for r in cur.fetchall()}
        return _first_of_each(rows, inserted)


def _columns(row: EventRow) -> tuple[str, str, str, str, str, str, int, int, str]:
    return (
        row.id,
        row.kiosk,
        row.type,
        row.ts,
        row.boot,
        row.stream,
        row.seq,
        row.schema,
        row.data_json,
    )


def _first_of_each(rows: Sequence[EventRow], inserted: set[str]) -> list[EventRow]:
    chosen: list[EventRow] = []
    for row in rows:
        if row.id in inserted:
            chosen.append(row)
            inserted.discard(row.id)
    return chosen


def _track_gaps(cur: psycopg.Cursor, events: Sequence[EventRow], now: datetime) -> None:
    seqs: dict[StreamKey, list[int]] = defaultdict(list)
    for event in events:
        if event.source == "events" and event.stream == "main":
            seqs[(event.kiosk, event.boot, event.stream)].append(event.seq)
    if not seqs:
        return
    keys = sorted(seqs)
    columns = list(zip(*keys, strict=True))
    cur.executemany(
        "INSERT INTO seq_streams (kiosk, boot, stream, max_seq) VALUES (%s, %s, %s, 0)"
        " ON CONFLICT DO NOTHING",
        keys,
    )
    cur.execute(LOCK_STREAMS, [list(c) for c in columns])
    max_seq = {(k, b, s): m for k, b, s, m in cur.fetchall()}
    cur.execute(OPEN_GAPS, [list(c) for c in columns])
    old_gaps: dict[StreamKey, list[Gap]] = defaultdict(list)
    for k, b, s, first, last, opened in cur.fetchall():
        old_gaps[(k, b, s)].append(Gap(first, last, opened))
    deletes, inserts, heads = [], [], []
    for key in keys:
        before = StreamState(max_seq.get(key, 0), tuple(sorted(old_gaps[key])))
        after = apply_seqs(before, seqs[key], now)
        old, new = set(before.gaps), set(after.gaps)
        deletes += [(*key, g.first) for g in old - new]
        inserts += [(*key, g.first, g.last, g.opened_at) for g in new - old]
        if after.max_seq != before.max_seq:
            heads.append((after.max_seq, *key))
    if deletes:
        cur.executemany(
            "DELETE FROM seq_gaps WHERE kiosk = %s AND boot = %s AND stream = %s"
            " AND first_seq = %s",
            deletes,
        )
    if inserts:
        cur.executemany(
            "INSERT INTO seq_gaps (kiosk, boot, stream, first_seq, last_seq, opened_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            inserts,
        )
    if heads:
        cur.executemany(
            "UPDATE seq_streams SET max_seq = %s WHERE kiosk = %s AND boot = %s AND stream = %s",
            heads,
        )
