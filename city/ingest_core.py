"""What every broker adapter of the ingest shares: decode, batch, commit, and only then ack.

An adapter (city/worker.py for MQTT 5 shared subscriptions, city/amqp_worker.py for a RabbitMQ
quorum queue) hands each received message to `receive()` with its broker's ack token, and calls
`flush()` when `due()`: the batch is written in one transaction (city/store.py) and the adapter's
`ack` runs only after the commit. A lost broker connection calls `forget_pending()`: the broker
redelivers whatever was not acknowledged, and the primary key absorbs the copies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import psycopg

from city.activities.ingest import ActivityIngest
from city.config import CityConfig
from city.contract import Contract
from city.db import connect, require_current
from city.messages import Decoded, EventRow, decode_message
from city.reports.rollup import ReportRollup, policy_of
from city.requests.ingest import store_requests
from city.store import AfterInsert, BatchWriter, WriteResult
from common.backoff import Backoff

log = logging.getLogger("city.ingest")

DB_RETRY_MIN_S = 0.5
DB_RETRY_MAX_S = 10.0

Token = TypeVar("Token")


def after_insert_of(config: CityConfig) -> AfterInsert:
    """What the ingest writes beside newly inserted events, in their transaction: resident
    requests (city/requests/ingest.py), the activity sign-ups' allocation under each activity's
    row lock (city/activities/ingest.py, docs/activities.md), then the report rollups, whose
    city-wide rows every worker shares and which therefore come last, right before the commit.
    The same order in every worker: their row locks never deadlock."""
    rollup = ReportRollup(policy_of(config))
    activities = ActivityIngest()

    def after_insert(cur: psycopg.Cursor[Any], events: Sequence[EventRow]) -> None:
        store_requests(cur, events)
        activities(cur, events)
        rollup(cur, events)

    return after_insert


class IngestCore(Generic[Token]):
    """The pending batch and the database side of one worker; `Token` is the broker's ack id."""

    def __init__(
        self,
        config: CityConfig,
        contract: Contract,
        *,
        on_result: Callable[[WriteResult], None] | None = None,
        on_tick: Callable[[psycopg.Connection], None] | None = None,
    ) -> None:
        self.config = config
        self.contract = contract
        self.on_result = on_result
        self.on_tick = on_tick
        self.tokens: list[Token] = []
        self.decoded: list[Decoded] = []
        self.pending_events = 0
        self.first_pending_at: float | None = None
        self.conn: psycopg.Connection | None = None
        self.writer: BatchWriter | None = None

    @property
    def pending(self) -> bool:
        """Something received is not yet committed and acknowledged."""
        return bool(self.tokens)

    def receive(self, token: Token, topic: str, payload: bytes) -> None:
        """Decode one message (never raises on input) and add it to the batch."""
        decoded = decode_message(
            topic,
            payload,
            topic_root=self.config.broker.topic_root,
            contract=self.contract,
            max_payload_bytes=self.config.ingest.max_payload_bytes,
            raw_cap_bytes=self.config.ingest.quarantine_raw_max_bytes,
        )
        if self.first_pending_at is None:
            self.first_pending_at = time.monotonic()
        self.tokens.append(token)
        self.decoded.append(decoded)
        self.pending_events += len(decoded.events) + len(decoded.quarantined)

    def forget_pending(self) -> None:
        """The connection these tokens belong to is gone: never ack them (they come back)."""
        self.tokens = []
        self.decoded = []
        self.pending_events = 0
        self.first_pending_at = None

    def seconds_until_due(self) -> float | None:
        """How long the batch may still wait for more (None: nothing pending)."""
        if self.first_pending_at is None:
            return None
        age_s = time.monotonic() - self.first_pending_at
        return max(0.0, self.config.ingest.batch_max_delay_ms / 1000 - age_s)

    def due(self, stopping: bool) -> bool:
        """The batch should be written now: full, old enough, or the worker is stopping."""
        wait = self.seconds_until_due()
        if wait is None:
            return False
        return self.pending_events >= self.config.ingest.batch_max_events or wait == 0 or stopping

    def connect_db(self) -> None:
        """Open the database connection and check the schema version."""
        self.conn = connect(
            self.config.database.url, timeout_s=self.config.database.connect_timeout_s
        )
        require_current(self.conn)
        self.conn.commit()
        self.writer = BatchWriter(self.conn, after_insert=after_insert_of(self.config))

    def wait_for_db(self, stopping: Callable[[], bool]) -> bool:
        """Connect, retrying with backoff while the database is unreachable (a worker started
        during a database outage waits instead of exiting into a restart loop); False if asked
        to stop first. A schema mismatch is not an outage: it raises."""
        backoff = Backoff(base_s=DB_RETRY_MIN_S, cap_s=DB_RETRY_MAX_S)
        while not stopping():
            try:
                self.connect_db()
                return True
            except psycopg.OperationalError as exc:
                self.drop_db(exc)
                time.sleep(backoff.next_delay_s())
        return False

    def drop_db(self, exc: BaseException) -> None:
        """Forget a broken database connection; the batch stays pending and unacknowledged."""
        log.warning("database unavailable (%s); retrying, nothing acknowledged", type(exc).__name__)
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg.Error:
                log.debug("closing a broken connection failed")
        self.conn = None
        self.writer = None

    def flush(self, ack: Callable[[Sequence[Token]], None]) -> None:
        """Commit the batch, then `ack` its tokens; psycopg.OperationalError keeps it pending."""
        if self.writer is None:
            self.connect_db()
        assert self.writer is not None
        tokens = self.tokens
        result = self.writer.write(self.decoded, datetime.now(UTC))
        self.forget_pending()  # committed: if the ack is lost, a redelivery inserts nothing
        ack(tokens)
        if self.on_result is not None:
            self.on_result(result)

    def tick(self) -> None:
        """Run the periodic work (reporting, the alert sweeper) on the worker's connection."""
        if self.on_tick is None or self.conn is None:
            return
        try:
            self.on_tick(self.conn)
        except psycopg.OperationalError as exc:
            self.drop_db(exc)

    def retry_db(self) -> None:
        """Try the database again after an outage (a failure is logged and kept for later)."""
        try:
            self.connect_db()
        except psycopg.OperationalError as exc:
            self.drop_db(exc)

    def close(self) -> None:
        """Close the database connection."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
