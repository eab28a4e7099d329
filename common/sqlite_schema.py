"""Versioned SQLite schemas: `PRAGMA user_version`, every migration in one transaction, checked.

A `Schema` lists, per version reached, the script that gets there from the one before, and the
tables and columns the current version must have. `migrate` refuses a file newer than the code
or with tables but no version, applies what is missing in one BEGIN IMMEDIATE … COMMIT, and
checks the result, so a half-migrated or hand-edited file is never used (the outbox and the
kiosk's BP history both use it).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class SchemaMismatch(RuntimeError):
    """The database is newer than this code or its tables are not what its version says."""


@dataclass(frozen=True)
class Schema:
    """One database's versions; `label` names it in errors, `reader` the program that opens it."""

    label: str
    reader: str
    migrations: Mapping[int, str]  # version reached -> script from the one before
    expected_columns: Mapping[str, tuple[str, ...]]
    triggers_allowed: bool = False

    @property
    def version(self) -> int:
        """The version this code writes."""
        return max(self.migrations)


def statements(script: str) -> list[str]:
    """A migration script as single statements, trigger bodies (which contain ';') kept whole."""
    out: list[str] = []
    buffer = ""
    for line in script.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError("incomplete SQL statement in migration")
    return out


def migrate(conn: sqlite3.Connection, schema: Schema) -> int:
    """Bring the database to `schema.version` in one transaction and check it; returns it.

    `conn` must be in autocommit mode (isolation_level=None).
    """
    target = schema.version
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > target:
            raise SchemaMismatch(
                f"{schema.label} schema version {version} is newer than this "
                f"{schema.reader} ({target})"
            )
        if version == 0 and tables(conn):
            raise SchemaMismatch(f"{schema.label} file has tables but no schema version")
        for step in range(version + 1, target + 1):
            for statement in statements(schema.migrations[step]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {target}")
        check_schema(conn, schema)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return target


def tables(conn: sqlite3.Connection) -> set[str]:
    """The names of the user tables in the database."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return {str(r[0]) for r in rows}


def check_schema(conn: sqlite3.Connection, schema: Schema) -> None:
    """Refuse a database whose tables or columns differ from the current version's."""
    label = schema.label
    if not schema.triggers_allowed:
        found_triggers = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall()
        if found_triggers:
            names = sorted(t[0] for t in found_triggers)
            raise SchemaMismatch(f"{label} has triggers {names}; none expected")
    found_tables = tables(conn)
    if found_tables != set(schema.expected_columns):
        raise SchemaMismatch(f"{label} tables {sorted(found_tables)} differ from the expected ones")
    for table, columns in schema.expected_columns.items():
        found = tuple(str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})"))
        if found != columns:
            raise SchemaMismatch(f"{label} table {table} has columns {found}, expected {columns}")


def open_store(
    path: Path, schema: Schema, mismatch: type[SchemaMismatch] = SchemaMismatch
) -> sqlite3.Connection:
    """A durable autocommit connection (WAL, synchronous=FULL) to `path`, migrated to
    `schema`; a file that does not fit raises `mismatch` (closed first). The kiosk's private
    stores (BP history, sign-ups, requests) open their files this one way."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    try:
        migrate(db, schema)
    except SchemaMismatch as exc:
        db.close()
        raise mismatch(str(exc)) from None
    return db


@contextlib.contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT, ROLLBACK on error (an autocommit connection)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def utc_text(moment: datetime) -> str:
    """A moment as the stores keep it: UTC, microseconds, `Z` (sorts as text)."""
    return moment.astimezone(UTC).strftime(UTC_FORMAT)


def parse_utc(text: str) -> datetime:
    """The moment `utc_text` wrote."""
    return datetime.strptime(text, UTC_FORMAT).replace(tzinfo=UTC)
