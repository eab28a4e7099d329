"""`python -m city ingest` with `broker.kind: amqp`: a RabbitMQ quorum queue in, PostgreSQL out.

The kiosks publish MQTT 3.1.1 QoS 1 to RabbitMQ's MQTT plugin on any node; the plugin routes
each PUBLISH to `amq.topic` with the topic as routing key (`/` becomes `.`, `.` becomes `/`),
and PUBACKs only after every queue it reached confirmed it. The quorum queue `broker.queue`
confirms after a Raft majority has it, so a PUBACKed event survives the loss of one node of
three (docs/design.md §5, measured with SIGKILL of the queue's leader).

Workers are competing consumers on that one queue over AMQP 0-9-1 (RabbitMQ's own way of
sharing load: no group names, no stable ids). Each delivery is acknowledged only after its rows
are committed (city/ingest_core.py); `ingest.prefetch` bounds the unacknowledged deliveries. A
worker whose node dies reconnects to the next node in `broker.amqp_urls`; the deliveries it had
not acknowledged go back to the queue and to whichever consumer is next.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import pika
import psycopg
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError
from pika.spec import Basic, BasicProperties

from city.config import CityConfig
from city.contract import Contract
from city.ingest_core import IngestCore
from city.store import WriteResult
from common.backoff import Backoff

log = logging.getLogger("city.ingest")

TOPIC_EXCHANGE = "amq.topic"  # where RabbitMQ's MQTT plugin publishes
CHANNELS = ("events", "status")
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
LOOP_TIMEOUT_S = 0.2
HEARTBEAT_S = 30
CONNECT_TIMEOUT_S = 5.0
# MQTT topic <-> AMQP routing key, as RabbitMQ's MQTT plugin translates them (a swap).
_SWAP = str.maketrans("./", "/.")


def routing_key_to_topic(routing_key: str) -> str:
    """The MQTT topic a routing key came from (`a.b/c` → `a/b.c`)."""
    return routing_key.translate(_SWAP)


def binding_keys(topic_root: str) -> list[str]:
    """amq.topic binding keys for every kiosk's events and status topics under `topic_root`."""
    root = topic_root.translate(_SWAP)
    return [f"{root}.*.*.*.{channel}" for channel in CHANNELS]


def declare_queue(channel: BlockingChannel, config: CityConfig) -> None:
    """Declare the durable quorum queue and its bindings (idempotent, any node, any worker)."""
    queue = config.broker.queue
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    for key in binding_keys(config.broker.topic_root):
        channel.queue_bind(queue, TOPIC_EXCHANGE, routing_key=key)


def first_node(worker_id: str, nodes: int) -> int:
    """Where a worker starts, so that workers spread over the nodes (numeric ids round-robin)."""
    index = int(worker_id) if worker_id.isdigit() else zlib.crc32(worker_id.encode())
    return index % nodes


class AmqpIngestWorker:
    """One AMQP ingest worker; `run()` until `stop()` (or SIGTERM through run_worker)."""

    def __init__(
        self,
        config: CityConfig,
        contract: Contract,
        worker_id: str,
        *,
        on_result: Callable[[WriteResult], None] | None = None,
        on_tick: Callable[[psycopg.Connection], None] | None = None,
    ) -> None:
        self.config = config
        self.urls = config.broker.amqp_urls
        self.next_node = first_node(worker_id, len(self.urls))
        self.core: IngestCore[int] = IngestCore(
            config, contract, on_result=on_result, on_tick=on_tick
        )
        self.connection: pika.BlockingConnection | None = None
        self.channel: BlockingChannel | None = None
        self.stopping = False
        self.cancelled = False
        # pika logs every socket step at INFO; the worker's own lines say what matters.
        logging.getLogger("pika").setLevel(logging.WARNING)

    def stop(self, *_args: object) -> None:
        """Finish the current batch, then leave (unacked deliveries go back to the queue)."""
        self.stopping = True

    def _parameters(self, url: str) -> pika.URLParameters:
        parameters = pika.URLParameters(url)
        parameters.heartbeat = HEARTBEAT_S
        parameters.connection_attempts = 1
        parameters.socket_timeout = CONNECT_TIMEOUT_S
        parameters.blocked_connection_timeout = 60
        return parameters

    def _connect(self) -> bool:
        """Try each node once, starting at `next_node`; True when consuming."""
        for attempt in range(len(self.urls)):
            index = (self.next_node + attempt) % len(self.urls)
            url = self.urls[index]
            try:
                connection = pika.BlockingConnection(self._parameters(url))
            except AMQPError as exc:
                log.warning("node %d unreachable (%s)", index + 1, type(exc).__name__)
                continue
            try:
                channel = connection.channel()
                declare_queue(channel, self.config)
                channel.basic_qos(prefetch_count=self.config.ingest.prefetch)
                channel.add_on_cancel_callback(self._on_cancel)
                channel.basic_consume(self.config.broker.queue, self._on_delivery)
            except AMQPError as exc:
                log.error("node %d refused the queue setup: %s", index + 1, exc)
                _close_quietly(connection)
                continue
            self.connection, self.channel = connection, channel
            self.next_node = index
            log.info(
                "consuming: quorum queue %s on node %d (prefetch %d)",
                self.config.broker.queue,
                index + 1,
                self.config.ingest.prefetch,
            )
            return True
        return False

    def _on_delivery(
        self, _ch: BlockingChannel, method: Basic.Deliver, _props: BasicProperties, body: bytes
    ) -> None:
        assert method.delivery_tag is not None
        topic = routing_key_to_topic(method.routing_key or "")
        self.core.receive(method.delivery_tag, topic, body)

    def _on_cancel(self, _method: Any) -> None:
        # The broker ended our consumer (the queue was deleted, or a node left): start over.
        self.cancelled = True

    def _ack(self, tags: Sequence[int]) -> None:
        # Tags grow per channel and every earlier delivery is in this batch or acked already.
        if tags and self.channel is not None:
            self.channel.basic_ack(delivery_tag=max(tags), multiple=True)

    def _lost(self, exc: BaseException) -> None:
        log.warning("lost node %d (%s); moving to the next", self.next_node + 1, exc)
        self.core.forget_pending()  # unacked deliveries are requeued by the broker
        if self.connection is not None:
            _close_quietly(self.connection)
        self.connection = self.channel = None
        self.cancelled = False
        self.next_node = (self.next_node + 1) % len(self.urls)

    def _pump(self) -> None:
        wait = self.core.seconds_until_due()
        limit = LOOP_TIMEOUT_S if wait is None else min(LOOP_TIMEOUT_S, wait)
        if self.connection is None:
            time.sleep(limit)
            return
        try:
            self.connection.process_data_events(time_limit=limit)
        except AMQPError as exc:
            self._lost(exc)
            return
        if self.cancelled:
            self._lost(RuntimeError("the broker cancelled the consumer"))

    def run(self) -> None:
        """Consume until stopped; node and database outages are waited out."""
        backoff = Backoff(base_s=RECONNECT_MIN_S, cap_s=RECONNECT_MAX_S)
        if not self.core.wait_for_db(lambda: self.stopping):
            return
        while True:
            if self.connection is None and not self.stopping:
                if not self._connect():
                    delay = backoff.next_delay_s()
                    log.warning("no node reachable; retrying in %.1fs", delay)
                    time.sleep(delay)
                    continue
                backoff.reset()
            self._pump()
            if self.core.due(self.stopping):
                try:
                    self.core.flush(self._ack)
                    backoff.reset()
                except psycopg.OperationalError as exc:
                    self.core.drop_db(exc)
                    self._wait_keeping_alive(backoff.next_delay_s())
                except AMQPError as exc:
                    self._lost(exc)  # committed, ack lost: the redelivery inserts nothing
            self.core.tick()
            if self.stopping and not self.core.pending:
                break
        if self.connection is not None:
            _close_quietly(self.connection)
        self.core.close()

    def _wait_keeping_alive(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.connection is None:
                time.sleep(min(LOOP_TIMEOUT_S, seconds))
                continue
            try:
                self.connection.process_data_events(time_limit=min(LOOP_TIMEOUT_S, seconds))
            except AMQPError as exc:
                self._lost(exc)
        self.core.retry_db()


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except AMQPError:
        log.debug("closing a broken AMQP connection failed")
