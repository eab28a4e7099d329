"""The durable outbox: kiosk and agent processes share one SQLite file (WAL, synchronous=FULL).

`put()` returns only once the event is on disk. `seq` is taken per (boot_id, stream) in the
same transaction as the insert, so every process writing to the file shares the sequences.
The outbox mints `boot_id` itself whenever it sees a new kernel boot or is created fresh, so
(boot_id, stream, seq) never repeats for the life of the file (docs/contract/README.md).
Storage is bounded: heartbeats are shed first, oldest first; other events are never dropped
silently - `OutboxFull` tells the caller, and a pending alert is left for the agent.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from common.ids import uuid7
from edge_agent.contract import HEARTBEAT_STREAM, MAIN_STREAM, Event, Identity
from edge_agent.db import BUSY_TIMEOUT_S, begin_immediate, connect_db
from edge_agent.envelopes import build_batch, encode, new_event_ids
from edge_agent.errors import AgentError
from edge_agent.fastcheck import check_event
from edge_agent.schema import SCHEMA_VERSION, SchemaMismatch, migrate

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
# Event types that may be shed (oldest first) when space runs out, and that expire.
SHEDDABLE_TYPES = frozenset({"heartbeat"})
CLASS_KEEP = 0
CLASS_SHED = 1
DEVICE_STATES = frozenset({"ok", "fault", "disconnected", "unknown"})

Clock = Callable[[], float]
FreeDisk = Callable[[], int]


class OutboxError(AgentError):
    """Root of outbox errors."""


class OutboxFull(OutboxError):
    """No room for an event that must not be dropped; the kiosk should tell the resident."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"outbox full: {reason}")
        self.reason = reason


class HeartbeatShed(OutboxError):
    """A heartbeat did not fit even after shedding older ones; it was dropped and counted."""


class Row(NamedTuple):
    """One stored event: `rowid` orders the outbox, `payload` is the event's JSON bytes."""

    rowid: int
    event_id: str
    type: str
    payload: bytes
    created_at: float


@dataclass(frozen=True)
class Limits:
    """Storage bounds: payload bytes cap, free-disk watermark, heartbeat TTL."""

    max_bytes: int = 256 * 1024 * 1024
    min_free_disk_bytes: int = 200 * 1024 * 1024
    heartbeat_ttl_s: float = 3600.0


def read_boot_id(path: Path = BOOT_ID_PATH) -> str:
    """The kernel's boot id (changes every boot); a random one if unavailable.

    Only the outbox reads it, to tell a new boot; events carry the boot_id the outbox mints.
    """
    try:
        text = path.read_text(encoding="ascii").strip()
        return str(uuid.UUID(text))
    except (OSError, ValueError):
        return str(uuid.uuid4())


def disk_free_bytes(path: Path) -> FreeDisk:
    """A free-disk function for the filesystem holding `path`."""
    return lambda: shutil.disk_usage(path).free


class Outbox:
    """The shared store-and-forward queue; one instance per process (not thread-safe)."""

    def __init__(
        self,
        path: Path,
        identity: Identity,
        *,
        kernel_boot_id: str | None = None,
        limits: Limits | None = None,
        clock: Clock = time.time,
        free_disk: FreeDisk | None = None,
        validate: bool = True,
    ) -> None:
        self.path = Path(path)
        self.identity = identity
        self.limits = limits or Limits()
        self._clock = clock
        self._free_disk = free_disk or disk_free_bytes(self.path.parent)
        self._validate = validate
        self._conn = connect_db(self.path)
        migrate(self._conn)
        self._last_connection = 0  # the highest presence number this process handed out
        self.boot_id = self._adopt_boot_id(kernel_boot_id or read_boot_id())

    def _adopt_boot_id(self, kernel_boot_id: str) -> str:
        # The first process of a kernel boot (kiosk or agent, whichever opens first) mints the
        # boot_id under the write lock; the other adopts it. A file with no boot_id yet (new, or
        # migrated from v3) gets a fresh one too: its seqs can never repeat an earlier boot's.
        known = self._boot_id_for(kernel_boot_id)  # the usual case needs no write lock
        if known is not None:
            return known
        with self._write() as conn:
            known = self._boot_id_for(kernel_boot_id)
            if known is not None:
                return known
            boot_id = uuid7(self._clock())
            conn.executemany(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                [("kernel_boot_id", kernel_boot_id), ("boot_id", boot_id)],
            )
            return boot_id

    def _boot_id_for(self, kernel_boot_id: str) -> str | None:
        if self._meta("kernel_boot_id") != kernel_boot_id:
            return None
        return self._meta("boot_id")

    def close(self) -> None:
        """Close the connection (the file stays)."""
        self._conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front: seq allocation cannot race.
        begin_immediate(self._conn)
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _next_seqs(self, conn: sqlite3.Connection, counts: dict[str, int]) -> dict[str, int]:
        """Take `counts[stream]` numbers of each stream; returns the first of each."""
        first: dict[str, int] = {}
        for stream, count in counts.items():
            conn.execute(
                "INSERT OR IGNORE INTO seq_streams(boot_id, stream, last_seq) VALUES (?, ?, 0)",
                (self.boot_id, stream),
            )
            row = conn.execute(
                "UPDATE seq_streams SET last_seq = last_seq + ? WHERE boot_id = ? AND stream = ?"
                " RETURNING last_seq",
                (count, self.boot_id, stream),
            ).fetchone()
            first[stream] = int(row[0]) - count + 1
        return first

    def put(self, event_type: str, data: Mapping[str, Any], *, force: bool = False) -> Event:
        """Store one new event durably and return it; OutboxFull if it cannot be kept."""
        return self.put_many([(event_type, data)], force=force)[0]

    def put_many(
        self, items: Iterable[tuple[str, Mapping[str, Any]]], *, force: bool = False
    ) -> list[Event]:
        """Store several events in one transaction (group commit); all or none."""
        pending = list(items)
        now = self._clock()
        # Built, checked and encoded before the write lock is taken, numbered from a guess (only
        # seq is spliced in under the lock); renumbered and checked again only if another
        # process took those numbers meanwhile.
        batch = build_batch(
            pending,
            identity=self.identity,
            boot_id=self.boot_id,
            first_seqs={stream: last + 1 for stream, last in self.last_seqs().items()},
            moment=datetime.fromtimestamp(now, UTC),
            ids=new_event_ids(len(pending), now),
        )
        self._check(batch.events)
        try:
            with self._write() as conn:
                first = self._next_seqs(conn, batch.counts())
                if any(batch.first_seqs[stream] != seq for stream, seq in first.items()):
                    batch.renumber({**batch.first_seqs, **first})
                    self._check(batch.events)
                rows = [
                    self._row(event, payload, now)
                    for event, payload in zip(batch.events, batch.payloads(), strict=True)
                ]
                shed_only = all(row[2] == CLASS_SHED for row in rows)
                if not force:
                    self._make_room(conn, sum(row[4] for row in rows), now, shed_only=shed_only)
                conn.executemany(
                    "INSERT INTO events(event_id, type, klass, payload, size, created_at,"
                    " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                conn.execute(
                    "UPDATE totals SET count = count + ?, bytes = bytes + ?",
                    (len(rows), sum(row[4] for row in rows)),
                )
        except _Shed:
            self._bump_shed()
            raise HeartbeatShed from None
        except _Full as full:
            self._flag_full(full.reason, now)
            raise OutboxFull(full.reason) from None
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc).lower():
                raise
            self._flag_full("disk_full", now)
            raise OutboxFull("disk_full") from None
        return batch.events

    def _check(self, events: list[Event]) -> None:
        if self._validate:
            for event in events:
                check_event(event)

    def _row(
        self, event: Event, payload: bytes, now: float
    ) -> tuple[str, str, int, bytes, int, float, float | None]:
        if event["type"] in SHEDDABLE_TYPES:
            expires = now + self.limits.heartbeat_ttl_s
            return (event["id"], event["type"], CLASS_SHED, payload, len(payload), now, expires)
        return (event["id"], event["type"], CLASS_KEEP, payload, len(payload), now, None)

    def _make_room(
        self, conn: sqlite3.Connection, size: int, now: float, *, shed_only: bool
    ) -> None:
        _expire(conn, now)
        reason = self._lack_of_room(conn, size)
        while reason is not None:
            victim = conn.execute(
                # 1 is CLASS_SHED, written out so that the partial index events_shed is used.
                "SELECT rowid FROM events WHERE klass = 1 ORDER BY rowid LIMIT 1"
            ).fetchone()
            if victim is None:
                break
            _removed(
                conn, conn.execute("DELETE FROM events WHERE rowid = ? RETURNING size", victim)
            )
            conn.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'shed_count'"
            )
            reason = self._lack_of_room(conn, size)
        if reason is None:
            return
        # Both roll this transaction back; the caller records the outcome in a new one.
        if shed_only:
            raise _Shed
        raise _Full(reason)

    def _lack_of_room(self, conn: sqlite3.Connection, size: int) -> str | None:
        used = int(conn.execute("SELECT bytes FROM totals").fetchone()[0])
        if used + size > self.limits.max_bytes:
            return "size_cap"
        if self._free_disk() - size < self.limits.min_free_disk_bytes:
            return "disk_low"
        return None

    def _bump_shed(self) -> None:
        try:
            with self._write() as conn:
                conn.execute(
                    "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'shed_count'"
                )
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc).lower():
                raise
            # On a truly full disk even the counter cannot be written; the shed still counts
            # for the caller (HeartbeatShed), and the disk watermark alerts the city.

    def _flag_full(self, reason: str, now: float) -> None:
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('full_reason', ?)", (reason,)
                )
                conn.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES ('full_since', ?)", (str(now),)
                )
        except sqlite3.OperationalError:
            pass  # the disk is truly full; the kiosk still gets OutboxFull

    # The agent's side -----------------------------------------------------------------------

    def peek(
        self, *, after_rowid: int = 0, upto_rowid: int | None = None, limit: int = 100
    ) -> list[Row]:
        """Oldest rows after `after_rowid` (and up to `upto_rowid`), skipping expired ones."""
        now = self._clock()
        cur = self._conn.execute(
            "SELECT rowid, event_id, type, payload, created_at FROM events"
            " WHERE rowid > ? AND rowid <= ? AND (expires_at IS NULL OR expires_at > ?)"
            " ORDER BY rowid LIMIT ?",
            (after_rowid, upto_rowid if upto_rowid is not None else 2**62, now, limit),
        )
        # A tuple, not a dataclass: the agent builds one per event it sends (~0.5 us less each).
        return [
            Row(*r) if type(r[3]) is bytes else Row(r[0], r[1], r[2], _blob(r[3]), r[4])
            for r in cur
        ]

    def delete(self, rowids: Iterable[int]) -> None:
        """Remove delivered rows (after PUBACK) in one transaction."""
        ids = sorted(set(rowids))
        with self._write() as conn:
            sizes: list[int] = []
            for first, last in _runs(ids):  # delivered rows are mostly contiguous
                cur = conn.execute(
                    "DELETE FROM events WHERE rowid BETWEEN ? AND ? RETURNING size", (first, last)
                )
                sizes.extend(int(r[0]) for r in cur)
            _subtract(conn, sizes)

    def purge_expired(self) -> int:
        """Drop expired heartbeats; returns how many."""
        with self._write() as conn:
            return _expire(conn, self._clock())

    def max_rowid(self) -> int:
        """The newest row id (0 when empty)."""
        row = self._conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM events").fetchone()
        return int(row[0])

    def depth(self) -> int:
        """Events waiting to be delivered."""
        return int(self._conn.execute("SELECT count FROM totals").fetchone()[0])

    def stored_bytes(self) -> int:
        """Payload bytes waiting to be delivered."""
        return int(self._conn.execute("SELECT bytes FROM totals").fetchone()[0])

    def oldest_unsent_age_s(self) -> float | None:
        """Age of the oldest waiting event, None when empty."""
        row = self._conn.execute("SELECT MIN(created_at) FROM events").fetchone()
        return None if row[0] is None else max(0.0, self._clock() - float(row[0]))

    def last_seqs(self) -> dict[str, int]:
        """The highest seq handed out in this boot, per stream (0 if none)."""
        rows = self._conn.execute(
            "SELECT stream, last_seq FROM seq_streams WHERE boot_id = ?", (self.boot_id,)
        )
        found = {str(stream): int(last) for stream, last in rows}
        return {MAIN_STREAM: 0, HEARTBEAT_STREAM: 0, **found}

    def last_seq(self, stream: str = MAIN_STREAM) -> int:
        """The highest seq handed out in this boot in `stream` (0 if none)."""
        return self.last_seqs().get(stream, 0)

    def next_connection(self) -> int:
        """Count one more connection attempt and return its number (durable, never repeats).

        On a full disk the count cannot be stored; the number is then kept above every one this
        process handed out, which a restart before the disk frees up can repeat.
        """
        floor = self._last_connection + 1
        try:
            with self._write() as conn:
                conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('connection', '0')")
                row = conn.execute(
                    "UPDATE meta SET value = MAX(CAST(value AS INTEGER) + 1, ?)"
                    " WHERE key = 'connection' RETURNING value",
                    (floor,),
                ).fetchone()
                self._last_connection = int(row[0])
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc).lower():
                raise
            # A full disk must not keep the kiosk from connecting (it could not even say so):
            # the number is still above every one sent, and the next write moves past it.
            stored = int(self._meta("connection") or 0)
            self._last_connection = max(stored + 1, floor)
        return self._last_connection

    def shed_count(self) -> int:
        """How many heartbeats were shed for space since the counter was last taken."""
        return int(self._meta("shed_count") or 0)

    def has_alerts(self) -> bool:
        """True when a full outbox or shed heartbeats wait to be reported (a cheap read)."""
        return self._meta("full_reason") is not None or self.shed_count() > 0

    def take_alerts(self) -> tuple[str | None, int]:
        """(full reason or None, shed count) and reset both: the agent reports them once."""
        with self._write() as conn:
            reason = conn.execute("SELECT value FROM meta WHERE key = 'full_reason'").fetchone()
            shed = conn.execute("SELECT value FROM meta WHERE key = 'shed_count'").fetchone()
            conn.execute("DELETE FROM meta WHERE key IN ('full_reason', 'full_since')")
            conn.execute("UPDATE meta SET value = '0' WHERE key = 'shed_count'")
        return (None if reason is None else str(reason[0])), int(shed[0]) if shed else 0

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # Kiosk-reported state -------------------------------------------------------------------

    def set_device_state(self, device: str, state: str) -> None:
        """The kiosk reports a device's state (ok/fault/disconnected/unknown) for heartbeats."""
        if state not in DEVICE_STATES:
            raise ValueError(f"device state must be one of {sorted(DEVICE_STATES)}")
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO device_state(device, state, updated_at) VALUES (?, ?, ?)",
                (device, state, self._clock()),
            )

    def device_states(self) -> dict[str, str]:
        """Last reported state per device."""
        cur = self._conn.execute("SELECT device, state FROM device_state ORDER BY device")
        return {str(d): str(s) for d, s in cur}

    def report_kiosk_alive(self) -> None:
        """The kiosk process calls this on a timer; heartbeats carry whether it is recent."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('kiosk_alive_at', ?)",
                (str(self._clock()),),
            )

    def kiosk_alive_at(self) -> float | None:
        """When the kiosk last reported itself alive."""
        value = self._meta("kiosk_alive_at")
        return None if value is None else float(value)

    # Command nonces (survive restarts) -------------------------------------------------------

    def remember_nonce(self, nonce: str, expires_at: float, now: float) -> bool:
        """Record a command nonce until `expires_at`; False if it was already seen (a replay)."""
        with self._write() as conn:
            conn.execute("DELETE FROM nonces WHERE expires_at < ?", (now,))
            cur = conn.execute(
                "INSERT OR IGNORE INTO nonces(nonce, expires_at) VALUES (?, ?)", (nonce, expires_at)
            )
            return cur.rowcount == 1


class _Shed(Exception):
    """Internal: the new heartbeat was shed for lack of room."""


class _Full(Exception):
    """Internal: no room for a must-keep event."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# The totals row is kept by the code, in the transaction that changes events (schema v3).


def _subtract(conn: sqlite3.Connection, sizes: list[int]) -> int:
    if sizes:
        conn.execute(
            "UPDATE totals SET count = count - ?, bytes = bytes - ?", (len(sizes), sum(sizes))
        )
    return len(sizes)


def _removed(conn: sqlite3.Connection, cursor: sqlite3.Cursor) -> int:
    return _subtract(conn, [int(r[0]) for r in cursor])


def _expire(conn: sqlite3.Connection, now: float) -> int:
    cursor = conn.execute(
        "DELETE FROM events WHERE expires_at IS NOT NULL AND expires_at <= ? RETURNING size",
        (now,),
    )
    return _removed(conn, cursor)


def _runs(ids: list[int]) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive integers in sorted `ids`."""
    runs: list[list[int]] = []
    for value in ids:
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return [(first, last) for first, last in runs]


def _blob(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


__all__ = [
    "BUSY_TIMEOUT_S",
    "SCHEMA_VERSION",
    "HeartbeatShed",
    "Limits",
    "Outbox",
    "OutboxError",
    "OutboxFull",
    "Row",
    "SchemaMismatch",
    "connect_db",
    "disk_free_bytes",
    "encode",
    "new_event_ids",
    "read_boot_id",
]
