"""The agent process: one thread runs connect/backoff, publishing, heartbeats and commands.

Everything happens in `step()` on the caller's thread (paho callbacks included), so there
are no locks; clocks, randomness and free-disk are injectable.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from common.kiosk_agent import STATUS_FILE, AgentStatus, LinkState, activities_path
from common.logonce import LogOnce
from config import KioskConfig
from config.activities import activities_from_bytes
from config.catalogue import catalogue_from_bytes
from edge_agent import presence
from edge_agent.actions import Actions, Validator
from edge_agent.calls import CallRelay
from edge_agent.commands import Verifier, load_public_key
from edge_agent.contract import ContractError, Event, topics_for
from edge_agent.heartbeat import heartbeat_data
from edge_agent.intake import CommandIntake
from edge_agent.link import (
    CONNECT_TIMEOUT_S,
    Acked,
    Connected,
    Disconnected,
    LinkError,
    LinkSettings,
    Message,
    MqttLink,
    PasswordFileError,
    SetupError,
    TlsSettings,
    TlsSetupError,
    Will,
    tls_context,
)
from edge_agent.outbox import HeartbeatShed, OutboxError, disk_free_bytes
from edge_agent.outbox_config import BYTES_PER_MB, identity_of, open_outbox
from edge_agent.publisher import Publisher
from edge_agent.reconnect import Failure, ReconnectSchedule

log = logging.getLogger(__name__)

UI_TEXTS_FILE = "ui-texts.yaml"
STATUS_EVERY_S = 1.0
ALERT_CHECK_EVERY_S = 1.0
ALERT_MIN_INTERVAL_S = 300.0
PURGE_EVERY_S = 60.0
SHUTDOWN_ACK_WAIT_S = 2.0


def _validate_catalogue(content: bytes) -> None:
    """A replacement catalogue must pass the same validation as the shipped one."""
    catalogue_from_bytes(content, "set_config catalogue")


def _validate_activities(content: bytes) -> None:
    """The centre's activities: config/activities.py's checks, each problem with its path."""
    activities_from_bytes(content, "set_config activities")


# set_config payloads are validated before the atomic swap; ConfigError is a ValueError, which
# the actions turn into a rejected command.result listing the problems.
DEFAULT_VALIDATORS: Mapping[str, Validator] = {
    "catalogue": _validate_catalogue,
    "activities": _validate_activities,
}


def _read_password(path: Path) -> str:
    try:
        password = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise PasswordFileError(f"password file not found: {path} (mqtt.password_file)") from None
    except OSError as exc:
        reason = f"password file unreadable: {path} ({exc.strerror}) (mqtt.password_file)"
        raise PasswordFileError(reason) from None
    except UnicodeDecodeError:
        raise PasswordFileError(f"password file not UTF-8: {path} (mqtt.password_file)") from None
    if not password:
        raise PasswordFileError(f"password file empty: {path} (mqtt.password_file)")
    return password


def link_settings(config: KioskConfig) -> LinkSettings:
    """Broker URL, client id, TLS files and credentials from config."""
    mqtt = config.mqtt
    tls = None
    if mqtt.tls.ca_file is not None:
        tls = TlsSettings(mqtt.tls.ca_file, mqtt.tls.cert_file, mqtt.tls.key_file)
    password = None if mqtt.password_file is None else _read_password(mqtt.password_file)
    ident = config.identity
    return LinkSettings(
        url=mqtt.broker_url,
        client_id=f"kiosk-{ident.city}-{ident.centre}-{ident.kiosk}",
        keepalive_s=mqtt.keepalive_s,
        tls=tls,
        username=mqtt.username,
        password=password,
        protocol="3.1.1" if mqtt.protocol == "3.1.1" else "5",
    )


class Agent:
    """Store-and-forward from the outbox to the city broker, plus presence and commands."""

    def __init__(
        self,
        config: KioskConfig,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        free_disk: Callable[[], int] | None = None,
        validators: Mapping[str, Validator] | None = None,
        poll_s: float = 0.02,
    ) -> None:
        self.config = config
        self.identity = identity_of(config)
        self.topics = topics_for(config.mqtt.topic_prefix, self.identity)
        self._clock = clock
        self._mono = monotonic
        self._poll_s = poll_s
        data_dir = config.paths.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self._free_disk = free_disk or disk_free_bytes(data_dir)
        self.outbox = open_outbox(config, clock=clock, free_disk=self._free_disk)
        self._setup_error: SetupError | None = None
        try:
            self.settings = link_settings(config)
        except SetupError as exc:  # reported by run(), with the status file, like TLS problems
            self._setup_error = exc
            self.settings = link_settings(
                replace(config, mqtt=replace(config.mqtt, password_file=None))
            )
        agent = config.agent
        self.reconnect = ReconnectSchedule.from_settings(
            window_s=agent.reconnect_window_s,
            initial_s=agent.backoff_initial_s,
            max_s=agent.backoff_max_s,
            stable_after_s=agent.stable_after_s,
            clock=monotonic,
            rng=rng,
        )
        self.publisher = Publisher(
            self.outbox,
            self.topics.events,
            clock,
            inflight_max=agent.inflight_max,
            batch_max_events=agent.batch_max_events,
            batch_max_bytes=agent.batch_max_bytes,
            on_refused=self._refused,
        )
        self.verifier = Verifier(
            load_public_key(config.commands.city_public_key, config.commands.city_public_key_file),
            f"{self.identity.city}/{self.identity.centre}/{self.identity.kiosk}",
            config.commands.max_clock_skew_s,
            self.outbox.remember_nonce,
        )
        self.actions = Actions(
            data_dir,
            {
                "catalogue": config.paths.catalogue,
                "ui_texts": data_dir / UI_TEXTS_FILE,
                "activities": activities_path(data_dir),
            },
            validators={**DEFAULT_VALIDATORS, **(validators or {})},
            diagnostics=self._diagnostics,
            clock=clock,
        )
        self.intake = CommandIntake(self.verifier, self.actions)
        self.calls = CallRelay(data_dir, self.topics.calls, self.topics.answers, clock)
        self.status = AgentStatus(pid=os.getpid())
        self.link: MqttLink | None = None
        self.state_log = LogOnce(log, "broker")
        self.started_at = datetime.fromtimestamp(clock(), UTC)
        self._started_mono = monotonic()
        self._next_attempt = monotonic()
        self._connect_deadline: float | None = None
        self._next_heartbeat = monotonic()
        self._next_status = monotonic()
        self._next_alert_check = monotonic()
        self._next_purge = monotonic() + PURGE_EVERY_S
        self._last_alert: dict[str, float] = {}
        self._connection = 0  # the presence number of the current connect (0: none yet)
        self.connect_times: list[float] = []

    # main loop -------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Run until `stop` is set, then go offline cleanly; SetupError if a local file the link
        needs is unusable (TLS files, password file)."""
        try:
            self.check_setup()
            while not stop.is_set():
                self.step()
        finally:
            self.shutdown()

    def check_setup(self) -> None:
        """SetupError (and the reason in the status file) if a local file the link needs is
        unusable: the password file, then the TLS files."""
        if self._setup_error is not None:
            self.status.last_error = self._setup_error.reason
            raise self._setup_error
        self.check_tls_files()

    def check_tls_files(self) -> None:
        """TlsSetupError (and the reason in the status file) if the TLS files are unusable.

        Checked once before the first attempt: a missing CA file or a key that does not match
        its certificate is fixed on the kiosk, not by retrying (and never by going plaintext).
        """
        tls = self.settings.tls
        if not self.settings.wants_tls or tls is None:
            return
        try:
            tls_context(tls)
        except TlsSetupError as exc:
            self.status.last_error = exc.reason
            raise

    def step(self) -> None:
        """One iteration: connect if due, network I/O, publish, timers."""
        now = self._mono()
        if self.link is None:
            if now >= self._next_attempt:
                self._try_connect(now)
            else:
                time.sleep(min(self._poll_s, self._next_attempt - now))
        if self.link is not None:
            events = self.link.poll(self._poll_s)
            acks = [(e.mid, e.refused, e.reason) for e in events if isinstance(e, Acked)]
            if acks:
                self.publisher.acked_many(acks)
            for event in events:
                if not isinstance(event, Acked):
                    self._handle(event)
            if self.link is not None and self.link.connected:
                try:
                    self.publisher.pump(self.link)
                except LinkError as exc:
                    self._drop_link(exc.reason, Failure.LOST)
                self.reconnect.tick()
            elif self._connect_deadline is not None and self._mono() > self._connect_deadline:
                self._drop_link("connect timeout", Failure.UNREACHABLE)
        self._relay_calls()
        self._timers()

    def _relay_calls(self) -> None:
        """Online calls (edge_agent/calls.py): take the kiosk's, send them, time them out."""
        now = self._clock()
        self.calls.scan(now)
        link = self.link if self.link is not None and self.link.connected else None
        self.calls.pump(link, self._connection, self.settings.protocol, now)

    def _try_connect(self, now: float) -> None:
        # A new number per attempt, durable before the Will carrying it reaches the broker.
        self._connection = self.outbox.next_connection()
        will = Will(self.topics.status, presence.status_payload(self._offline("connection_lost")))
        link = MqttLink(self.settings, will)
        self.status.link = LinkState.CONNECTING
        try:
            link.connect()
        except LinkError as exc:
            self._drop_link(exc.reason, Failure.UNREACHABLE)
            return
        self.link = link
        self._connect_deadline = now + CONNECT_TIMEOUT_S

    def _handle(self, event: object) -> None:
        if isinstance(event, Connected):
            self._on_connected()
        elif isinstance(event, Disconnected):
            if not self._fall_back_to_311(event):
                self._switch_protocol_after_silent_close(event)
                self._drop_link(event.reason, self._failure_of(event))
        elif isinstance(event, Message) and event.topic == self.topics.commands:
            self.handle_command(event.payload)
        elif isinstance(event, Message) and event.topic == self.topics.answers:
            self.calls.answer(event.payload, self._clock())

    def _on_connected(self) -> None:
        assert self.link is not None
        self._connect_deadline = None
        self.connect_times.append(self._mono())
        self.reconnect.connected()
        self.state_log.went_up()
        self.status.link = LinkState.CONNECTED
        self.status.connects += 1
        self.publisher.reset()
        birth = presence.birth(
            self.identity,
            boot_id=self.outbox.boot_id,
            last_seq=self.outbox.last_seq(),
            connection=self._connection,
            started_at=self.started_at,
            now=datetime.fromtimestamp(self._clock(), UTC),
            config_version=self.actions.versions().get("catalogue"),
        )
        self.link.subscribe(self.topics.commands)
        self.link.subscribe(self.topics.answers)
        try:
            self.link.publish(self.topics.status, presence.status_payload(birth), retain=True)
        except LinkError as exc:
            self._drop_link(exc.reason, Failure.LOST)

    def _fall_back_to_311(self, event: Disconnected) -> bool:
        """mqtt.protocol auto: a broker refusing MQTT 5 is asked again at once in 3.1.1."""
        if not (
            event.unsupported_protocol
            and self.config.mqtt.protocol == "auto"
            and self.settings.protocol == "5"
        ):
            return False
        log.info("broker refuses MQTT 5; using MQTT 3.1.1 (no PUBACK refusals, see design §4)")
        self.settings = replace(self.settings, protocol="3.1.1")
        if self.link is not None:
            self.link.abort()
        self.link = None
        self._connect_deadline = None
        self._next_attempt = self._mono()  # the same attempt, in the other protocol
        return True

    def _switch_protocol_after_silent_close(self, event: Disconnected) -> None:
        """mqtt.protocol auto: a broker that closes the connection before any CONNACK gets the
        other protocol at the next attempt (RabbitMQ 3.10 drops an MQTT 5 CONNECT silently)."""
        if (
            self.config.mqtt.protocol != "auto"
            or self.status.link != LinkState.CONNECTING
            or event.refused
        ):
            return
        other: Literal["5", "3.1.1"] = "3.1.1" if self.settings.protocol == "5" else "5"
        log.info("broker closed before CONNACK; next attempt in MQTT %s", other)
        self.settings = replace(self.settings, protocol=other)

    def _failure_of(self, event: Disconnected) -> Failure:
        if self.status.link == LinkState.CONNECTED:
            return Failure.LOST
        return Failure.REFUSED if event.refused else Failure.UNREACHABLE

    def _drop_link(self, reason: str, failure: Failure) -> None:
        if self.link is not None:
            self.link.abort()
        self.link = None
        self._connect_deadline = None
        self.state_log.went_down(reason)
        self.status.link = LinkState.DISCONNECTED
        self.status.last_error = reason[:200]
        self._next_attempt = self.reconnect.next_attempt_at(failure)

    def _offline(self, reason: Any) -> dict[str, Any]:
        return presence.offline(
            self.identity,
            boot_id=self.outbox.boot_id,
            last_seq=self.outbox.last_seq(),
            connection=self._connection,
            reason=reason,
            now=datetime.fromtimestamp(self._clock(), UTC),
        )

    def shutdown(self) -> None:
        """Publish agent.offline (shutdown), wait briefly for its PUBACK, disconnect."""
        link, self.link = self.link, None
        if link is not None and link.connected:
            try:
                mid = link.publish(
                    self.topics.status,
                    presence.status_payload(self._offline("shutdown")),
                    retain=True,
                )
                deadline = self._mono() + SHUTDOWN_ACK_WAIT_S
                acked = False
                while not acked and self._mono() < deadline and link.connected:
                    for event in link.poll(0.05):
                        if isinstance(event, Acked):
                            if event.mid == mid:
                                acked = True
                            else:
                                self.publisher.acked(
                                    event.mid, refused=event.refused, reason=event.reason
                                )
            except LinkError:
                log.info("link lost during shutdown")
            link.close()
        self.status.link = LinkState.STOPPED
        self._write_status()
        self.outbox.close()

    # commands --------------------------------------------------------------------------------

    def handle_command(self, payload: bytes) -> Event | None:
        """Any bytes from the commands topic: the command.result stored for them, if any."""
        data = self.intake.handle(payload, now=self._clock(), monotonic=self._mono())
        if data is None:  # rate-limited, or the result comes later (run_diagnostics)
            return None
        return self._store_result(data)

    def _store_result(self, data: dict[str, Any]) -> Event | None:
        try:
            return self.outbox.put("command.result", data)
        except (OutboxError, ContractError) as exc:
            log.error("could not store a command result: %s", exc)
            return None

    def _diagnostics(self) -> dict[str, Any]:
        return {
            "outbox_depth": self.outbox.depth(),
            "free_disk_mb": round(self._free_disk() / BYTES_PER_MB, 1),
            "link": self.status.link,
            "connects": self.status.connects,
        }

    # timers ----------------------------------------------------------------------------------

    def _timers(self) -> None:
        now = self._mono()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.config.agent.heartbeat_interval_s
            self._heartbeat(now)
        if now >= self._next_alert_check:
            self._next_alert_check = now + ALERT_CHECK_EVERY_S
            self._alerts()
        if now >= self._next_purge:
            self._next_purge = now + PURGE_EVERY_S
            self.outbox.purge_expired()
        if now >= self._next_status:
            self._next_status = now + STATUS_EVERY_S
            self._write_status()
            for data in self.actions.collect_diagnostics():  # the kiosk's self-test reports
                self._store_result(data)

    def _heartbeat(self, now: float) -> None:
        data = heartbeat_data(
            self.outbox,
            free_disk_bytes=self._free_disk,
            uptime_s=now - self._started_mono,
            now=self._clock(),
        )
        unreported = self.intake.take_unreported()
        data["commands_rejected_unreported"] = unreported
        try:
            self.outbox.put("heartbeat", data)
        except HeartbeatShed:
            self.intake.restore_unreported(unreported)
            log.info("heartbeat shed: outbox full")
        except OutboxError as exc:
            self.intake.restore_unreported(unreported)
            log.warning("heartbeat not stored: %s", exc)

    def _alert(self, kind: str, message: str, detail: dict[str, Any]) -> None:
        now = self._mono()
        last = self._last_alert.get(kind)
        if last is not None and now - last < ALERT_MIN_INTERVAL_S:
            return
        self._last_alert[kind] = now
        # Tiny and rare: allowed past the size cap so the city hears about a full outbox.
        try:
            self.outbox.put(
                "agent.alert", {"kind": kind, "message": message, "detail": detail}, force=True
            )
        except OutboxError as exc:
            log.error("could not store an alert: %s", exc)

    def _alerts(self) -> None:
        if not self.outbox.has_alerts():
            return
        full, shed = self.outbox.take_alerts()
        if full is not None:
            self._alert(
                "outbox_full", "outbox full: the kiosk could not store an event", {"reason": full}
            )
        if shed:
            self._alert("outbox_shedding", "heartbeats shed for space", {"count": shed})

    def _refused(self, reason: str, count: int) -> None:
        self._alert(
            "publish_refused", "the broker refused events", {"reason": reason[:80], "count": count}
        )

    def _write_status(self) -> None:
        self.status.outbox_depth = self.outbox.depth()
        age = self.outbox.oldest_unsent_age_s()
        self.status.oldest_unsent_age_s = None if age is None else round(age, 3)
        self.status.delivered = self.publisher.delivered
        self.status.updated_at = self._clock()
        path = self.config.paths.data_dir / STATUS_FILE
        temp = path.with_name(f".{path.name}.tmp")
        try:
            temp.write_text(json.dumps(asdict(self.status)), encoding="utf-8")
            os.replace(temp, path)
        except OSError as exc:
            log.debug("status file not written: %s", exc)
