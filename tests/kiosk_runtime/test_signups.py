"""The sign-ups store: keyed by pseudonym, the city's answers applied from the agent's files,
versioned schema, retention; and the wired kiosk keeps it in the private directory."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.kiosk_agent import SignupResult, signup_results_dir
from kiosk.core.ports import StoredSignup
from kiosk.runtime.signups import Signups, SignupSchemaError, take_signup_results

SUBJECT = "ab" * 32
OTHER = "cd" * 32
NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
SIGNUP_ID = "0193f1c2-7a4b-7c3d-8e5f-0123456789ab"


def signup(signup_id: str = SIGNUP_ID, days: float = 7) -> StoredSignup:
    return StoredSignup(
        signup_id, "tai-chi-10", "太极拳晨练", "Tai chi", "活动室", "Room", NOW + timedelta(days)
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Signups]:
    made = Signups(tmp_path / "signups.sqlite3", wall_clock=lambda: NOW)
    yield made
    made.close()


def test_kept_by_pseudonym_and_shown_only_to_their_resident(store: Signups) -> None:
    """One resident's sign-ups never show for another; cancelling is theirs only."""
    store.add(SUBJECT, signup())
    assert [s.signup_id for s in store.for_subject(SUBJECT)] == [SIGNUP_ID]
    assert store.for_subject(OTHER) == []
    assert not store.cancel(OTHER, SIGNUP_ID)
    assert store.cancel(SUBJECT, SIGNUP_ID)
    assert store.for_subject(SUBJECT) == []
    with pytest.raises(ValueError, match="pseudonym"):
        store.add("11010519491231002X", signup("0193f1c2-7a4b-7c3d-8e5f-0123456789ac"))


def test_the_citys_answers_are_taken_once_from_the_agents_files(
    tmp_path: Path, store: Signups
) -> None:
    """confirmed/refused files → states; unknown and malformed files are dropped; each once."""
    store.add(SUBJECT, signup())
    folder = signup_results_dir(tmp_path)
    folder.mkdir(parents=True)
    answer = SignupResult(SIGNUP_ID, "refused", "名额已满").as_dict()
    (folder / f"{SIGNUP_ID}.json").write_text(json.dumps(answer), encoding="utf-8")
    (folder / "junk.json").write_text('{"signup_id": "../x"}', encoding="utf-8")
    (folder / "big.json").write_bytes(b"[" * 10_000)
    assert take_signup_results(tmp_path, store) == 1
    (mine,) = store.for_subject(SUBJECT)
    assert (mine.state, mine.reason) == ("refused", "名额已满")
    assert list(folder.iterdir()) == []
    assert take_signup_results(tmp_path, store) == 0


def test_a_cancelled_sign_up_stays_cancelled(store: Signups) -> None:
    """A confirmation arriving after the resident cancelled changes nothing."""
    store.add(SUBJECT, signup())
    store.cancel(SUBJECT, SIGNUP_ID)
    assert not store.apply_result(SignupResult(SIGNUP_ID, "confirmed"))
    assert store.state_of(SIGNUP_ID) == "cancelled"


def test_old_activities_are_forgotten(tmp_path: Path) -> None:
    """Sign-ups of activities long past are deleted on open."""
    path = tmp_path / "s.sqlite3"
    first = Signups(path, wall_clock=lambda: NOW)
    first.add(SUBJECT, signup(days=-100))
    first.add(SUBJECT, signup("0193f1c2-7a4b-7c3d-8e5f-0123456789ac", days=1))
    first.close()
    again = Signups(path, wall_clock=lambda: NOW)
    assert len(again.for_subject(SUBJECT)) == 1
    again.close()


def test_a_newer_or_foreign_file_is_refused(tmp_path: Path) -> None:
    """A file from a newer release (user_version 99) is not opened as ours."""
    path = tmp_path / "s.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(SignupSchemaError):
        Signups(path)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=3000))
def test_any_result_file_is_applied_or_dropped(tmp_path: Path, raw: bytes) -> None:
    """Whatever the file holds, taking it never raises and leaves nothing behind."""
    store = Signups(tmp_path / "fuzz.sqlite3", wall_clock=lambda: NOW)
    try:
        folder = signup_results_dir(tmp_path)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "x.json").write_bytes(raw)
        take_signup_results(tmp_path, store)
        assert not (folder / "x.json").exists()
    finally:
        store.close()
