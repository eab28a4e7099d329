"""Seq streams, the outbox's own boot_id and the presence counter (contract decisions 2, 3, 5)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from edge_agent.contract import Identity, validate_event
from edge_agent.outbox import Limits, Outbox
from edge_agent.schema import SCHEMA_VERSION
from tests.foundation.test_contract import SAMPLE_DATA

IDENTITY = Identity("440300", "c1", "k1")
KERNEL = "5d1c7a2e-8b3f-4e6a-9c0d-1e2f3a4b5c6d"
FIXTURES = Path(__file__).parent / "fixtures"
HEARTBEAT = SAMPLE_DATA["heartbeat"]


def _box(path: Path, kernel: str = KERNEL, **kwargs: object) -> Outbox:
    return Outbox(path, IDENTITY, kernel_boot_id=kernel, free_disk=lambda: 10**12, **kwargs)  # type: ignore[arg-type]


def test_heartbeats_are_numbered_in_their_own_stream(tmp_sqlite: Path) -> None:
    """Heartbeats count 1, 2 … in stream `heartbeat`; every other type in stream `main`."""
    with _box(tmp_sqlite) as box:
        events = [box.put("test", {}), box.put("heartbeat", HEARTBEAT), box.put("test", {})]
        events += box.put_many([("heartbeat", HEARTBEAT), ("test", {}), ("heartbeat", HEARTBEAT)])
        assert box.last_seqs() == {"main": 3, "heartbeat": 3}
    for event in events:
        validate_event(event)
    assert [(e["stream"], e["seq"]) for e in events] == [
        ("main", 1),
        ("heartbeat", 1),
        ("main", 2),
        ("heartbeat", 2),
        ("main", 3),
        ("heartbeat", 3),
    ]


def test_expired_heartbeats_leave_gaps_only_in_the_heartbeat_stream(tmp_sqlite: Path) -> None:
    """After the TTL sheds heartbeats, `main` is still gap-free; the gaps are all `heartbeat`."""
    clock = [1_800_000_000.0]
    limits = Limits(heartbeat_ttl_s=10)
    with _box(tmp_sqlite, limits=limits, clock=lambda: clock[0]) as box:
        for round_ in range(6):
            box.put("test", {"index": round_})
            box.put("heartbeat", HEARTBEAT)
            if round_ == 2:
                clock[0] += 11  # the first three heartbeats expire, unsent
        box.purge_expired()
        sent = [json.loads(row.payload) for row in box.peek(limit=100)]
    by_stream: dict[str, list[int]] = {}
    for event in sent:
        by_stream.setdefault(event["stream"], []).append(event["seq"])
    assert by_stream["main"] == [1, 2, 3, 4, 5, 6]
    assert by_stream["heartbeat"] == [4, 5, 6]


def test_shed_heartbeats_at_the_size_cap_leave_main_gap_free(tmp_sqlite: Path) -> None:
    """Heartbeats shed for space take their numbers with them; main events keep every number."""
    with _box(tmp_sqlite, limits=Limits(max_bytes=4_000, min_free_disk_bytes=0)) as box:
        for index in range(12):
            box.put("heartbeat", HEARTBEAT)
            box.put("test", {"index": index})
        sent = [json.loads(row.payload) for row in box.peek(limit=100)]
        assert box.shed_count() > 0
    main = [e["seq"] for e in sent if e["stream"] == "main"]
    beats = [e["seq"] for e in sent if e["stream"] == "heartbeat"]
    assert main == list(range(1, 13))
    assert beats
    assert beats != list(range(1, len(beats) + 1))  # the oldest were shed: a heartbeat gap


def test_boot_id_is_minted_by_the_outbox_not_the_kernel_id(tmp_sqlite: Path) -> None:
    """Kiosk and agent opening in one kernel boot share one minted UUIDv7 boot_id."""
    with _box(tmp_sqlite) as kiosk, _box(tmp_sqlite) as agent:
        assert kiosk.boot_id == agent.boot_id != KERNEL
        assert uuid.UUID(kiosk.boot_id).version == 7
        first = kiosk.put("test", {})
        second = agent.put("test", {})
    assert (first["boot_id"], first["seq"]) == (second["boot_id"], second["seq"] - 1)
    with _box(tmp_sqlite) as reopened:
        assert reopened.boot_id == first["boot_id"]
        assert reopened.put("test", {})["seq"] == 3


def test_a_new_kernel_boot_gets_a_new_boot_id(tmp_sqlite: Path) -> None:
    """Another kernel boot id: a new boot_id, seq from 1 again."""
    with _box(tmp_sqlite) as box:
        before = box.put("test", {})
    with _box(tmp_sqlite, kernel=str(uuid.uuid4())) as box:
        after = box.put("test", {})
    assert after["boot_id"] != before["boot_id"]
    assert after["seq"] == 1


def test_a_data_directory_reset_within_one_boot_never_repeats_boot_and_seq(
    tmp_path: Path,
) -> None:
    """Wiping the data directory in the same kernel boot gives a new boot_id (decision 5)."""
    data = tmp_path / "data"
    with _box(data / "outbox.sqlite3") as box:
        before = [box.put("test", {"index": i}) for i in range(3)]
    shutil.rmtree(data)
    with _box(data / "outbox.sqlite3") as box:
        after = [box.put("test", {"index": i}) for i in range(3)]
    keys = {(e["boot_id"], e["stream"], e["seq"]) for e in before + after}
    assert len(keys) == 6
    assert before[0]["boot_id"] != after[0]["boot_id"]


def test_connection_numbers_grow_across_reopen_and_kernel_boots(tmp_sqlite: Path) -> None:
    """The presence counter is durable: it never repeats, whatever boot or process asks."""
    with _box(tmp_sqlite) as box:
        numbers = [box.next_connection() for _ in range(3)]
    with _box(tmp_sqlite, kernel=str(uuid.uuid4())) as box:
        numbers.append(box.next_connection())
    assert numbers == [1, 2, 3, 4]


class _FullDisk(Outbox):
    """An outbox whose disk fills up on demand (SQLite's own error, as a full disk gives it)."""

    full = False

    def _write(self) -> Any:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        return super()._write()


def test_a_full_disk_still_gives_a_connection_number_above_every_one_sent(
    tmp_sqlite: Path,
) -> None:
    """No room to count: the agent still connects, and the numbers never go back or repeat."""
    box = _FullDisk(tmp_sqlite, IDENTITY, kernel_boot_id=KERNEL, free_disk=lambda: 10**12)
    with box:
        assert box.next_connection() == 1
        box.full = True
        assert [box.next_connection(), box.next_connection()] == [2, 3]
        box.full = False
        assert box.next_connection() == 4
    with _box(tmp_sqlite) as reopened:
        assert reopened.next_connection() == 5


def test_a_v3_outbox_migrates_keeping_rows_and_starting_a_fresh_boot(tmp_sqlite: Path) -> None:
    """The previous release's file: rows, device states, nonces kept; new events in a new boot."""
    conn = sqlite3.connect(tmp_sqlite)
    conn.executescript((FIXTURES / "outbox_v3.sql").read_text())
    conn.close()
    with _box(tmp_sqlite, clock=lambda: 1_800_000_010.0) as box:
        legacy = [json.loads(row.payload) for row in box.peek(limit=10)]
        assert [e["seq"] for e in legacy] == [1, 2, 3, 4]
        assert box.depth() == 4
        assert box.stored_bytes() == sum(len(row.payload) for row in box.peek(limit=10))
        assert box.device_states() == {"bp": "ok"}
        assert not box.remember_nonce("ab" * 16, 1_800_003_600.0, 1_800_000_010.0)
        event = box.put("heartbeat", HEARTBEAT)
        assert event["boot_id"] not in {e["boot_id"] for e in legacy}
        assert (event["stream"], event["seq"]) == ("heartbeat", 1)
        assert box.next_connection() == 1
    conn = sqlite3.connect(tmp_sqlite)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
