"""`python -m city responder`: answers the kiosks' online calls from the points ledger (and
`requests.status` from the requests tables, docs/requests-city.md).

Several can run: each subscribes to `$share/GROUP/ROOT/+/+/+/calls` (MQTT 5 shared
subscription), so the broker hands every call to one of them. A call is acknowledged only once
its answer is published; a responder killed mid-call leaves it unacknowledged in its persistent
session (stable client id, clean_start False) and answers it after the restart, unless it has
expired by then. Answering twice is harmless: redemptions are idempotent on redemption_id and
the kiosk keeps the first answer. Every message is checked by city/points/calls.py first; a
hostile one gets an `invalid_call` answer or is dropped, and never stops the responder.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Callable
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
from city.db import connect, require_current
from city.points import ledger
from city.points.calls import Call, CallSchemas, Expired, Refusal, error_answer, load_schemas
from city.points.calls import parse_call as parse
from city.points.service import answer_call
from common.backoff import Backoff
from common.ratelimit import KeyedBuckets, TokenBucket

log = logging.getLogger("city.responder")

SLOT_LOCK_CLASS = 0x504F4E54  # "PONT": advisory lock (class, slot) for responder client ids
MAX_SLOTS = 256
LOOP_TIMEOUT_S = 0.2
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0


def calls_filter(config: CityConfig) -> str:
    """The shared subscription every responder takes."""
    return f"$share/{config.points.share_group}/{config.broker.topic_root}/+/+/+/calls"


def claim_slot(url: str, timeout_s: float) -> tuple[psycopg.Connection, int]:
    """The lowest free responder slot, held by an advisory lock for this connection's life."""
    conn = connect(url, timeout_s=timeout_s, autocommit=True)
    for slot in range(MAX_SLOTS):
        row = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (SLOT_LOCK_CLASS, slot)
        ).fetchone()
        if row and row[0]:
            return conn, slot
    conn.close()
    raise RuntimeError(f"all {MAX_SLOTS} responder slots are taken")


class Responder:
    """One responder: MQTT 5 in and out, one PostgreSQL connection; `run()` until `stop()`."""

    def __init__(
        self,
        config: CityConfig,
        client_id: str,
        *,
        clock: Callable[[], float] = time.time,
        schemas: CallSchemas | None = None,
    ) -> None:
        self.config = config
        self.client_id = client_id
        self.clock = clock
        self.schemas = schemas or load_schemas(config.contract_dir)
        self.stopping = False
        self.connected = False
        self.conn: psycopg.Connection | None = None
        self.answered = 0
        points = config.points
        # per kiosk (its calls topic): one kiosk flooding calls cannot starve the others
        self.limits = KeyedBuckets(points.calls_per_kiosk_burst, points.calls_per_kiosk_refill_s)
        self.limited = 0
        self._limited_log = TokenBucket(1, 60.0)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        if urlsplit(self._url).scheme == "mqtts":
            self.client.tls_set()

    @property
    def _url(self) -> str:
        assert self.config.broker.url is not None
        return self.config.broker.url

    # database --------------------------------------------------------------------------------

    def _db(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            self.conn = connect(
                self.config.database.url,
                timeout_s=self.config.database.connect_timeout_s,
                autocommit=True,
            )
            ledger.prepare(self.conn)
        return self.conn

    def _drop_db(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg.Error:
                log.debug("closing a broken database connection failed")
        self.conn = None

    # handling (pure apart from the database) -------------------------------------------------

    def answer_for(
        self, topic: str, payload: bytes, response_topic: str | None
    ) -> tuple[str, dict[str, Any]] | None:
        """(answers topic, answer) for one message, or None when it gets no answer."""
        moment = self.clock()
        if not self.limits.take(topic[:256], moment):
            self.limited += 1  # dropped unanswered: the agent asks again every few seconds
            if self._limited_log.take(moment):
                log.warning("calls over the per-kiosk limit on %r: dropped (%d so far)",
                            topic[:200], self.limited)  # fmt: skip
            return None
        now = datetime.fromtimestamp(moment, UTC)
        checked = parse(
            payload,
            topic,
            schemas=self.schemas,
            now=now,
            max_bytes=self.config.points.max_call_bytes,
            response_topic=response_topic,
        )
        if isinstance(checked, Expired):
            log.info("call %s expired before it arrived: ignored", checked.call_id)
            return None
        if isinstance(checked, Refusal):
            log.warning("call refused on %r: %s", topic[:200], checked.why)  # %r: no control chars
            if checked.call_id is None or checked.answer_topic is None:
                return None
            answer = error_answer(checked.call_id, checked.method, "invalid_call", now)
            return checked.answer_topic, answer
        return checked.answer_topic, self._answer(checked, now)

    def _answer(self, call: Call, now: datetime) -> dict[str, Any]:
        try:
            return answer_call(self._db(), call, now)
        except psycopg.OperationalError as exc:
            log.warning("database unavailable for call %s: %s", call.call_id, type(exc).__name__)
            self._drop_db()
            return error_answer(call.call_id, call.method, "unavailable", now)

    # MQTT ------------------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self.connected = True
        client.subscribe([(calls_filter(self.config), 1)])
        log.info("connected as %s (session present: %s)", self.client_id, flags.session_present)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        if any(r.is_failure for r in reasons):
            log.error("broker refused the calls subscription")
        else:
            log.info("subscribed: %s", calls_filter(self.config))

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected = False
        log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        props = getattr(message, "properties", None)
        response_topic = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        try:
            result = self.answer_for(
                message.topic,
                bytes(message.payload),
                response_topic if isinstance(response_topic, str) else None,
            )
        except Exception:  # one bad call must never stop the responder
            log.exception("call on %r could not be handled", message.topic[:200])
            result = None
        if result is not None:
            topic, answer = result
            out = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]  # paho is untyped here
            if isinstance(correlation, bytes | bytearray) and len(correlation) <= 64:
                out.CorrelationData = bytes(correlation)
            client.publish(topic, json.dumps(answer).encode(), qos=1, properties=out)
            self.answered += 1
            log.info("answered %s: %s", answer["call_id"], answer.get("reason", answer["status"]))
        client.ack(message.mid, message.qos)

    def stop(self, *_args: object) -> None:
        """Leave after the current call (the broker session stays for the restart)."""
        self.stopping = True

    def _connect_broker(self) -> None:
        parts = urlsplit(self._url)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho is untyped here
        properties.SessionExpiryInterval = self.config.broker.session_expiry_s
        properties.ReceiveMaximum = self.config.points.receive_maximum
        self.client.connect(
            parts.hostname or "127.0.0.1",
            parts.port or (8883 if parts.scheme == "mqtts" else 1883),
            keepalive=self.config.broker.keepalive_s,
            clean_start=False,
            properties=properties,
        )

    def run(self) -> None:
        """Answer calls until stopped; broker outages are waited out."""
        backoff = Backoff(base_s=RECONNECT_MIN_S, cap_s=RECONNECT_MAX_S)
        while not self.stopping:
            if not self.connected:
                try:
                    self._connect_broker()
                    self.connected = True  # provisional: on_connect confirms, on_disconnect undoes
                    backoff.reset()
                except OSError as exc:
                    delay = backoff.next_delay_s()
                    log.warning("broker unreachable (%s); retrying in %.1fs", exc, delay)
                    time.sleep(delay)
                    continue
            rc = self.client.loop(timeout=LOOP_TIMEOUT_S)
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                self._on_disconnect(self.client, None, None, rc, None)
        self.client.loop(timeout=0.1)  # let the last answer's PUBLISH go out
        self.client.disconnect()
        self._drop_db()


def run_responder(config: CityConfig, responder_id: str | None = None) -> int:
    """The `responder` command: claim a client id, answer calls until SIGTERM/SIGINT.

    Exits 2 without an MQTT broker URL: the calls need MQTT (5 on the city's side)."""
    if config.broker.url is None:
        log.error("the responder needs broker.url (an MQTT 5 broker); broker.kind amqp has none")
        return 2
    with connect(config.database.url, timeout_s=config.database.connect_timeout_s) as conn:
        require_current(conn)
    slot_conn = None
    if responder_id is None:
        slot_conn, slot = claim_slot(config.database.url, config.database.connect_timeout_s)
        responder_id = str(slot)
    responder = Responder(config, f"{config.points.client_id_prefix}-{responder_id}")

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        responder.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("responder %s, contract %s", responder.client_id, config.contract_dir)
    try:
        responder.run()
    finally:
        if slot_conn is not None:
            slot_conn.close()
    return 0
