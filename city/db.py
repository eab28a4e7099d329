"""PostgreSQL connections and versioned migrations (ordered SQL files + a version table).

`city/migrations/NNNN_name.sql` are applied in order, all pending ones in one transaction,
under an advisory lock so that two workers starting together do not race. A database that
knows a newer version than this code, or whose applied names differ from the files, is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
MIGRATION_LOCK_KEY = 0x43495459  # "CITY": pg_advisory_xact_lock key for migrations


class SchemaMismatch(RuntimeError):
    """The database's schema is not one this code can migrate (newer, or different history)."""


@dataclass(frozen=True)
class Migration:
    """One ordered SQL file."""

    version: int
    name: str
    sql: str


def connect(url: str, *, timeout_s: float = 5.0, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg connection with a connect timeout."""
    return psycopg.connect(url, connect_timeout=max(1, round(timeout_s)), autocommit=autocommit)


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files, in version order; versions must run 1, 2, 3 … without holes."""
    found = []
    for file in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(file.name)
        if match is None:
            raise SchemaMismatch(f"{file.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], file.read_text(encoding="utf-8")))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise SchemaMismatch(f"migration {expected:04d} is missing")
    return found


def current_version(conn: psycopg.Connection) -> int:
    """The highest applied migration (0 on an empty database)."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(url: str, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply every pending migration in one transaction; returns what it applied."""
    known = migrations(directory)
    with connect(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied: dict[int, str] = dict(
            conn.execute("SELECT version, name FROM schema_version").fetchall()
        )
        newest = max(applied, default=0)
        if newest > len(known):
            raise SchemaMismatch(
                f"the database is at version {newest}; this code knows up to {len(known)}"
            )
        for migration in known:
            name = applied.get(migration.version)
            if name is not None and name != migration.name:
                raise SchemaMismatch(
                    f"version {migration.version} was applied as {name!r}, "
                    f"the file is {migration.name!r}"
                )
        pending = [m for m in known if m.version not in applied]
        for migration in pending:
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
        conn.commit()
    return pending


def require_current(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> None:
    """Refuse to work on a database that is not migrated to this code's version."""
    have, want = current_version(conn), len(migrations(directory))
    if have != want:
        raise SchemaMismatch(
            f"the database is at schema version {have}, this code needs {want}: "
            "run `python -m city db migrate --config FILE`"
        )
