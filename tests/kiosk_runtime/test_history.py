"""Local BP history: pseudonym-keyed, bounded per resident, purged after the retention period."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from common.sqlite_schema import statements
from config.privacy import pseudonymise
from kiosk.core.ports import StoredReading
from kiosk.runtime.history import SCHEMA_VERSION, BpHistory, HistorySchemaError
from tests.kiosk_core.support import CITY, ID_NUMBER, KEY, START_WALL

SUBJECT = pseudonymise(ID_NUMBER, KEY, CITY)
OTHER = pseudonymise("110105194912310029", KEY, CITY)


def reading(days: float, systolic: int = 130) -> StoredReading:
    """A reading `days` after the start."""
    return StoredReading(START_WALL + timedelta(days=days), systolic, 80, 70)


def test_readings_come_back_oldest_first_per_subject(tmp_sqlite: Path) -> None:
    """recent() returns one subject's newest readings in time order."""
    history = BpHistory(tmp_sqlite, wall_clock=lambda: START_WALL + timedelta(days=10))
    for day, systolic in ((2, 122), (1, 121), (3, 123)):
        history.add(SUBJECT, reading(day, systolic))
    history.add(OTHER, reading(1, 150))
    assert [r.systolic for r in history.recent(SUBJECT, 2)] == [122, 123]
    assert [r.systolic for r in history.recent(OTHER, 10)] == [150]
    assert history.recent(SUBJECT, 10)[0].taken_at == START_WALL + timedelta(days=1)


def test_id_numbers_are_refused_as_keys(tmp_sqlite: Path) -> None:
    """Only a 64-hex pseudonym can key the history; a clear ID number is refused."""
    history = BpHistory(tmp_sqlite)
    with pytest.raises(ValueError, match="pseudonym"):
        history.add(ID_NUMBER, reading(0))
    with pytest.raises(ValueError, match="pseudonym"):
        history.recent(ID_NUMBER, 5)
    raw = tmp_sqlite.read_bytes()
    assert ID_NUMBER.encode() not in raw


def test_per_subject_bound(tmp_sqlite: Path) -> None:
    """At most max_per_subject readings are kept, the newest ones."""
    history = BpHistory(tmp_sqlite, max_per_subject=3, wall_clock=lambda: START_WALL)
    for n in range(6):
        history.add(SUBJECT, reading(n / 24, 120 + n))
    assert [r.systolic for r in history.recent(SUBJECT, 10)] == [123, 124, 125]
    assert history.count() == 3


def test_retention_purges_old_readings(tmp_sqlite: Path) -> None:
    """Readings older than retention_days are gone on the next open or write."""
    now = [START_WALL]
    history = BpHistory(tmp_sqlite, retention_days=30, wall_clock=lambda: now[0])
    history.add(SUBJECT, reading(0))
    history.close()
    now[0] = START_WALL + timedelta(days=31)
    history = BpHistory(tmp_sqlite, retention_days=30, wall_clock=lambda: now[0])
    assert history.recent(SUBJECT, 10) == []


def test_unknown_schema_version_is_refused(tmp_sqlite: Path) -> None:
    """A file from a newer version is not silently used."""
    db = sqlite3.connect(tmp_sqlite)
    db.execute("PRAGMA user_version=7")
    db.close()
    with pytest.raises(HistorySchemaError):
        BpHistory(tmp_sqlite)


def test_reopen_keeps_readings(tmp_sqlite: Path) -> None:
    """Readings survive closing and reopening the file."""
    history = BpHistory(tmp_sqlite, wall_clock=lambda: START_WALL)
    history.add(SUBJECT, reading(0))
    history.close()
    assert len(BpHistory(tmp_sqlite, wall_clock=lambda: START_WALL).recent(SUBJECT, 5)) == 1


FIXTURES = Path(__file__).parent / "fixtures"
V1_SUBJECT = "3f1c8a0b9d2e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"


def test_first_release_file_is_migrated_forward(tmp_sqlite: Path) -> None:
    """A version-1 history keeps its readings, gains the purge index and reports the new version."""
    db = sqlite3.connect(tmp_sqlite)
    db.executescript((FIXTURES / "bp_history_v1.sql").read_text(encoding="utf-8"))
    db.close()
    history = BpHistory(tmp_sqlite, wall_clock=lambda: START_WALL)
    readings = history.recent(V1_SUBJECT, 10)
    assert [(r.systolic, r.pulse) for r in readings] == [(131, 70), (128, None)]
    assert history.count() == 3
    history.close()
    db = sqlite3.connect(tmp_sqlite)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "reading_by_time" in indexes
    db.close()


def test_unversioned_or_inconsistent_files_are_refused_untouched(tmp_sqlite: Path) -> None:
    """Tables without a version, or columns that differ from the version's, are refused as is."""
    db = sqlite3.connect(tmp_sqlite)
    db.execute("CREATE TABLE reading (subject TEXT)")
    db.close()
    with pytest.raises(HistorySchemaError, match="no schema version"):
        BpHistory(tmp_sqlite)
    db = sqlite3.connect(tmp_sqlite)
    db.execute("PRAGMA user_version = 2")
    db.close()
    with pytest.raises(HistorySchemaError, match="columns"):
        BpHistory(tmp_sqlite)
    db = sqlite3.connect(tmp_sqlite)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    db.close()


def test_migration_statements_keep_trigger_bodies_whole() -> None:
    """The shared splitter uses sqlite3.complete_statement, not a split on ';'."""
    script = "CREATE TABLE t (x);\nCREATE TRIGGER g AFTER INSERT ON t BEGIN\nDELETE FROM t;\nEND;"
    assert len(statements(script)) == 2
