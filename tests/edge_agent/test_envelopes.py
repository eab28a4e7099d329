"""The outbox write path: same bytes as encode(), ordered ids, fair locks, exact totals."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edge_agent import db as db_module
from edge_agent import outbox as outbox_module
from edge_agent.contract import EVENT_TYPES, ContractError, Identity, validate_event
from edge_agent.envelopes import build_batch, encode, new_event_ids
from edge_agent.outbox import Limits, Outbox, OutboxError
from edge_agent.publisher import Publisher
from tests.foundation.test_contract import SAMPLE_DATA

IDENTITY = Identity("440300", "c1", "k1")
BOOT = "7a1f5a0e-5b7c-4c8e-9d3a-2f6c1b0e4d11"
NOW = 1_800_000_000.25


def _batch() -> list[tuple[str, dict[str, object]]]:
    return [(t, SAMPLE_DATA[t]) for t in EVENT_TYPES] + [("test", {"index": i}) for i in range(3)]


def test_spliced_payloads_are_exactly_encode_of_each_event() -> None:
    """Every type, mixed in one batch and renumbered: payload == encode(event), and it is valid."""
    items = _batch()
    batch = build_batch(
        items,
        identity=IDENTITY,
        boot_id=BOOT,
        first_seqs={"main": 7, "heartbeat": 3},
        moment=datetime.fromtimestamp(NOW, UTC),
        ids=new_event_ids(len(items), NOW),
    )
    batch.renumber({"main": 41, "heartbeat": 9})
    payloads = batch.payloads()
    main = [e["seq"] for e in batch.events if e["type"] != "heartbeat"]
    assert main == list(range(41, 41 + len(items) - 1))
    assert [e["seq"] for e in batch.events if e["type"] == "heartbeat"] == [9]
    for event, payload in zip(batch.events, payloads, strict=True):
        assert payload == encode(event)
        assert json.loads(payload) == event
        validate_event(event)


def test_unknown_type_in_a_batch_is_refused() -> None:
    """build_batch refuses a type the contract does not list, like new_event."""
    with pytest.raises(ContractError):
        build_batch(
            [("test", {}), ("card.photo", {})],
            identity=IDENTITY,
            boot_id=BOOT,
            first_seqs={},
            moment=datetime.fromtimestamp(NOW, UTC),
            ids=new_event_ids(2, NOW),
        )


def test_event_ids_are_unique_time_ordered_version_7_uuids() -> None:
    """Ids carry the creation ms, sort in batch order, and are RFC 9562 version 7."""
    ids = new_event_ids(3000, NOW)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert parsed.int >> 80 == int(NOW * 1000)
    assert max(new_event_ids(5, NOW)) < min(new_event_ids(5, NOW + 0.002))


def test_seq_taken_by_another_writer_is_renumbered_and_valid(tmp_sqlite: Path) -> None:
    """If another process took the guessed seqs meanwhile, stored payloads carry the real ones."""
    with (
        Outbox(tmp_sqlite, IDENTITY, kernel_boot_id=BOOT) as box,
        Outbox(tmp_sqlite, IDENTITY, kernel_boot_id=BOOT) as other,
    ):
        box.put_many([("test", {"index": 0})])
        stale = box.last_seqs

        def guess_then_race() -> dict[str, int]:
            seen = stale()
            other.put_many([("test", {"index": 1}), ("test", {"index": 2})])
            return seen

        box.last_seqs = guess_then_race  # type: ignore[method-assign]
        events = box.put_many([("test", {"index": 3}), ("heartbeat", SAMPLE_DATA["heartbeat"])])
        assert [(e["stream"], e["seq"]) for e in events] == [("main", 4), ("heartbeat", 1)]
        stored = [json.loads(r.payload) for r in box.peek(limit=10)]
    assert [e["seq"] for e in stored] == [1, 2, 3, 4, 1]
    assert stored[-2:] == events


def test_a_held_write_lock_is_waited_for_then_taken(tmp_sqlite: Path) -> None:
    """put() waits while another connection holds the write lock and completes once it is free."""
    with Outbox(tmp_sqlite, IDENTITY, kernel_boot_id=BOOT) as box:
        holder = sqlite3.connect(tmp_sqlite, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        done = threading.Event()

        def put_one() -> None:
            box.put("test", {})
            done.set()

        worker = threading.Thread(target=put_one)
        worker.start()
        assert not done.wait(0.05)
        holder.execute("COMMIT")
        worker.join(timeout=10)
        assert done.is_set()
        holder.close()
        timeout_ms = box._conn.execute("PRAGMA busy_timeout").fetchone()[0]
        assert timeout_ms == int(db_module.BUSY_TIMEOUT_S * 1000)


def test_a_write_lock_never_freed_gives_the_busy_error(
    tmp_sqlite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After BUSY_TIMEOUT_S the caller gets SQLite's 'database is locked', nothing half-done."""
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_S", 0.05)
    with Outbox(tmp_sqlite, IDENTITY, kernel_boot_id=BOOT) as box:
        holder = sqlite3.connect(tmp_sqlite, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            box.put("test", {})
        holder.execute("ROLLBACK")
        holder.close()
        assert box.depth() == 0
        assert box.put("test", {})["seq"] == 1


class _CountingOutbox(Outbox):
    deletes: int = 0

    def delete(self, rowids: Iterable[int]) -> None:
        """Count the delete transactions."""
        self.deletes += 1
        super().delete(rowids)


class _Link:
    def __init__(self) -> None:
        self.mids = 0

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        self.mids += 1
        return self.mids


def test_pubacks_of_one_poll_are_deleted_in_one_transaction(tmp_sqlite: Path) -> None:
    """Several PUBACKs handled together cost one delete; a refusal among them keeps its rows."""
    box = _CountingOutbox(tmp_sqlite, IDENTITY, kernel_boot_id=BOOT)
    with box:
        box.put_many([("test", {"index": i}) for i in range(30)])
        publisher = Publisher(box, "t/events", lambda: NOW, inflight_max=3, batch_max_events=10)
        assert publisher.pump(_Link()) == 3
        publisher.acked_many([(1, False, "Success"), (2, True, "Quota exceeded"), (3, False, "")])
        assert box.deletes == 1
        assert box.depth() == 10
        assert publisher.delivered == 20
        assert publisher.quarantined == {r.rowid for r in box.peek(limit=100)}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["put", "heartbeat", "deliver", "expire"]),
            st.integers(min_value=1, max_value=30),
        ),
        max_size=25,
    )
)
@example([("heartbeat", 3)] * 4 + [("put", 20)] * 3 + [("deliver", 9), ("expire", 1)])
def test_totals_match_the_rows_whatever_happens(
    tmp_path: Path, steps: list[tuple[str, int]]
) -> None:
    """Puts, shed heartbeats, deliveries and expiry keep depth and stored bytes exact."""
    clock = [NOW]
    path = tmp_path / f"{uuid.uuid4().hex}.sqlite3"
    limits = Limits(max_bytes=12_000, min_free_disk_bytes=0, heartbeat_ttl_s=100)
    with Outbox(path, IDENTITY, kernel_boot_id=BOOT, limits=limits, clock=lambda: clock[0]) as box:
        for action, amount in steps:
            clock[0] += 7
            try:
                if action == "put":
                    box.put_many([("test", {"index": i}) for i in range(amount)])
                elif action == "heartbeat":
                    box.put_many([("heartbeat", SAMPLE_DATA["heartbeat"])] * (amount % 4 + 1))
                elif action == "deliver":
                    rows = box.peek(limit=amount)
                    box.delete(r.rowid for r in rows[::2] + rows[1::3])
                else:
                    box.purge_expired()
            except OutboxError:
                pass
            count, size = box._conn.execute(
                "SELECT count(*), COALESCE(SUM(size), 0) FROM events"
            ).fetchone()
            assert (box.depth(), box.stored_bytes()) == (count, size)


def test_only_heartbeats_are_indexed_for_shedding(tmp_sqlite: Path) -> None:
    """The shedding lookup uses the partial index, which must-keep events do not pay for."""
    with Outbox(tmp_sqlite, IDENTITY, kernel_boot_id=BOOT) as box:
        assert outbox_module.CLASS_SHED == 1
        plan = box._conn.execute(
            "EXPLAIN QUERY PLAN SELECT rowid FROM events WHERE klass = 1 ORDER BY rowid LIMIT 1"
        ).fetchall()
        assert "events_shed" in str(plan)
        (sql,) = box._conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'events_shed'"
        ).fetchone()
        assert "WHERE klass = 1" in sql
