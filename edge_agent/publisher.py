"""Feeds the outbox to the broker: bounded in-flight window, packed batches, delete on PUBACK.

Rows are deleted only after a successful PUBACK. After a reconnect everything not yet
acknowledged is sent again with the same event ids (the city de-duplicates on `id`).
When the oldest waiting event is older than `live_after_s`, the backlog is split at the
newest row: from then on batches alternate between the backlog and the live tail, so a
resident's new session is not queued behind hours of stored events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from edge_agent.outbox import Outbox, Row

log = logging.getLogger(__name__)

LIVE_AFTER_S = 30.0
BATCH_HEAD = b'{"events":['
BATCH_TAIL = b"]}"


class PublishLink(Protocol):
    """What the publisher needs from a connection."""

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """QoS 1 publish returning the message id."""
        ...


@dataclass(frozen=True)
class Batch:
    """One PUBLISH in flight: which outbox rows it carries."""

    rowids: tuple[int, ...]
    live: bool


def pack(rows: list[Row], max_events: int, max_bytes: int) -> tuple[list[Row], bytes]:
    """The longest prefix of `rows` that fits the limits (at least one row) and its payload."""
    chosen: list[Row] = []
    size = len(BATCH_HEAD) + len(BATCH_TAIL)
    for row in rows[:max_events]:
        extra = len(row.payload) + (1 if chosen else 0)
        if chosen and size + extra > max_bytes:
            break
        chosen.append(row)
        size += extra
    return chosen, BATCH_HEAD + b",".join(r.payload for r in chosen) + BATCH_TAIL


@dataclass
class Publisher:
    """Moves rows from the outbox to one topic; call reset() on every new connection."""

    outbox: Outbox
    topic: str
    clock: Callable[[], float]
    inflight_max: int = 20
    batch_max_events: int = 100
    batch_max_bytes: int = 256_000
    live_after_s: float = LIVE_AFTER_S
    on_refused: Callable[[str, int], None] = lambda _reason, _count: None
    inflight: dict[int, Batch] = field(default_factory=dict)
    quarantined: set[int] = field(default_factory=set)
    delivered: int = 0
    _cursor: int = 0
    _split: int | None = None
    _live_cursor: int = 0
    _turn_live: bool = False

    def reset(self) -> None:
        """Forget what was in flight (the connection is new): it will all be sent again."""
        self.inflight.clear()
        self._cursor = 0
        self._split = None
        self._live_cursor = 0

    @property
    def live_lane_active(self) -> bool:
        """True while the backlog is being drained beside the live tail."""
        return self._split is not None

    def pump(self, link: PublishLink) -> int:
        """Fill the in-flight window; returns how many PUBLISHes were sent."""
        sent = 0
        while len(self.inflight) < self.inflight_max:
            taken = self._next_rows()
            if taken is None:
                break
            rows, live = taken
            chosen, payload = pack(rows, self.batch_max_events, self.batch_max_bytes)
            if live:
                self._live_cursor = chosen[-1].rowid
            else:
                self._cursor = chosen[-1].rowid
            mid = link.publish(self.topic, payload)
            self.inflight[mid] = Batch(tuple(r.rowid for r in chosen), live)
            sent += 1
        return sent

    def _fetch(self, after: int, upto: int | None) -> list[Row]:
        limit = self.batch_max_events + len(self.quarantined)
        rows = self.outbox.peek(after_rowid=after, upto_rowid=upto, limit=limit)
        if self.quarantined:
            rows = [r for r in rows if r.rowid not in self.quarantined]
        return rows[: self.batch_max_events]

    def _next_rows(self) -> tuple[list[Row], bool] | None:
        if self._split is None:
            rows = self._fetch(self._cursor, None)
            if not rows:
                return None
            if self.clock() - rows[0].created_at <= self.live_after_s:
                return rows, False
            self._split = self.outbox.max_rowid()
            self._live_cursor = self._split
            log.info("backlog older than %.0f s: draining it beside live events", self.live_after_s)
        split = self._split
        backlog = self._fetch(self._cursor, split)
        if not backlog:
            self._cursor = max(self._cursor, split, self._live_cursor)
            self._split = None
            return self._next_rows()
        self._turn_live = not self._turn_live
        if self._turn_live:
            live = self._fetch(self._live_cursor, None)
            if live:
                return live, True
        return backlog, False

    def acked(self, mid: int, *, refused: bool, reason: str) -> None:
        """A PUBACK: delete the rows, or quarantine them for this run if the broker refused."""
        self.acked_many([(mid, refused, reason)])

    def acked_many(self, acks: list[tuple[int, bool, str]]) -> None:
        """PUBACKs (mid, refused, reason) that arrived together: one delete for all of them.

        Why: each delete takes the write lock the kiosk's put_many needs.
        """
        done: list[int] = []
        for mid, refused, reason in acks:
            batch = self.inflight.pop(mid, None)
            if batch is None:
                continue  # not ours (birth message) or from a connection we already gave up
            if refused:
                # Not lost: the rows stay in the outbox and are tried again after a restart.
                self.quarantined.update(batch.rowids)
                log.error("broker refused %d events (%s); holding them", len(batch.rowids), reason)
                self.on_refused(reason, len(batch.rowids))
            else:
                done.extend(batch.rowids)
        if done:
            self.outbox.delete(done)
            self.delivered += len(done)
