"""Outbox schema versions: `PRAGMA user_version`, every migration in one transaction.

Version 1 (first release): events(id, event_id, type, payload, created_at) and boot_seq.
Version 2: shedding class, payload size, heartbeat expiry (one hour for migrated rows),
running totals kept by triggers,
device states reported by the kiosk, command nonces and agent meta.
Version 3: the totals are kept by the outbox code in the same transaction instead; per-row
triggers cost ~1 us per event on insert and on delete, both under the write lock the kiosk
and the agent share (measured). The index that finds heartbeats to shed covers only them,
so other events no longer pay for it.
Version 4: seq numbers per (boot_id, stream) (docs/contract/README.md "Order and gaps"), so
heartbeats, the only events ever shed, leave gaps in their own stream only; boot_id, the
kernel boot it belongs to and the presence connection counter live in meta (the outbox mints
boot_id, so a fresh outbox in the same kernel boot gets a new one). A v3 boot's last seq
carries over to both streams, so no (boot_id, stream, seq) repeats what its events already
used; events still queued are left as they were stored.

The mechanism (one transaction, refusal of newer or unversioned files, column check) is shared
with the kiosk's BP history: common/sqlite_schema.py.
"""

from __future__ import annotations

import sqlite3

from common import sqlite_schema
from edge_agent.errors import AgentError

SCHEMA_VERSION = 4  # the highest key of MIGRATIONS

_V1 = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE boot_seq (boot_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
"""

_V1_TO_V2 = """
ALTER TABLE events ADD COLUMN klass INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN expires_at REAL;
UPDATE events SET payload = CAST(payload AS BLOB);
UPDATE events SET size = length(payload);
UPDATE events SET klass = 1, expires_at = created_at + 3600.0
    WHERE type = 'heartbeat';
CREATE INDEX events_klass ON events(klass, id);
CREATE INDEX events_expiry ON events(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE totals (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    count INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT INTO totals VALUES (1, (SELECT count(*) FROM events),
                              (SELECT COALESCE(SUM(size), 0) FROM events));
CREATE TRIGGER events_ins AFTER INSERT ON events BEGIN
    UPDATE totals SET count = count + 1, bytes = bytes + NEW.size;
END;
CREATE TRIGGER events_del AFTER DELETE ON events BEGIN
    UPDATE totals SET count = count - 1, bytes = bytes - OLD.size;
END;
CREATE TABLE device_state (device TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE nonces (nonce TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('shed_count', '0');
"""

_V2_TO_V3 = """
DROP TRIGGER events_ins;
DROP TRIGGER events_del;
DROP INDEX events_klass;
CREATE INDEX events_shed ON events(id) WHERE klass = 1;
UPDATE totals SET count = (SELECT count(*) FROM events),
                  bytes = (SELECT COALESCE(SUM(size), 0) FROM events);
"""

_V3_TO_V4 = """
CREATE TABLE seq_streams (
    boot_id TEXT NOT NULL,
    stream TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (boot_id, stream)
) WITHOUT ROWID;
INSERT INTO seq_streams SELECT boot_id, 'main', last_seq FROM boot_seq;
INSERT INTO seq_streams SELECT boot_id, 'heartbeat', last_seq FROM boot_seq;
DROP TABLE boot_seq;
INSERT OR IGNORE INTO meta(key, value) VALUES ('connection', '0');
"""

# version reached -> script that gets there from the one before
MIGRATIONS: dict[int, str] = {1: _V1, 2: _V1_TO_V2, 3: _V2_TO_V3, 4: _V3_TO_V4}

EXPECTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("id", "event_id", "type", "payload", "created_at", "klass", "size", "expires_at"),
    "seq_streams": ("boot_id", "stream", "last_seq"),
    "totals": ("only", "count", "bytes"),
    "device_state": ("device", "state", "updated_at"),
    "nonces": ("nonce", "expires_at"),
    "meta": ("key", "value"),
}


class SchemaMismatch(AgentError, sqlite_schema.SchemaMismatch):
    """The outbox is newer than this code or its tables are not what its version says."""


OUTBOX_SCHEMA = sqlite_schema.Schema("outbox", "agent", MIGRATIONS, EXPECTED_COLUMNS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the outbox to SCHEMA_VERSION in one transaction and check it; returns it."""
    try:
        return sqlite_schema.migrate(conn, OUTBOX_SCHEMA)
    except sqlite_schema.SchemaMismatch as exc:
        raise SchemaMismatch(str(exc)) from None


def check_schema(conn: sqlite3.Connection) -> None:
    """Refuse an outbox whose tables or columns differ from the current version's."""
    try:
        sqlite_schema.check_schema(conn, OUTBOX_SCHEMA)
    except sqlite_schema.SchemaMismatch as exc:
        raise SchemaMismatch(str(exc)) from None


__all__ = ["SCHEMA_VERSION", "SchemaMismatch", "check_schema", "migrate"]
