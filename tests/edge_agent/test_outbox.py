"""The durable outbox: sequence, migration, concurrency, bounded storage."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from edge_agent.contract import Identity, validate_event
from edge_agent.outbox import HeartbeatShed, Limits, Outbox, OutboxFull, SchemaMismatch
from edge_agent.schema import SCHEMA_VERSION

FIXTURES = Path(__file__).parent / "fixtures"
IDENTITY = Identity("440300", "c1", "k1")
BOOT = "7a1f5a0e-5b7c-4c8e-9d3a-2f6c1b0e4d11"
MB = 1024 * 1024
HEARTBEAT = {
    "outbox_depth": 0,
    "oldest_unsent_age_s": None,
    "free_disk_mb": 1.0,
    "devices": {},
    "clock": {"synchronised": None},
    "versions": {},
    "uptime_s": 1.0,
}


class Clock:
    """A settable wall clock."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def open_box(path: Path, **kwargs: object) -> Outbox:
    return Outbox(path, IDENTITY, kernel_boot_id=BOOT, **kwargs)  # type: ignore[arg-type]


def test_put_returns_valid_event_with_per_boot_seq(tmp_sqlite: Path) -> None:
    """put() returns a contract-valid event; seq counts 1, 2, 3 within a boot."""
    with open_box(tmp_sqlite) as box:
        events = [box.put("test", {"index": i}) for i in range(3)]
    for event in events:
        validate_event(event)
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert {e["boot_id"] for e in events} == {box.boot_id}


def test_events_survive_reopen_in_order(tmp_sqlite: Path) -> None:
    """What put() stored is there after closing and reopening, oldest first."""
    with open_box(tmp_sqlite) as box:
        ids = [box.put("test", {"index": i})["id"] for i in range(5)]
    with open_box(tmp_sqlite) as box:
        rows = box.peek(limit=10)
        assert [r.event_id for r in rows] == ids
        assert [json.loads(r.payload)["id"] for r in rows] == ids
        assert box.depth() == 5
        assert box.last_seq() == 5


def test_new_boot_restarts_sequence(tmp_sqlite: Path) -> None:
    """A different boot id starts again at seq 1."""
    with open_box(tmp_sqlite) as box:
        box.put("test", {})
    other = str(uuid.uuid4())
    with Outbox(tmp_sqlite, IDENTITY, kernel_boot_id=other) as box:
        assert box.put("test", {})["seq"] == 1


def test_invalid_event_is_refused_and_not_stored(tmp_sqlite: Path) -> None:
    """An event that breaks its schema raises and leaves no row and no seq gap."""
    with open_box(tmp_sqlite) as box:
        with pytest.raises(ValueError, match="data"):
            box.put("test", {"unexpected": 1})
        assert box.depth() == 0
        assert box.put("test", {})["seq"] == 1


def test_migrates_v1_database(tmp_sqlite: Path) -> None:
    """A v1 outbox is migrated in place: rows kept, heartbeat gets a TTL, totals are right."""
    conn = sqlite3.connect(tmp_sqlite)
    conn.executescript((FIXTURES / "outbox_v1.sql").read_text())
    conn.close()
    clock = Clock(1767600010.0)
    with open_box(tmp_sqlite, clock=clock) as box:
        assert box.depth() == 3
        assert [r.type for r in box.peek()] == ["test", "heartbeat", "test"]
        # since v4 the outbox mints boot_id: new events never continue the legacy (boot, seq)
        event = box.put("test", {})
        assert (event["boot_id"] != BOOT, event["stream"], event["seq"]) == (True, "main", 1)
        clock.now += 3600
        assert box.purge_expired() == 1
        assert [r.type for r in box.peek()] == ["test", "test", "test"]
        assert box.stored_bytes() == sum(len(r.payload) for r in box.peek())
    conn = sqlite3.connect(tmp_sqlite)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_refuses_a_current_schema_that_still_has_totals_triggers(tmp_sqlite: Path) -> None:
    """Since v3 the code keeps the totals; a leftover trigger would count twice: refused."""
    with open_box(tmp_sqlite) as box:
        box.put("test", {})
    conn = sqlite3.connect(tmp_sqlite)
    conn.execute(
        "CREATE TRIGGER events_ins AFTER INSERT ON events"
        " BEGIN UPDATE totals SET count = count + 1; END"
    )
    conn.commit()
    conn.close()
    with pytest.raises(SchemaMismatch, match="trigger"):
        open_box(tmp_sqlite)


def test_refuses_newer_schema(tmp_sqlite: Path) -> None:
    """A database from a newer agent is refused, not touched."""
    conn = sqlite3.connect(tmp_sqlite)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaMismatch, match="newer"):
        open_box(tmp_sqlite)


def test_refuses_inconsistent_schema(tmp_sqlite: Path) -> None:
    """Tables that do not match the recorded version are refused; the file is not changed."""
    conn = sqlite3.connect(tmp_sqlite)
    conn.executescript("CREATE TABLE events (id INTEGER PRIMARY KEY); PRAGMA user_version = 1;")
    conn.close()
    with pytest.raises(sqlite3.OperationalError):
        open_box(tmp_sqlite)
    conn = sqlite3.connect(tmp_sqlite)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    other = tmp_sqlite.with_name("unversioned.sqlite3")
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE stuff (x)")
    conn.close()
    with pytest.raises(SchemaMismatch, match="no schema version"):
        open_box(other)


WRITER = """
import sys
from pathlib import Path
from edge_agent.contract import Identity
from edge_agent.outbox import Outbox
box = Outbox(Path(sys.argv[1]), Identity("440300", "c1", "k1"), kernel_boot_id=sys.argv[2])
for i in range(int(sys.argv[3])):
    box.put("test", {"index": i, "note": "writer"})
"""


def test_concurrent_writer_process_and_reader_share_one_sequence(tmp_sqlite: Path) -> None:
    """A second process writing while this one writes and deletes: one gap-free seq, no loss."""
    open_box(tmp_sqlite).close()
    count = 300
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_sqlite), BOOT, str(count)],
        cwd=Path(__file__).resolve().parents[2],
    )
    seen: list[dict[str, object]] = []
    with open_box(tmp_sqlite) as box:
        local = 0
        while writer.poll() is None or box.depth() > 0:
            if local < count:
                box.put("test", {"index": local, "note": "reader"})
                local += 1
            rows = box.peek(limit=37)
            seen.extend(json.loads(r.payload) for r in rows)
            box.delete(r.rowid for r in rows)
        assert writer.wait(timeout=60) == 0
        while local < count:
            box.put("test", {"index": local, "note": "reader"})
            local += 1
        rows = box.peek(limit=10_000)
        seen.extend(json.loads(r.payload) for r in rows)
    seqs = sorted(int(e["seq"]) for e in seen)  # type: ignore[call-overload]
    assert seqs == list(range(1, 2 * count + 1))
    assert len({e["id"] for e in seen}) == 2 * count


def test_kiosk_and_agent_can_create_the_outbox_at_the_same_moment(tmp_path: Path) -> None:
    """Two processes opening one brand-new outbox together both succeed (WAL switch retried)."""
    repo = Path(__file__).resolve().parents[2]
    for attempt in range(8):
        path = tmp_path / f"fresh-{attempt}.sqlite3"
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, str(path), BOOT, "5"],
                cwd=repo,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        for writer in writers:
            _, err = writer.communicate(timeout=60)
            assert writer.returncode == 0, err.decode()[-500:]
        with open_box(path) as box:
            assert box.depth() == 15


def test_heartbeats_are_shed_oldest_first_at_the_size_cap(tmp_sqlite: Path) -> None:
    """At the cap, the oldest heartbeats make room for new events; the shed count is kept."""
    clock = Clock()
    box = open_box(tmp_sqlite, clock=clock, limits=Limits(max_bytes=4000, min_free_disk_bytes=0))
    heartbeats = [box.put("heartbeat", HEARTBEAT)["id"] for _ in range(6)]
    kept = [box.put("test", {"index": i})["id"] for i in range(12)]
    remaining = [r.event_id for r in box.peek(limit=100)]
    assert set(kept) <= set(remaining)
    shed = [h for h in heartbeats if h not in remaining]
    assert shed == heartbeats[: len(shed)]  # oldest first
    assert shed
    assert box.stored_bytes() <= 4000
    assert box.has_alerts()
    assert box.take_alerts() == (None, len(shed))
    box.close()


def test_must_keep_events_raise_outbox_full_and_leave_an_alert(tmp_sqlite: Path) -> None:
    """When only must-keep events remain, put() raises OutboxFull and nothing is dropped."""
    box = open_box(tmp_sqlite, limits=Limits(max_bytes=2200, min_free_disk_bytes=0))
    stored = [box.put("test", {"index": i})["id"] for i in range(9)]  # ~237 bytes each
    with pytest.raises(OutboxFull) as full:
        box.put("test", {"index": 9})
    assert full.value.reason == "size_cap"
    assert [r.event_id for r in box.peek(limit=100)] == stored
    assert box.take_alerts()[0] == "size_cap"
    with pytest.raises(HeartbeatShed):
        box.put("heartbeat", HEARTBEAT)
    alert = box.put("agent.alert", {"kind": "outbox_full", "message": "full"}, force=True)
    assert box.peek(limit=100)[-1].event_id == alert["id"]
    box.close()


def test_free_disk_watermark_is_honoured(tmp_sqlite: Path) -> None:
    """Below the free-disk watermark must-keep events raise OutboxFull(disk_low)."""
    free = {"bytes": 500 * MB}
    box = open_box(
        tmp_sqlite,
        limits=Limits(max_bytes=100 * MB, min_free_disk_bytes=200 * MB),
        free_disk=lambda: free["bytes"],
    )
    box.put("test", {})
    free["bytes"] = 150 * MB
    with pytest.raises(OutboxFull) as full:
        box.put("test", {})
    assert full.value.reason == "disk_low"
    assert box.depth() == 1
    free["bytes"] = 300 * MB
    box.put("test", {})
    assert box.depth() == 2
    box.close()


def test_heartbeat_ttl_with_injected_clock(tmp_sqlite: Path) -> None:
    """Heartbeats expire after their TTL; other events never do."""
    clock = Clock()
    box = open_box(tmp_sqlite, clock=clock, limits=Limits(heartbeat_ttl_s=60))
    box.put("heartbeat", HEARTBEAT)
    box.put("test", {})
    clock.now += 59
    assert len(box.peek()) == 2
    clock.now += 2
    assert [r.type for r in box.peek()] == ["test"]
    assert box.purge_expired() == 1
    clock.now += 10 * 86400
    assert [r.type for r in box.peek()] == ["test"]
    box.close()


def test_device_states_and_nonces_persist(tmp_sqlite: Path) -> None:
    """Device states reported by the kiosk and seen nonces survive a reopen."""
    clock = Clock()
    with open_box(tmp_sqlite, clock=clock) as box:
        box.set_device_state("bp", "fault")
        assert box.remember_nonce("ab" * 16, clock.now + 60, clock.now)
        with pytest.raises(ValueError, match="device state"):
            box.set_device_state("bp", "on fire")
    with open_box(tmp_sqlite, clock=clock) as box:
        assert box.device_states() == {"bp": "fault"}
        assert not box.remember_nonce("ab" * 16, clock.now + 60, clock.now)
