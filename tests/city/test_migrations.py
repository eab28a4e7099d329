"""Versioned migrations: ordered SQL files, a version table, refusal of foreign schemas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from city.db import SchemaMismatch, current_version, migrate, migrations, require_current

pytestmark = pytest.mark.postgres


def test_migrate_applies_all_then_nothing(postgres_url: str) -> None:
    """A fresh database gets every migration; a second run applies none."""
    applied = migrate(postgres_url)
    assert [m.version for m in applied] == list(range(1, len(migrations()) + 1))
    assert migrate(postgres_url) == []
    with psycopg.connect(postgres_url) as conn:
        assert current_version(conn) == len(migrations())
        require_current(conn)
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'events'"
            )
        }
    assert {"id", "kiosk", "type", "ts", "boot", "stream", "seq", "data"} <= columns


def test_newer_database_is_refused(postgres_url: str) -> None:
    """A database migrated by newer code is never touched."""
    migrate(postgres_url)
    with psycopg.connect(postgres_url) as conn:
        conn.execute("INSERT INTO schema_version (version, name) VALUES (999, 'future')")
    with pytest.raises(SchemaMismatch, match="version 999"):
        migrate(postgres_url)


def test_renamed_history_is_refused(postgres_url: str) -> None:
    """A version applied under another name means another history: refuse."""
    migrate(postgres_url)
    with psycopg.connect(postgres_url) as conn:
        conn.execute("UPDATE schema_version SET name = 'other' WHERE version = 1")
    with pytest.raises(SchemaMismatch, match="applied as 'other'"):
        migrate(postgres_url)


def test_unmigrated_database_is_refused_by_workers(postgres_url: str) -> None:
    """Code that needs the schema says which command to run."""
    with psycopg.connect(postgres_url) as conn, pytest.raises(SchemaMismatch, match="db migrate"):
        require_current(conn)


def test_hole_in_migration_files_is_refused(tmp_path: Path) -> None:
    """Files must number 1, 2, 3 … without holes."""
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(SchemaMismatch, match="0002 is missing"):
        migrations(tmp_path)


def test_cli_migrate(postgres_url: str, tmp_path: Path) -> None:
    """`python -m city db migrate --config FILE` with CITY_DATABASE_URL applies the schema."""
    config = tmp_path / "city.yaml"
    config.write_text("database: {url: 'postgresql://x@h/y'}\nbroker: {url: 'mqtt://h:1'}\n")
    done = subprocess.run(
        [sys.executable, "-m", "city", "db", "migrate", "--config", str(config)],
        capture_output=True,
        text=True,
        env={"CITY_DATABASE_URL": postgres_url, "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "0001_events" in done.stdout
