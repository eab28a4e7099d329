"""The residents' activity sign-ups (活动报名) in SQLite, keyed by pseudonym only.

Like the BP history (kiosk/runtime/history.py) the file lives in the kiosk user's private
directory, which the agent's user cannot read: the city's answers come in through the agent as
files (common/kiosk_agent.py `signup-results`) and are applied here by the kiosk. Versioned with
common/sqlite_schema.py; version 1 is the first release. Retention: sign-ups of activities that
started more than `retention_days` ago are deleted on open and on every write.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.kiosk_agent import (
    MAX_SIGNUP_RESULT_BYTES,
    SignupResult,
    parse_signup_result,
    signup_results_dir,
)
from common.sqlite_schema import Schema, SchemaMismatch, immediate, open_store, parse_utc, utc_text
from kiosk.core.ports import SignupState, StoredSignup

log = logging.getLogger(__name__)

SIGNUPS_FILE = "signups.sqlite3"
DEFAULT_RETENTION_DAYS = 60
MAX_PER_SUBJECT = 50
MAX_RESULTS_PER_TAKE = 100
_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
_V1 = """
CREATE TABLE signup (
    signup_id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    title_zh TEXT NOT NULL,
    title_en TEXT NOT NULL,
    place_zh TEXT NOT NULL,
    place_en TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'refused', 'cancelled')),
    reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX signup_by_subject ON signup (subject, starts_at);
CREATE INDEX signup_by_start ON signup (starts_at);
"""
COLUMNS = (
    "signup_id", "subject", "activity_id", "title_zh", "title_en", "place_zh", "place_en",
    "starts_at", "state", "reason", "created_at",
)  # fmt: skip
SIGNUP_SCHEMA = Schema(
    "activity sign-ups", "kiosk", migrations={1: _V1}, expected_columns={"signup": COLUMNS}
)


class SignupSchemaError(SchemaMismatch):
    """The database file is newer than this code, unversioned, or not the schema it claims."""


def _check_subject(subject: str) -> None:
    if not _PSEUDONYM.match(subject):
        raise ValueError("sign-ups are keyed by a 64-hex pseudonym only")


class Signups:
    """A SignupStore in one SQLite file (WAL, synchronous=FULL); use from one thread."""

    def __init__(
        self,
        path: Path,
        *,
        retention_days: float = DEFAULT_RETENTION_DAYS,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._retention = timedelta(days=retention_days)
        self._wall_clock = wall_clock
        self._db = open_store(path, SIGNUP_SCHEMA, SignupSchemaError)
        self.purge()

    def add(self, subject: str, signup: StoredSignup) -> None:
        """Keep a new sign-up (its id is a fresh UUIDv7: a repeat is ignored)."""
        _check_subject(subject)
        values = (
            signup.signup_id, subject, signup.activity_id, signup.title_zh, signup.title_en,
            signup.place_zh, signup.place_en, utc_text(signup.starts_at), signup.state,
            signup.reason, utc_text(self._wall_clock()),
        )  # fmt: skip
        with immediate(self._db):
            self._db.execute(
                "INSERT OR IGNORE INTO signup VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values
            )
            self._db.execute(
                "DELETE FROM signup WHERE subject = ? AND signup_id NOT IN ("
                " SELECT signup_id FROM signup WHERE subject = ?"
                " ORDER BY created_at DESC LIMIT ?)",
                (subject, subject, MAX_PER_SUBJECT),
            )
        self.purge()

    def for_subject(self, subject: str) -> list[StoredSignup]:
        """This resident's sign-ups that are not cancelled, soonest activity first."""
        _check_subject(subject)
        rows = self._db.execute(
            "SELECT signup_id, activity_id, title_zh, title_en, place_zh, place_en, starts_at,"
            " state, reason FROM signup WHERE subject = ? AND state != 'cancelled'"
            " ORDER BY starts_at, signup_id",
            (subject,),
        ).fetchall()
        return [
            StoredSignup(sid, aid, tz, te, pz, pe, parse_utc(start), state, reason)
            for sid, aid, tz, te, pz, pe, start, state, reason in rows
        ]

    def cancel(self, subject: str, signup_id: str) -> bool:
        """Mark one of this resident's sign-ups cancelled; False if it is not theirs."""
        _check_subject(subject)
        cursor = self._db.execute(
            "UPDATE signup SET state = 'cancelled'"
            " WHERE signup_id = ? AND subject = ? AND state != 'cancelled'",
            (signup_id, subject),
        )
        return cursor.rowcount == 1

    def apply_result(self, result: SignupResult) -> bool:
        """Record the city's answer; a cancelled sign-up stays cancelled. False if unknown."""
        state: SignupState = result.outcome
        cursor = self._db.execute(
            "UPDATE signup SET state = ?, reason = ? WHERE signup_id = ? AND state != 'cancelled'",
            (state, result.reason, result.signup_id),
        )
        return cursor.rowcount == 1

    def state_of(self, signup_id: str) -> str | None:
        """One sign-up's state (tests, diagnostics); None if unknown."""
        row = self._db.execute(
            "SELECT state FROM signup WHERE signup_id = ?", (signup_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def purge(self) -> int:
        """Delete sign-ups of activities that started longer ago than the retention."""
        cutoff = utc_text(self._wall_clock() - self._retention)
        cursor = self._db.execute("DELETE FROM signup WHERE starts_at < ?", (cutoff,))
        return cursor.rowcount

    def close(self) -> None:
        """Close the file."""
        self._db.close()


def take_signup_results(data_dir: Path, store: Signups) -> int:
    """Apply the answers the agent left (each taken once: renamed away, then read); returns how
    many changed a sign-up. Malformed files are dropped with a log line, never their content."""
    directory = signup_results_dir(data_dir)
    try:
        names = sorted(p.name for p in directory.glob("*.json"))[:MAX_RESULTS_PER_TAKE]
    except OSError:
        return 0
    changed = 0
    for name in names:
        path = directory / name
        claimed = path.with_suffix(".taken")
        try:
            os.replace(path, claimed)
            with claimed.open("rb") as handle:
                raw = handle.read(MAX_SIGNUP_RESULT_BYTES + 1)
        except OSError:
            continue
        finally:
            with contextlib.suppress(OSError):
                claimed.unlink()
        result: SignupResult | None = None
        if len(raw) <= MAX_SIGNUP_RESULT_BYTES:
            with contextlib.suppress(ValueError, RecursionError):
                result = parse_signup_result(json.loads(raw))
        if result is None:
            log.warning("a sign-up result file is malformed; dropped")
            continue
        if store.apply_result(result):
            changed += 1
        else:
            log.info("a sign-up result names no sign-up kept here; dropped")
    return changed
