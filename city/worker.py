"""`python -m city ingest`: one worker — MQTT 5 shared subscription in, PostgreSQL out.

One thread does everything: paho's `loop()` fills a batch, the batch is written in one
transaction, and only then is every message in it acknowledged (paho 2.x `manual_ack`). A
worker killed at any point loses nothing (unacked messages are redelivered to its session) and
stores nothing twice (the primary key). The batch is bounded by the MQTT 5 Receive Maximum: the
broker sends no more unacknowledged messages than that.

Mosquitto hands a dead member's unacked messages back only to the same client id, and keeps
queueing its share while the session lives (docs/design.md §5): so client ids are stable —
claimed as the lowest free slot under a PostgreSQL advisory lock unless `--worker-id` is given —
and sessions outlive a restart (clean_start=False with a session expiry).
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from city.config import CityConfig
from city.contract import Contract, load_contract
from city.db import connect, require_current
from city.messages import Decoded, decode_message
from city.store import BatchWriter, WriteResult

log = logging.getLogger("city.ingest")

SLOT_LOCK_CLASS = 0x43495459  # advisory lock (class, slot) for worker client ids
MAX_SLOTS = 1024
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
LOOP_TIMEOUT_S = 0.2
REPORT_EVERY_S = 1.0


@dataclass(frozen=True)
class Pending:
    """A received, decoded, not yet acknowledged message."""

    mid: int
    qos: int
    decoded: Decoded


def claim_slot(url: str, timeout_s: float) -> tuple[psycopg.Connection, int]:
    """The lowest free worker slot, held by an advisory lock for this connection's life."""
    conn = connect(url, timeout_s=timeout_s, autocommit=True)
    for slot in range(MAX_SLOTS):
        row = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (SLOT_LOCK_CLASS, slot)
        ).fetchone()
        if row and row[0]:
            return conn, slot
    conn.close()
    raise RuntimeError(f"all {MAX_SLOTS} worker slots are taken")


def subscriptions(config: CityConfig) -> list[str]:
    """The shared subscriptions of every worker (decision 1's exact filters)."""
    share = f"$share/{config.broker.share_group}/{config.broker.topic_root}"
    return [f"{share}/+/+/+/events", f"{share}/+/+/+/status"]


class IngestWorker:
    """One ingest worker; `run()` until `stop()` (or SIGTERM through run_worker)."""

    def __init__(
        self,
        config: CityConfig,
        contract: Contract,
        client_id: str,
        *,
        on_result: Callable[[WriteResult], None] | None = None,
        on_tick: Callable[[psycopg.Connection], None] | None = None,
    ) -> None:
        self.config = config
        self.contract = contract
        self.client_id = client_id
        self.on_result = on_result
        self.on_tick = on_tick
        self.pending: list[Pending] = []
        self.pending_events = 0
        self.first_pending_at: float | None = None
        self.stopping = False
        self.connected = False
        self.conn: psycopg.Connection | None = None
        self.writer: BatchWriter | None = None
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        if urlsplit(self.config.broker.url).scheme == "mqtts":
            client.tls_set()
        return client

    # --- MQTT callbacks (run inside client.loop(), on this thread) ---

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self.connected = True
        client.subscribe([(topic, 1) for topic in subscriptions(self.config)])
        log.info("connected as %s (session present: %s)", self.client_id, flags.session_present)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        refused = [r for r in reasons if r.is_failure]
        if refused:
            log.error("broker refused a subscription: %s", refused[0])
        else:
            log.info("subscribed: %s", ", ".join(subscriptions(self.config)))

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected = False
        # Unacknowledged messages come back on reconnect: drop our copies, never ack them twice.
        self.pending.clear()
        self.pending_events = 0
        self.first_pending_at = None
        log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        decoded = decode_message(
            message.topic,
            bytes(message.payload),
            topic_root=self.config.broker.topic_root,
            contract=self.contract,
            max_payload_bytes=self.config.ingest.max_payload_bytes,
            raw_cap_bytes=self.config.ingest.quarantine_raw_max_bytes,
        )
        if self.first_pending_at is None:
            self.first_pending_at = time.monotonic()
        self.pending.append(Pending(message.mid, message.qos, decoded))
        self.pending_events += len(decoded.events) + len(decoded.quarantined)

    # --- the loop ---

    def stop(self, *_args: object) -> None:
        """Finish the current batch, then leave (the broker session stays for the restart)."""
        self.stopping = True

    def _connect_broker(self) -> None:
        parts = urlsplit(self.config.broker.url)
        default_port = 8883 if parts.scheme == "mqtts" else 1883
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho is untyped here
        properties.SessionExpiryInterval = self.config.broker.session_expiry_s
        properties.ReceiveMaximum = self.config.ingest.receive_maximum
        self.client.connect(
            parts.hostname or "127.0.0.1",
            parts.port or default_port,
            keepalive=self.config.broker.keepalive_s,
            clean_start=False,
            properties=properties,
        )

    def _connect_db(self) -> None:
        self.conn = connect(
            self.config.database.url, timeout_s=self.config.database.connect_timeout_s
        )
        require_current(self.conn)
        self.conn.commit()
        self.writer = BatchWriter(self.conn)

    def _due(self) -> bool:
        if not self.pending or self.first_pending_at is None:
            return False
        age_ms = (time.monotonic() - self.first_pending_at) * 1000
        return (
            self.pending_events >= self.config.ingest.batch_max_events
            or age_ms >= self.config.ingest.batch_max_delay_ms
            or self.stopping
        )

    def _flush(self) -> None:
        if self.writer is None:
            self._connect_db()
        assert self.writer is not None
        batch = self.pending
        result = self.writer.write([p.decoded for p in batch], datetime.now(UTC))
        for item in batch:
            self.client.ack(item.mid, item.qos)
        self.pending = []
        self.pending_events = 0
        self.first_pending_at = None
        if self.on_result is not None:
            self.on_result(result)

    def _drop_db(self, exc: BaseException) -> None:
        log.warning("database unavailable (%s); retrying, nothing acknowledged", type(exc).__name__)
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg.Error:
                log.debug("closing a broken connection failed")
        self.conn = None
        self.writer = None

    def run(self) -> None:
        """Consume until stopped; broker and database outages are waited out."""
        backoff = RECONNECT_MIN_S
        self._connect_db()
        while True:
            if not self.connected and not self.stopping:
                try:
                    self._connect_broker()
                    self.connected = True  # provisional: on_connect confirms, on_disconnect undoes
                    backoff = RECONNECT_MIN_S
                except OSError as exc:
                    log.warning("broker unreachable (%s); retrying in %.1fs", exc, backoff)
                    time.sleep(backoff)
                    backoff = min(RECONNECT_MAX_S, backoff * 2)
                    continue
            rc = self.client.loop(timeout=LOOP_TIMEOUT_S if not self.pending else 0.0)
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                self._on_disconnect(self.client, None, None, rc, None)
            if self._due():
                try:
                    self._flush()
                    backoff = RECONNECT_MIN_S
                except psycopg.OperationalError as exc:
                    self._drop_db(exc)
                    self._wait_keeping_alive(backoff)
                    backoff = min(RECONNECT_MAX_S, backoff * 2)
            if self.on_tick is not None and self.conn is not None:
                try:
                    self.on_tick(self.conn)
                except psycopg.OperationalError as exc:
                    self._drop_db(exc)
            if self.stopping and not self.pending:
                break
        self.client.disconnect()
        if self.conn is not None:
            self.conn.close()

    def _wait_keeping_alive(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.client.loop(timeout=min(LOOP_TIMEOUT_S, seconds))
        try:
            self._connect_db()
        except psycopg.OperationalError as exc:
            self._drop_db(exc)


class Reporter:
    """The `[city]` console lines: stored counts once a second, every presence change."""

    def __init__(self, emit: Callable[[str], None] = print) -> None:
        self.emit = emit
        self.window: list[WriteResult] = []
        self.last = time.monotonic()

    def __call__(self, result: WriteResult) -> None:
        """Account one committed batch."""
        for change in result.changes:
            connection = "" if change.connection is None else f" (connection {change.connection})"
            self.emit(f"fleet: {change.kiosk} is {change.presence}{connection}")
        self.window.append(result)
        self.flush_if_due()

    def flush_if_due(self) -> None:
        """Print the stored-events line if a second has passed and there is something to say."""
        now = time.monotonic()
        if self.window and now - self.last >= REPORT_EVERY_S:
            offered = sum(r.offered for r in self.window)
            inserted = sum(r.inserted for r in self.window)
            quarantined = sum(r.quarantined for r in self.window)
            types = sorted({e.type for r in self.window for e in r.new_events})
            self.emit(
                f"stored {inserted} events ({offered - inserted} duplicates, "
                f"{quarantined} quarantined): {', '.join(types) or '-'}"
            )
            self.window = []
            self.last = now


def run_worker(config: CityConfig, worker_id: str | None = None) -> int:
    """The `ingest` command: claim a client id, run until SIGTERM/SIGINT."""
    contract = load_contract(config.contract_dir)
    slot_conn = None
    if worker_id is None:
        slot_conn, slot = claim_slot(config.database.url, config.database.connect_timeout_s)
        worker_id = str(slot)
    client_id = f"{config.broker.client_id_prefix}-{worker_id}"
    from city.sweeper import Sweeper

    sweeper = Sweeper(config)
    reporter = Reporter(_print_line)

    def tick(conn: psycopg.Connection) -> None:
        reporter.flush_if_due()
        sweeper.tick(conn)

    worker = IngestWorker(config, contract, client_id, on_result=reporter, on_tick=tick)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("ingest worker %s, contract %s", client_id, config.contract_dir)
    try:
        worker.run()
    finally:
        if slot_conn is not None:
            slot_conn.close()
    return 0


def _print_line(text: str) -> None:
    print(text, flush=True)
