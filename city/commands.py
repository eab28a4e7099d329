"""Signed commands to kiosks: queue, send when the kiosk is online, expire, re-send on reconnect.

Every command is a row of `commands` (city/migrations/0005_commands.sql), one per signed
message. A kiosk's MQTT session is clean (edge_agent/link.py): a message published while it
is offline is lost, so nothing is published to an offline kiosk — the command waits and is
signed and sent when the `kiosks` table shows it online. A command without an answer in its
window is `expired`; a `set_config` (idempotent: the same document applied twice is the same
state) or an `activity_signup_result` (the same answer recorded twice) is then re-sent as a new
attempt with a new id, nonce and window when the kiosk has reconnected since, up to
`publishing.max_attempts`; both also wait for an offline kiosk without expiring. One-shot
actions (ping, diagnostics, restart) are never re-sent: a restart queued for hours and run
later would surprise.

The kiosk never sees an id twice in a valid command, and refuses a replayed nonce; each
command.result it sends names exactly one attempt (city/command_results.py folds them in).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from city.config import CityConfig
from city.signing import build_command, sign

log = logging.getLogger("city.commands")

DISPATCH_LOCK_KEY = 0x434D4453  # "CMDS": one dispatcher tick at a time across processes
PUBLISH_TIMEOUT_S = 10.0
# Idempotent at the kiosk, so they wait while it is offline and are re-sent after a reconnect:
# a document applied twice is the same state; a sign-up's answer recorded twice is the same
# answer (docs/activities.md).
RESENT_TYPES = frozenset({"set_config", "activity_signup_result"})
OPEN_STATES = ("waiting", "sent")
FINAL_STATES = ("applied", "rejected", "failed", "expired", "cancelled")
ONE_SHOT_TYPES = ("ping", "run_diagnostics", "restart_kiosk")


class PublishFailed(RuntimeError):
    """The broker did not take the message (not connected, or no PUBACK in time)."""


class Transport(Protocol):
    """Publishes one QoS 1 message and returns once the broker acknowledged it."""

    def publish(self, topic: str, payload: bytes) -> None:
        """PublishFailed if the broker did not acknowledge it."""


class MqttTransport:
    """A paho client on its own network thread; MQTT 3.1.1 works on Mosquitto and RabbitMQ."""

    def __init__(self, url: str, client_id: str, keepalive_s: int = 30) -> None:
        parts = urlsplit(url)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
        if parts.username:
            self.client.username_pw_set(parts.username, parts.password)
        if parts.scheme == "mqtts":
            self.client.tls_set()
        self.client.reconnect_delay_set(1, 10)
        default_port = 8883 if parts.scheme == "mqtts" else 1883
        self.client.connect_async(
            parts.hostname or "127.0.0.1", parts.port or default_port, keepalive=keepalive_s
        )
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 and wait for the PUBACK."""
        info = self.client.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise PublishFailed(f"not connected to the broker ({mqtt.error_string(info.rc)})")
        try:
            info.wait_for_publish(timeout=PUBLISH_TIMEOUT_S)
        except (RuntimeError, ValueError) as exc:
            raise PublishFailed(str(exc)) from None
        if not info.is_published():
            raise PublishFailed("no PUBACK from the broker in time")

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait until the first connect succeeded."""
        deadline = threading.Event()
        for _ in range(int(timeout_s / 0.05)):
            if self.client.is_connected():
                return True
            deadline.wait(0.05)
        return self.client.is_connected()

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def transport_for(config: CityConfig, suffix: str) -> MqttTransport:
    """The commands transport to the city broker of `config`."""
    url = config.publishing.broker_url or config.broker.url
    if url is None:
        raise ValueError("publishing needs an MQTT broker: set publishing.broker_url")
    client_id = f"{config.publishing.client_id_prefix}-{suffix}-{uuid.uuid4().hex[:8]}"
    return MqttTransport(url, client_id, keepalive_s=config.broker.keepalive_s)


def commands_topic(topic_root: str, kiosk: str) -> str:
    """`gov-kiosk/v1/{city}/{centre}/{kiosk}/commands` for the full id CITY/CENTRE/KIOSK."""
    return f"{topic_root}/{kiosk}/commands"


def queue_command(
    conn: psycopg.Connection,
    kiosk: str,
    command_type: str,
    *,
    requested_by: str,
    args: Mapping[str, Any] | None = None,
    document_id: int | None = None,
    rollout_id: int | None = None,
) -> str:
    """A new `waiting` command (not yet sent); its id. The caller commits."""
    command_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO commands (id, kiosk, type, args, document_id, rollout_id, state,"
        " requested_by) VALUES (%s, %s, %s, %s::jsonb, %s, %s, 'waiting', %s)",
        (
            command_id,
            kiosk,
            command_type,
            json.dumps(dict(args or {}), ensure_ascii=False),
            document_id,
            rollout_id,
            requested_by,
        ),
    )
    return command_id


@dataclass
class DispatchReport:
    """What one dispatcher tick did."""

    sent: int = 0
    expired: int = 0
    resent: int = 0
    failed_to_publish: int = 0


@dataclass
class Dispatcher:
    """Sends what is due, expires what got no answer, re-sends after a reconnect."""

    config: CityConfig
    key: Ed25519PrivateKey
    transport: Transport
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    on_tick: Callable[[psycopg.Connection], object] | None = None  # rollouts: auto-promotion

    def tick(self, conn: psycopg.Connection) -> DispatchReport:
        """One pass under the dispatch lock (another process holding it: nothing to do).

        Each sent command commits on its own: a kiosk's result may arrive (and the ingest
        wait on the row's lock) within milliseconds of the publish.
        """
        report = DispatchReport()
        locked = conn.execute("SELECT pg_try_advisory_lock(%s)", (DISPATCH_LOCK_KEY,)).fetchone()
        conn.commit()
        if not locked or not locked[0]:
            return report
        try:
            now = self.clock()
            if self.on_tick is not None:
                self.on_tick(conn)
                conn.commit()
            report.expired = self._expire(conn, now)
            report.resent = self._resend(conn, now)
            conn.commit()
            report.sent, report.failed_to_publish = self._send_waiting(conn, now)
        finally:
            conn.rollback()
            conn.execute("SELECT pg_advisory_unlock(%s)", (DISPATCH_LOCK_KEY,))
            conn.commit()
        return report

    def _expire(self, conn: psycopg.Connection, now: datetime) -> int:
        ttl = timedelta(seconds=self.config.publishing.command_ttl_s)
        rows = conn.execute(
            "UPDATE commands SET state = 'expired', updated_at = %(now)s"
            " WHERE (state = 'sent' AND expires_at < %(now)s)"
            "    OR (state = 'waiting' AND type <> ALL(%(resent)s)"
            "        AND created_at + %(ttl)s < %(now)s)"
            " RETURNING id",
            {"now": now, "ttl": ttl, "resent": sorted(RESENT_TYPES)},
        ).fetchall()
        return len(rows)

    def _resend(self, conn: psycopg.Connection, now: datetime) -> int:
        """Expired set_config attempts whose kiosk reconnected since: a new waiting attempt."""
        rows = conn.execute(
            "SELECT c.id, c.kiosk, c.type, c.args, c.document_id, c.rollout_id, c.attempt,"
            "       c.requested_by"
            " FROM commands c JOIN kiosks k ON k.kiosk = c.kiosk"
            " WHERE c.state = 'expired' AND c.type = ANY(%s) AND c.attempt < %s"
            "   AND k.presence = 'online'"
            "   AND (c.sent_connection IS NULL OR k.presence_connection IS NULL"
            "        OR k.presence_connection > c.sent_connection)"
            "   AND NOT EXISTS (SELECT 1 FROM commands n WHERE n.resend_of = c.id)"
            " ORDER BY c.kiosk FOR UPDATE OF c",
            (list(RESENT_TYPES), self.config.publishing.max_attempts),
        ).fetchall()
        for old_id, kiosk, ctype, args, document_id, rollout_id, attempt, by in rows:
            new_id = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO commands (id, kiosk, type, args, document_id, rollout_id,"
                " resend_of, attempt, state, requested_by, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s, 'waiting', %s, %s, %s)",
                (
                    new_id,
                    kiosk,
                    ctype,
                    json.dumps(args, ensure_ascii=False),
                    document_id,
                    rollout_id,
                    old_id,
                    attempt + 1,
                    by,
                    now,
                    now,
                ),
            )
            conn.execute(
                "UPDATE rollout_targets SET command_id = %s WHERE command_id = %s",
                (new_id, old_id),
            )
        return len(rows)

    def _send_waiting(self, conn: psycopg.Connection, now: datetime) -> tuple[int, int]:
        rows = conn.execute(
            "SELECT c.id::text, c.kiosk, c.type, c.args, c.document_id, k.presence_connection"
            " FROM commands c JOIN kiosks k ON k.kiosk = c.kiosk"
            " WHERE c.state = 'waiting' AND k.presence = 'online'"
            " ORDER BY c.created_at"
        ).fetchall()
        sent = failed = 0
        lifetime = self.config.publishing.command_ttl_s
        contents: dict[int, str] = {}  # one read per document, not one per kiosk
        for command_id, kiosk, ctype, args, document_id, connection in rows:
            body_args = dict(args)
            if ctype == "set_config":
                if document_id not in contents:
                    found = conn.execute(
                        "SELECT content FROM config_documents WHERE id = %s", (document_id,)
                    ).fetchone()
                    contents[document_id] = "" if found is None else str(found[0])
                body_args = {
                    "kind": args["kind"],
                    "version": args["version"],
                    "content": contents[document_id],
                }
            body = build_command(
                ctype, kiosk, body_args, now=now, lifetime_s=lifetime, command_id=command_id
            )
            try:
                self.transport.publish(
                    commands_topic(self.config.broker.topic_root, kiosk), sign(self.key, body)
                )
            except PublishFailed as exc:
                log.warning("command %s to %s not sent: %s", command_id, kiosk, exc)
                failed += 1
                break  # the broker is away: the rest stay waiting for the next tick
            conn.execute(
                # the result may already be in (the ingest got it first): never undo it
                "UPDATE commands SET state = CASE WHEN state = 'waiting' THEN 'sent'"
                " ELSE state END, sent_at = %s, expires_at = %s,"
                " sent_connection = %s, updated_at = %s WHERE id = %s",
                (now, now + timedelta(seconds=lifetime), connection, now, command_id),
            )
            conn.commit()
            sent += 1
        return sent, failed


def command_rows(
    conn: psycopg.Connection, *, kiosk: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Recent commands (newest first), optionally of one kiosk."""
    cur = conn.execute(
        "SELECT id::text, kiosk, type, args, rollout_id, attempt, state, reason, detail,"
        " requested_by, created_at, sent_at, expires_at, result_at FROM commands"
        " WHERE %(kiosk)s::text IS NULL OR kiosk = %(kiosk)s"
        " ORDER BY created_at DESC LIMIT %(limit)s",
        {"kiosk": kiosk, "limit": limit},
    )
    names = [d.name for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def command_row(conn: psycopg.Connection, command_id: str) -> dict[str, Any] | None:
    """One command by id."""
    cur = conn.execute(
        "SELECT id::text, kiosk, type, args, rollout_id, attempt, state, reason, detail,"
        " requested_by, created_at, sent_at, expires_at, result_at FROM commands WHERE id = %s",
        (command_id,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    names = [d.name for d in cur.description or ()]
    return dict(zip(names, row, strict=True))
