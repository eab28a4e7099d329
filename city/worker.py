"""`python -m city ingest`: one worker — MQTT 5 shared subscription in, PostgreSQL out.

(`broker.kind: amqp` runs city/amqp_worker.py instead; both share city/ingest_core.py.)

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
from collections.abc import Callable, Sequence
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
from city.db import connect
from city.ingest_core import IngestCore
from city.store import WriteResult
from common.backoff import Backoff

log = logging.getLogger("city.ingest")

SLOT_LOCK_CLASS = 0x43495459  # advisory lock (class, slot) for worker client ids
MAX_SLOTS = 1024
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
LOOP_TIMEOUT_S = 0.2
REPORT_EVERY_S = 1.0
SLOT_CHECK_EVERY_S = 2.0


def claim_slot(url: str, timeout_s: float) -> tuple[psycopg.Connection, int]:
    """The lowest free worker slot, held by an advisory lock for this connection's life."""
    conn = connect(url, timeout_s=timeout_s, autocommit=True)
    for slot in range(MAX_SLOTS):
        if _try_lock(conn, slot):
            return conn, slot
    conn.close()
    raise RuntimeError(f"all {MAX_SLOTS} worker slots are taken")


def _try_lock(conn: psycopg.Connection, slot: int) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (SLOT_LOCK_CLASS, slot)).fetchone()
    return bool(row and row[0])


class SlotLease:
    """A claimed slot's advisory lock, kept across database restarts.

    The lock lives as long as its connection: a PostgreSQL restart ends both, and a worker
    started meanwhile could claim the same slot, i.e. the same MQTT client id — the broker
    would then hand the session back and forth between the two. So `check()` (from the
    worker's tick) re-takes the lock on a new connection; if another worker holds it by then,
    this one must leave (`check()` is False) and a restart claims a free slot.
    """

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.conn: psycopg.Connection | None = None
        self.slot = -1
        self.next_check = 0.0

    def claim(self) -> int:
        """The lowest free slot, waiting with backoff while the database is unreachable."""
        backoff = Backoff(base_s=RECONNECT_MIN_S, cap_s=RECONNECT_MAX_S)
        while True:
            try:
                self.conn, self.slot = claim_slot(self.url, self.timeout_s)
                return self.slot
            except psycopg.OperationalError as exc:
                delay = backoff.next_delay_s()
                log.warning("database unreachable (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)

    def check(self) -> bool:
        """Whether the slot is still ours (re-taken after an outage); False: another has it."""
        now = time.monotonic()
        if now < self.next_check:
            return True
        self.next_check = now + SLOT_CHECK_EVERY_S
        if self.conn is not None:
            try:
                self.conn.execute("SELECT 1")
                return True
            except psycopg.OperationalError:
                self.close()  # the server restarted: the lock went with the connection
        try:
            self.conn = connect(self.url, timeout_s=self.timeout_s, autocommit=True)
        except psycopg.OperationalError:
            return True  # the database is away: nobody can claim the slot either; retry later
        try:
            if _try_lock(self.conn, self.slot):
                log.info("worker slot %d re-taken after a database outage", self.slot)
                return True
        except psycopg.OperationalError:
            self.close()
            return True
        log.error(
            "worker slot %d was claimed by another worker during a database outage", self.slot
        )
        return False

    def close(self) -> None:
        """Release the lock (its connection)."""
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg.Error:
                log.debug("closing the slot connection failed")
            self.conn = None


def subscriptions(config: CityConfig) -> list[str]:
    """The shared subscriptions of every worker (decision 1's exact filters)."""
    share = f"$share/{config.broker.share_group}/{config.broker.topic_root}"
    return [f"{share}/+/+/+/events", f"{share}/+/+/+/status"]


class IngestWorker:
    """One MQTT ingest worker; `run()` until `stop()` (or SIGTERM through run_worker)."""

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
        self.client_id = client_id
        self.core: IngestCore[tuple[int, int]] = IngestCore(
            config, contract, on_result=on_result, on_tick=on_tick
        )
        self.stopping = False
        self.connected = False
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
        if urlsplit(self._url).scheme == "mqtts":
            client.tls_set()
        return client

    @property
    def _url(self) -> str:
        assert self.config.broker.url is not None  # config: required when kind is mqtt
        return self.config.broker.url

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
        self.core.forget_pending()
        log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.core.receive((message.mid, message.qos), message.topic, bytes(message.payload))

    # --- the loop ---

    def stop(self, *_args: object) -> None:
        """Finish the current batch, then leave (the broker session stays for the restart)."""
        self.stopping = True

    def _connect_broker(self) -> None:
        parts = urlsplit(self._url)
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

    def _ack(self, tokens: Sequence[tuple[int, int]]) -> None:
        for mid, qos in tokens:
            self.client.ack(mid, qos)

    def run(self) -> None:
        """Consume until stopped; broker and database outages are waited out."""
        backoff = Backoff(base_s=RECONNECT_MIN_S, cap_s=RECONNECT_MAX_S)
        if not self.core.wait_for_db(lambda: self.stopping):
            return
        while True:
            if not self.connected and not self.stopping:
                try:
                    self._connect_broker()
                    self.connected = True  # provisional: on_connect confirms, on_disconnect undoes
                    backoff.reset()
                except OSError as exc:
                    delay = backoff.next_delay_s()
                    log.warning("broker unreachable (%s); retrying in %.1fs", exc, delay)
                    time.sleep(delay)
                    continue
            rc = self.client.loop(timeout=LOOP_TIMEOUT_S if not self.core.pending else 0.0)
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                self._on_disconnect(self.client, None, None, rc, None)
            if self.core.due(self.stopping):
                try:
                    self.core.flush(self._ack)
                    backoff.reset()
                except psycopg.OperationalError as exc:
                    self.core.drop_db(exc)
                    self._wait_keeping_alive(backoff.next_delay_s())
            self.core.tick()
            if self.stopping and not self.core.pending:
                break
        self.client.disconnect()
        self.core.close()

    def _wait_keeping_alive(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.client.loop(timeout=min(LOOP_TIMEOUT_S, seconds))
        self.core.retry_db()


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
    """The `ingest` command: claim a client id, run the configured adapter until SIGTERM/SIGINT.

    Exits 1 if its claimed slot went to another worker during a database outage."""
    contract = load_contract(config.contract_dir)
    lease = None
    if worker_id is None:
        lease = SlotLease(config.database.url, config.database.connect_timeout_s)
        worker_id = str(lease.claim())
    client_id = f"{config.broker.client_id_prefix}-{worker_id}"
    from city.amqp_worker import AmqpIngestWorker
    from city.sweeper import Sweeper

    sweeper = Sweeper(config)
    reporter = Reporter(_print_line)
    lost_slot = False
    worker: IngestWorker | AmqpIngestWorker

    def tick(conn: psycopg.Connection) -> None:
        nonlocal lost_slot
        reporter.flush_if_due()
        sweeper.tick(conn)
        if lease is not None and not lost_slot and not lease.check():
            lost_slot = True
            worker.stop()

    if config.broker.kind == "amqp":
        worker = AmqpIngestWorker(config, contract, worker_id, on_result=reporter, on_tick=tick)
    else:
        worker = IngestWorker(config, contract, client_id, on_result=reporter, on_tick=tick)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("ingest worker %s, contract %s", client_id, config.contract_dir)
    try:
        worker.run()
    finally:
        if lease is not None:
            lease.close()
    return 1 if lost_slot else 0


def _print_line(text: str) -> None:
    print(text, flush=True)
