"""The red points ledger against a real PostgreSQL: earn, redeem once, never below zero."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from city.cli import main
from city.db import connect
from city.points import ledger
from common.ids import uuid7

pytestmark = [pytest.mark.postgres]

ALICE = ledger.Resident(key_id="k2026", subject="a" * 64)
BOB = ledger.Resident(key_id="k2026", subject="b" * 64)
KIOSK = "440300/c1/k1"


@pytest.fixture
def conn(city_db: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a migrated database, with a catalogue of two rewards."""
    with connect(city_db, autocommit=True) as connection:
        ledger.prepare(connection)
        ledger.set_reward(
            connection,
            "haircut",
            title_zh="理发",
            title_en="Haircut",
            points=50,
            stock=None,
            active=True,
            actor="test",
        )
        ledger.set_reward(
            connection,
            "rice",
            title_zh="大米",
            title_en=None,
            points=30,
            stock=1,
            active=True,
            actor="test",
        )
        yield connection


def _redeem(
    conn: psycopg.Connection,
    resident: ledger.Resident,
    reward: str = "haircut",
    points: int = 50,
    redemption_id: str | None = None,
) -> ledger.Outcome:
    return ledger.redeem(
        conn,
        resident,
        redemption_id=redemption_id or uuid7(),
        reward_id=reward,
        points=points,
        kiosk=KIOSK,
        call_id=uuid7(),
    )


def test_earn_credits_once_per_source_and_reference_and_is_audited(
    conn: psycopg.Connection,
) -> None:
    """The same attendance counts once; volunteering with the same reference is another entry."""
    assert ledger.balance(conn, ALICE) == 0
    assert ledger.earn(conn, ALICE, 20, source="attendance", reference="act-1", actor="wang") == (
        20,
        True,
    )
    assert ledger.earn(conn, ALICE, 20, source="attendance", reference="act-1", actor="wang") == (
        20,
        False,
    )
    assert ledger.earn(conn, ALICE, 5, source="volunteering", reference="act-1", actor="wang") == (
        25,
        True,
    )
    entries = ledger.history(conn, ALICE, 10)
    assert [(e["kind"], e["points"], e["source"]) for e in entries] == [
        ("earn", 5, "volunteering"),
        ("earn", 20, "attendance"),
    ]
    audited = conn.execute(
        "SELECT actor, action FROM audit_log WHERE action = 'points.earn'"
    ).fetchall()
    assert audited == [("wang", "points.earn"), ("wang", "points.earn")]
    with pytest.raises(ledger.LedgerError):
        ledger.earn(conn, ALICE, 0, source="attendance", reference="x", actor="wang")
    with pytest.raises(ledger.LedgerError):
        ledger.earn(conn, ALICE, 5, source="redemption", reference="x", actor="wang")


def test_redeem_spends_once_per_redemption_id_and_replays_the_first_outcome(
    conn: psycopg.Connection,
) -> None:
    """A retried redemption returns the same voucher and spends nothing more."""
    ledger.earn(conn, ALICE, 120, source="attendance", reference="act-1", actor="t")
    rid = uuid7()
    first = _redeem(conn, ALICE, redemption_id=rid)
    assert first.redeemed
    assert first.data is not None
    assert not first.replayed
    assert first.data["balance"] == 70
    again = _redeem(conn, ALICE, redemption_id=rid)
    assert again.redeemed
    assert again.replayed
    assert again.data == first.data
    assert ledger.balance(conn, ALICE) == 70
    history = ledger.history(conn, ALICE, 10)
    assert history[0]["kind"] == "redeem"
    assert history[0]["points"] == -50
    assert history[0]["title"] == {"zh": "理发", "en": "Haircut"}
    # The same id for another resident, reward or price is a conflict, never a second spend.
    assert _redeem(conn, BOB, redemption_id=rid).reason == "redemption_conflict"
    assert _redeem(conn, ALICE, "rice", 30, redemption_id=rid).reason == "redemption_conflict"
    assert ledger.balance(conn, ALICE) == 70


def test_refusals_are_kept_and_replayed_and_never_spend(conn: psycopg.Connection) -> None:
    """Insufficient points, a changed price, an unknown or sold-out reward: each one a code."""
    ledger.earn(conn, ALICE, 40, source="attendance", reference="act-1", actor="t")
    rid = uuid7()
    assert _redeem(conn, ALICE, redemption_id=rid).reason == "insufficient_points"
    ledger.earn(conn, ALICE, 40, source="attendance", reference="act-2", actor="t")
    # The first outcome stands for that resident action, even though 80 would cover it now.
    assert _redeem(conn, ALICE, redemption_id=rid).reason == "insufficient_points"
    assert _redeem(conn, ALICE, points=40).reason == "price_changed"
    assert _redeem(conn, ALICE, "gold", 10).reason == "unknown_reward"
    assert _redeem(conn, ALICE, "rice", 30).redeemed
    assert _redeem(conn, ALICE, "rice", 30).reason == "reward_unavailable"  # stock was 1
    assert ledger.balance(conn, ALICE) == 50
    assert [r["available"] for r in ledger.catalogue(conn)] == [False, True]


def test_the_ledger_is_append_only_and_the_balance_cannot_go_negative(
    conn: psycopg.Connection,
) -> None:
    """UPDATE and DELETE on entries are refused; the CHECK stops a negative balance."""
    ledger.earn(conn, ALICE, 10, source="attendance", reference="act-1", actor="t")
    with pytest.raises(psycopg.errors.RaiseException):
        conn.execute("UPDATE points_entries SET points = 1000")
    with pytest.raises(psycopg.errors.RaiseException):
        conn.execute("DELETE FROM points_entries")
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE points_accounts SET balance = -1")


def _race(city_db: str, attempts: list[tuple[ledger.Resident, str]]) -> list[ledger.Outcome]:
    """Run the redemptions at the same moment, each on its own connection."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[ledger.Outcome | None] = [None] * len(attempts)

    def one(index: int, resident: ledger.Resident, rid: str) -> None:
        with connect(city_db, autocommit=True) as own:
            ledger.prepare(own)
            barrier.wait()
            outcomes[index] = _redeem(own, resident, redemption_id=rid)

    threads = [
        threading.Thread(target=one, args=(i, resident, rid))
        for i, (resident, rid) in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]


def test_concurrent_redemptions_of_one_balance_are_serialised(
    conn: psycopg.Connection, city_db: str
) -> None:
    """Eight different redemptions race for a balance that covers one: exactly one succeeds."""
    ledger.earn(conn, ALICE, 60, source="attendance", reference="act-1", actor="t")
    outcomes = _race(city_db, [(ALICE, uuid7()) for _ in range(8)])
    assert sum(o.redeemed for o in outcomes) == 1
    assert {o.reason for o in outcomes if not o.redeemed} == {"insufficient_points"}
    assert ledger.balance(conn, ALICE) == 10


def test_the_same_redemption_duplicated_concurrently_spends_once(
    conn: psycopg.Connection, city_db: str
) -> None:
    """Six copies of one redemption at once: one spend, six identical answers."""
    ledger.earn(conn, ALICE, 500, source="attendance", reference="act-1", actor="t")
    rid = uuid7()
    outcomes = _race(city_db, [(ALICE, rid)] * 6)
    assert all(o.redeemed for o in outcomes)
    assert len({json.dumps(o.data, sort_keys=True) for o in outcomes}) == 1
    assert ledger.balance(conn, ALICE) == 450
    # And a copy under another resident's pseudonym racing the same id is refused.
    rid = uuid7()
    ledger.earn(conn, BOB, 500, source="attendance", reference="act-1", actor="t")
    mixed = _race(city_db, [(ALICE, rid), (BOB, rid)])
    assert sorted(o.redeemed for o in mixed) == [False, True]
    assert ledger.balance(conn, ALICE) + ledger.balance(conn, BOB) == 450 + 450


def test_staff_cli_earn_balance_history_and_rewards(
    city_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m city points …` as staff use it."""
    config = tmp_path / "city.yaml"
    config.write_text(f"database: {{url: '{city_db}'}}\nbroker: {{url: 'mqtt://127.0.0.1:1'}}\n")
    who = ["--subject", ALICE.subject, "--key-id", ALICE.key_id, "--config", str(config)]
    assert (
        main(
            [
                "points",
                "earn",
                *who,
                "--points",
                "30",
                "--source",
                "volunteering",
                "--reference",
                "shift-7",
                "--note",
                "garden",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "points",
                "earn",
                *who,
                "--points",
                "30",
                "--source",
                "volunteering",
                "--reference",
                "shift-7",
            ]
        )
        == 0
    )
    assert "credited already" in capsys.readouterr().out
    assert main(["points", "balance", *who]) == 0
    assert capsys.readouterr().out.strip() == "balance 30"
    assert main(["points", "history", *who, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["balance"] == 30
    assert document["entries"][0]["source"] == "volunteering"
    assert "note" not in document["entries"][0]
    assert (
        main(
            [
                "points",
                "reward",
                "tea",
                "--title-zh",
                "茶叶",
                "--points",
                "20",
                "--config",
                str(config),
            ]
        )
        == 0
    )
    assert main(["points", "rewards", "--json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["rewards"][0]["reward_id"] == "tea"
    assert (
        main(
            ["points", "balance", "--subject", "NOT-HEX", "--key-id", "k", "--config", str(config)]
        )
        == 1
    )
    assert (
        main(
            [
                "points",
                "reward",
                "bad id",
                "--title-zh",
                "x",
                "--points",
                "1",
                "--config",
                str(config),
            ]
        )
        == 1
    )
