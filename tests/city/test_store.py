"""One ingest transaction against a real private PostgreSQL: COPY, dedupe, gaps, quarantine."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from city.contract import Contract, load_contract
from city.messages import Decoded, decode_message
from city.store import BatchWriter
from testbed.city_events import ROOT, T0, KioskSim, batch

pytestmark = pytest.mark.postgres


@pytest.fixture
def contract(contract_dir: Path) -> Contract:
    """The compiled contract."""
    return load_contract(contract_dir)


def _decode(contract: Contract, topic: str, payload: bytes) -> Decoded:
    return decode_message(
        topic,
        payload,
        topic_root=ROOT,
        contract=contract,
        max_payload_bytes=10**6,
        raw_cap_bytes=100,
    )


def test_redelivery_stores_nothing_twice(city_db: str, contract: Contract) -> None:
    """The same batch written twice inserts its events once; duplicates inside one write too."""
    sim = KioskSim()
    message = _decode(contract, sim.topic(), batch(*(sim.test_event() for _ in range(50))))
    with psycopg.connect(city_db) as conn:
        writer = BatchWriter(conn)
        first = writer.write([message, message], T0)
        again = writer.write([message], T0)
        (count,) = conn.execute("SELECT count(*) FROM events").fetchone() or (0,)
    assert (first.offered, first.inserted, again.inserted, count) == (100, 50, 0, 50)


def test_a_batch_partly_stored_inserts_only_its_new_events(
    city_db: str, contract: Contract
) -> None:
    """The direct COPY refuses a batch holding a stored id; the fallback keeps the new rows."""
    sim = KioskSim()
    events = [sim.test_event() for _ in range(6)]
    stored = _decode(contract, sim.topic(), batch(*events[:3]))
    mixed = _decode(contract, sim.topic(), batch(*events[1:]))
    with psycopg.connect(city_db) as conn:
        writer = BatchWriter(conn)
        first = writer.write([stored], T0)
        second = writer.write([mixed], T0)
        ids = {r[0] for r in conn.execute("SELECT id::text FROM events")}
        (gaps,) = conn.execute("SELECT count(*) FROM seq_gaps").fetchone() or (0,)
    assert (first.inserted, second.offered, second.inserted) == (3, 5, 3)
    assert [e.id for e in second.new_events] == [e["id"] for e in events[3:]]
    assert ids == {e["id"] for e in events}
    assert gaps == 0


def test_rows_commit_together_with_their_gaps_and_fleet_state(
    city_db: str, contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While gaps are tracked, no other connection sees the new rows yet (one transaction)."""
    import city.store

    sim = KioskSim()
    message = _decode(contract, sim.topic(), batch(*(sim.test_event() for _ in range(5))))
    seen_meanwhile: list[int] = []
    track = city.store._track_gaps

    def track_and_look(*args: object) -> None:
        with psycopg.connect(city_db) as other:
            (count,) = other.execute("SELECT count(*) FROM events").fetchone() or (0,)
        seen_meanwhile.append(count)
        track(*args)  # type: ignore[arg-type]  # the real function, unchanged arguments

    monkeypatch.setattr(city.store, "_track_gaps", track_and_look)
    with psycopg.connect(city_db) as conn:
        BatchWriter(conn).write([message], T0)
        (count,) = conn.execute("SELECT count(*) FROM events").fetchone() or (0,)
    assert (seen_meanwhile, count) == ([0], 5)


def test_columns_hold_the_envelope(city_db: str, contract: Contract) -> None:
    """kiosk, type, ts, boot, stream, seq and data as JSONB."""
    sim = KioskSim()
    event = sim.heartbeat(outbox_depth=7)
    with psycopg.connect(city_db) as conn:
        BatchWriter(conn).write([_decode(contract, sim.topic(), batch(event))], T0)
        row = conn.execute(
            "SELECT kiosk, type, ts, boot::text, stream, seq, data->>'outbox_depth' FROM events"
        ).fetchone()
    assert row is not None
    assert row[0] == sim.full_id
    assert row[1:2] == ("heartbeat",)
    assert row[3:] == (sim.boot_id, "heartbeat", 1, "7")


def _open_gaps(conn: psycopg.Connection) -> list[tuple[int, int]]:
    return [
        (a, b)
        for a, b in conn.execute(
            "SELECT first_seq, last_seq FROM seq_gaps ORDER BY first_seq"
        ).fetchall()
    ]


def test_gaps_open_and_close_across_writes(city_db: str, contract: Contract) -> None:
    """A skipped main seq is a stored gap until the late event arrives; heartbeats never gap."""
    sim = KioskSim()
    events = [sim.test_event() for _ in range(5)]
    heartbeats = [sim.heartbeat() for _ in range(4)]
    with psycopg.connect(city_db) as conn:
        writer = BatchWriter(conn)
        writer.write([_decode(contract, sim.topic(), batch(events[0], events[3], events[4]))], T0)
        writer.write([_decode(contract, sim.topic(), batch(heartbeats[0], heartbeats[3]))], T0)
        assert _open_gaps(conn) == [(2, 3)]
        writer.write([_decode(contract, sim.topic(), batch(events[2]))], T0)
        assert _open_gaps(conn) == [(2, 2)]
        writer.write([_decode(contract, sim.topic(), batch(events[1]))], T0)
        assert _open_gaps(conn) == []


def test_presence_does_not_count_as_a_seq(city_db: str, contract: Contract) -> None:
    """Status messages carry the highest seq so far, never a number of their own."""
    sim = KioskSim()
    sim.main_seq = 9
    with psycopg.connect(city_db) as conn:
        BatchWriter(conn).write(
            [_decode(contract, sim.topic("status"), json.dumps(sim.presence("online")).encode())],
            T0,
        )
        assert _open_gaps(conn) == []


def test_quarantine_keeps_reason_and_capped_bytes(city_db: str, contract: Contract) -> None:
    """Garbage lands in `quarantine` with its reason, size and first bytes."""
    payload = b"not json at all " * 50
    with psycopg.connect(city_db) as conn:
        result = BatchWriter(conn).write([_decode(contract, KioskSim().topic(), payload)], T0)
        row = conn.execute("SELECT reason, length(raw), raw_size FROM quarantine").fetchone()
    assert result.quarantined == 1
    assert row == ("not JSON: JSONDecodeError", 100, len(payload))


def test_a_write_that_fails_after_its_copy_leaves_nothing_behind(
    city_db: str, contract: Contract
) -> None:
    """Events, gaps and fleet state commit together: a failure in the gap bookkeeping (here a
    trigger refusing a gap row, as a worker killed at that moment) keeps no events either, so
    the broker's redelivery redoes the whole write."""
    sim = KioskSim()
    events = [sim.test_event() for _ in range(5)]
    skipping = _decode(contract, sim.topic(), batch(events[0], events[4]))  # seqs 2-4: a gap
    with psycopg.connect(city_db) as conn:
        conn.execute(
            "CREATE FUNCTION refuse_gap() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse_gap BEFORE INSERT ON seq_gaps"
            " FOR EACH ROW EXECUTE FUNCTION refuse_gap()"
        )
        conn.commit()
        writer = BatchWriter(conn)
        with pytest.raises(psycopg.errors.RaiseException):
            writer.write([skipping], T0)
        conn.rollback()
        (stored,) = conn.execute("SELECT count(*) FROM events").fetchone() or (0,)
        assert stored == 0
        conn.execute("DROP TRIGGER refuse_gap ON seq_gaps")
        conn.commit()
        again = writer.write([skipping], T0)  # the redelivery
        gaps = conn.execute("SELECT first_seq, last_seq FROM seq_gaps").fetchall()
    assert again.inserted == 2
    assert gaps == [(2, 4)]
