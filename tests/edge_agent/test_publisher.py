"""Publisher logic with a recording link: packing, window, delete-on-ack, live lane, refusals."""

from __future__ import annotations

import json
from pathlib import Path

from edge_agent.contract import Identity, validate_batch
from edge_agent.outbox import Outbox, Row
from edge_agent.publisher import Publisher, pack


class Clock:
    """A settable clock."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingLink:
    """Collects publishes; hands out message ids."""

    def __init__(self) -> None:
        self.sent: dict[int, bytes] = {}

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        mid = len(self.sent) + 1
        self.sent[mid] = payload
        return mid


def make(tmp_sqlite: Path, clock: Clock, **kwargs: object) -> tuple[Outbox, Publisher]:
    box = Outbox(tmp_sqlite, Identity("440300", "c1", "k1"), clock=clock)
    return box, Publisher(box, "t/events", clock, **kwargs)  # type: ignore[arg-type]


def seqs(payload: bytes) -> list[int]:
    batch = json.loads(payload)
    validate_batch(batch)
    return [e["seq"] for e in batch["events"]]


def test_pack_respects_count_and_bytes_and_always_takes_one() -> None:
    """A batch stops at max events or max bytes, but an oversize single event still goes."""
    rows = [Row(i, f"id{i}", "test", b"x" * 100, 0.0) for i in range(1, 11)]
    chosen, payload = pack(rows, 4, 100_000)
    assert [r.rowid for r in chosen] == [1, 2, 3, 4]
    chosen, payload = pack(rows, 10, 350)
    assert len(chosen) == 3
    assert len(payload) <= 350
    chosen, _ = pack(rows, 10, 50)
    assert len(chosen) == 1


def test_window_is_bounded_and_rows_deleted_only_after_ack(tmp_sqlite: Path) -> None:
    """At most inflight_max PUBLISHes are outstanding; a row disappears only on its PUBACK."""
    clock = Clock()
    box, pub = make(tmp_sqlite, clock, inflight_max=3, batch_max_events=10)
    box.put_many([("test", {"index": i}) for i in range(100)])
    link = RecordingLink()
    assert pub.pump(link) == 3
    assert pub.pump(link) == 0
    assert box.depth() == 100
    pub.acked(1, refused=False, reason="Success")
    assert box.depth() == 90
    assert pub.pump(link) == 1
    assert [seqs(link.sent[m]) for m in (1, 2, 3, 4)] == [
        list(range(s, s + 10)) for s in (1, 11, 21, 31)
    ]


def test_reset_resends_unacknowledged_rows_with_same_ids(tmp_sqlite: Path) -> None:
    """After a reconnect everything not acknowledged is sent again, identical."""
    clock = Clock()
    box, pub = make(tmp_sqlite, clock, inflight_max=2, batch_max_events=5)
    box.put_many([("test", {"index": i}) for i in range(10)])
    link = RecordingLink()
    pub.pump(link)
    pub.acked(1, refused=False, reason="Success")
    pub.reset()
    again = RecordingLink()
    pub.pump(again)
    assert again.sent[1] == link.sent[2]


def test_live_events_are_not_starved_behind_an_old_backlog(tmp_sqlite: Path) -> None:
    """With a backlog older than live_after_s, batches alternate between backlog and new events."""
    clock = Clock()
    box, pub = make(tmp_sqlite, clock, inflight_max=5, batch_max_events=10, live_after_s=30)
    box.put_many([("test", {"index": i}) for i in range(200)])
    clock.now += 60
    link = RecordingLink()
    pub.pump(link)  # the window fills from the backlog at first
    assert pub.live_lane_active
    live = box.put("test", {"note": "live"})
    for mid in list(pub.inflight)[:2]:
        pub.acked(mid, refused=False, reason="Success")
    before = len(link.sent)
    assert pub.pump(link) == 2
    firsts = [json.loads(p)["events"][0]["id"] for p in list(link.sent.values())[before:]]
    assert live["id"] in firsts  # not behind the other 150 stored events


def test_refused_batch_is_kept_quarantined_and_reported_once(tmp_sqlite: Path) -> None:
    """A PUBACK >= 0x80 keeps the rows, does not resend them in a loop, and raises an alert."""
    clock = Clock()
    alerts: list[tuple[str, int]] = []
    box, pub = make(tmp_sqlite, clock, inflight_max=5, batch_max_events=2)
    pub.on_refused = lambda reason, count: alerts.append((reason, count))
    box.put_many([("test", {"index": i}) for i in range(4)])
    link = RecordingLink()
    pub.pump(link)
    pub.acked(1, refused=True, reason="Not authorized")
    pub.acked(2, refused=False, reason="Success")
    assert alerts == [("Not authorized", 2)]
    assert box.depth() == 2
    pub.reset()
    again = RecordingLink()
    assert pub.pump(again) == 0


class WanLink:
    """A link whose PUBACKs come back one round trip after each PUBLISH (simulated time)."""

    def __init__(self, clock: Clock, rtt_s: float) -> None:
        self.clock = clock
        self.rtt_s = rtt_s
        self.due: dict[int, float] = {}
        self.events_per_publish: list[int] = []
        self._next_mid = 0

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        self._next_mid += 1
        self.due[self._next_mid] = self.clock.now + self.rtt_s
        self.events_per_publish.append(len(json.loads(payload)["events"]))
        return self._next_mid

    def deliver_next(self) -> list[tuple[int, bool, str]]:
        """Advance the clock to the next PUBACK; all PUBACKs due by then."""
        self.clock.now = min(self.due.values())
        ready = [mid for mid, at in self.due.items() if at <= self.clock.now]
        for mid in ready:
            del self.due[mid]
        return [(mid, False, "Success") for mid in ready]


def test_a_backlog_over_a_200_ms_link_drains_at_window_times_batch_per_rtt(
    tmp_sqlite: Path,
) -> None:
    """10,000 hour-old events over 200 ms RTT: full 100-event batches, 20 in flight, >= 9k ev/s."""
    clock = Clock()
    box, pub = make(tmp_sqlite, clock)  # shipped defaults: 20 in flight, 100 events per PUBLISH
    clock.now -= 3600
    for first in range(0, 10_000, 1000):
        box.put_many([("test", {"index": i}) for i in range(first, first + 1000)])
    clock.now += 3600
    link = WanLink(clock, rtt_s=0.2)
    started = clock.now
    while box.depth() > 0:
        pub.pump(link)
        assert len(pub.inflight) == min(20, -(-box.depth() // 100))  # the window stays full
        pub.acked_many(link.deliver_next())
    rate = 10_000 / (clock.now - started)
    assert set(link.events_per_publish) == {100}
    assert rate >= 0.9 * 20 * 100 / 0.2  # the bound is 10,000 ev/s; the goal is >= 5,000
