"""The only module that imports paho: one MQTT 5 or 3.1.1 connection, on the caller's thread.

paho's return codes and reason codes become typed values here. A fresh paho client is made
per connection, so nothing unacknowledged lingers in paho's own (RAM-only, unbounded) queue:
the durable outbox is the only queue. TLS is configured before connecting and a TLS failure
is an error - there is no code path that retries without TLS.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge_agent.errors import AgentError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
REFUSAL_MIN = 0x80  # MQTT v5: reason codes >= 0x80 are failures
UNSUPPORTED_PROTOCOL_VERSION = 0x84  # paho maps a 3.1.1 CONNACK return code 1 to this too
PROTOCOLS = {"5": MQTTProtocolVersion.MQTTv5, "3.1.1": MQTTProtocolVersion.MQTTv311}


class LinkError(AgentError, ConnectionError):
    """The connection could not be made or was lost; `reason` is short and free of secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SetupError(LinkError):
    """A file this kiosk needs to connect cannot be used: fixed on the kiosk, never retried."""


class TlsSetupError(SetupError):
    """This kiosk's TLS files cannot be used (missing, unreadable, key not matching the cert).

    Only fixing the files helps: nothing ever retries without TLS.
    """


class PasswordFileError(SetupError):
    """`mqtt.password_file` is missing, unreadable, not UTF-8 or empty."""


# OpenSSL alert reasons from a broker that refused the handshake, in words a technician can act on.
TLS_ALERTS = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": (
        "the broker requires a client certificate; set mqtt.tls.cert_file and mqtt.tls.key_file"
    ),
    "SSLV3_ALERT_HANDSHAKE_FAILURE": (
        "the broker refused the handshake (a client certificate may be required or not accepted)"
    ),
    "SSLV3_ALERT_BAD_CERTIFICATE": "the broker refused this kiosk's client certificate",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "the broker refused this kiosk's client certificate",
    "TLSV1_ALERT_UNKNOWN_CA": "the broker does not trust the CA of this kiosk's certificate",
    "CERTIFICATE_VERIFY_FAILED": "the broker's certificate is not signed by mqtt.tls.ca_file",
}


def tls_failure_text(reason: str | None) -> str:
    """`tls: …` for an OpenSSL reason code, explained where we know what it means."""
    code = reason or "handshake failed"
    explained = TLS_ALERTS.get(code)
    return f"tls: {explained} ({code})" if explained else f"tls: {code}"


@dataclass(frozen=True)
class TlsSettings:
    """Files for TLS: the CA that signs the broker, and an optional client certificate."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True)
class LinkSettings:
    """Everything needed to reach the broker."""

    url: str
    client_id: str
    keepalive_s: int = 30
    tls: TlsSettings | None = None
    username: str | None = None
    password: str | None = None
    protocol: Literal["5", "3.1.1"] = "5"

    @property
    def host(self) -> str:
        """Broker host name or address."""
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        """Broker port (scheme default when absent)."""
        parts = urlsplit(self.url)
        return parts.port or DEFAULT_PORTS[parts.scheme]

    @property
    def wants_tls(self) -> bool:
        """True for mqtts:// URLs."""
        return urlsplit(self.url).scheme == "mqtts"


@dataclass(frozen=True)
class Will:
    """The message the broker publishes for us if we vanish."""

    topic: str
    payload: bytes
    retain: bool = True


@dataclass(frozen=True)
class Connected:
    """CONNACK success."""


@dataclass(frozen=True)
class Disconnected:
    """The connection ended (or CONNACK refused: `refused`); `reason` says why."""

    reason: str
    refused: bool = False
    unsupported_protocol: bool = False  # the refusal was "unsupported protocol version"


@dataclass(frozen=True)
class Acked:
    """The broker answered a QoS 1 publish: `refused` when its reason code is >= 0x80."""

    mid: int
    refused: bool
    reason: str


@dataclass(frozen=True)
class Message:
    """An incoming message on a subscribed topic."""

    topic: str
    payload: bytes


LinkEvent = Connected | Disconnected | Acked | Message


class _RecordingSocket(ssl.SSLSocket):
    """An SSLSocket keeping the reason of a TLS failure that paho reports as 'connection lost'."""

    tls_failure: str | None = None

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        """As SSLSocket.recv, remembering a TLS alert (e.g. the broker wants a certificate)."""
        try:
            return super().recv(buflen, flags)
        except ssl.SSLError as exc:
            self._remember(exc)
            raise

    def send(self, data: Any, flags: int = 0) -> int:
        """As SSLSocket.send, remembering a TLS alert."""
        try:
            return super().send(data, flags)
        except ssl.SSLError as exc:
            self._remember(exc)
            if isinstance(exc, ssl.SSLEOFError):
                self._read_pending_alert()
            raise

    def _read_pending_alert(self) -> None:
        # The broker sent its alert and closed; the write saw the close first. The alert
        # (e.g. "certificate required") is still waiting in the receive buffer.
        try:
            super().recv(1)
        except ssl.SSLError as alert:
            if not isinstance(alert, ssl.SSLEOFError):
                self._remember(alert)
        except OSError:
            log.debug("no TLS alert to read after a failed write")

    def _remember(self, exc: ssl.SSLError) -> None:
        if not isinstance(exc, ssl.SSLWantReadError | ssl.SSLWantWriteError):
            self.tls_failure = exc.reason or type(exc).__name__


class _TrackingContext(ssl.SSLContext):
    """An SSLContext that remembers its sockets, so a failed handshake's socket can be closed."""

    sslsocket_class = _RecordingSocket

    sockets: list[ssl.SSLSocket]

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        """As SSLContext.wrap_socket, remembering the socket."""
        sock = super().wrap_socket(*args, **kwargs)
        if not hasattr(self, "sockets"):
            self.sockets = []
        self.sockets.append(sock)
        return sock

    def close_all(self) -> None:
        """Close every socket this context wrapped."""
        for sock in getattr(self, "sockets", []):
            sock.close()

    def tls_failure(self) -> str | None:
        """The TLS failure the latest socket saw while reading, if any."""
        sockets = getattr(self, "sockets", [])
        return getattr(sockets[-1], "tls_failure", None) if sockets else None


def _file_problem(path: Path, key: str, what: str) -> TlsSetupError | None:
    if not path.is_file():
        return TlsSetupError(f"tls: {what} not found: {path} ({key})")
    return None


def tls_context(tls: TlsSettings) -> _TrackingContext:
    """A verifying TLS 1.2+ client context from the kiosk's files; TlsSetupError if unusable."""
    context = _TrackingContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    missing = _file_problem(tls.ca_file, "mqtt.tls.ca_file", "CA file")
    if missing is not None:
        raise missing
    try:
        context.load_verify_locations(cafile=str(tls.ca_file))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise TlsSetupError(f"tls: CA file unusable: {tls.ca_file} ({reason})") from None
    if tls.cert_file is None:
        return context
    for path, key, what in (
        (tls.cert_file, "mqtt.tls.cert_file", "client certificate"),
        (tls.key_file, "mqtt.tls.key_file", "client key"),
    ):
        missing = None if path is None else _file_problem(path, key, what)
        if missing is not None:
            raise missing
    try:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TlsSetupError(
                "tls: the client key does not match the client certificate "
                "(mqtt.tls.key_file, mqtt.tls.cert_file)"
            ) from None
        raise TlsSetupError(f"tls: client certificate or key unusable ({exc.reason})") from None
    except OSError as exc:
        raise TlsSetupError(f"tls: client certificate or key unreadable ({exc.strerror})") from None
    return context


def _reason_text(code: Any) -> str:
    if isinstance(code, ReasonCode):
        return str(code.getName())
    if isinstance(code, MQTTErrorCode):
        return str(mqtt.error_string(code))
    return str(code)


def _is_refusal(code: Any) -> bool:
    return isinstance(code, ReasonCode) and code.value >= REFUSAL_MIN


@dataclass
class MqttLink:
    """One connection attempt and its lifetime; make a new one to reconnect."""

    settings: LinkSettings
    will: Will | None = None
    _events: list[LinkEvent] = field(default_factory=list)
    _client: mqtt.Client | None = None
    _connected: bool = False
    _tls_context: _TrackingContext | None = None

    def connect(self) -> None:
        """Open TCP (+TLS) and send CONNECT; CONNACK arrives via poll(). LinkError on failure."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.settings.client_id,
            protocol=PROTOCOLS[self.settings.protocol],
            reconnect_on_failure=False,
        )
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(0)  # our publisher bounds the window itself
        if self.settings.wants_tls:
            tls = self.settings.tls
            if tls is None:
                raise LinkError("mqtts:// needs a CA file")
            self._tls_context = tls_context(tls)
            client.tls_set_context(self._tls_context)
        elif self.settings.tls is not None:
            raise LinkError("TLS files are configured but the URL is mqtt://; use mqtts://")
        if self.settings.username is not None:
            client.username_pw_set(self.settings.username, self.settings.password)
        if self.will is not None:
            client.will_set(self.will.topic, self.will.payload, qos=1, retain=self.will.retain)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self._client = client
        try:
            rc = client.connect(
                self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s
            )
        except ssl.SSLError as exc:
            raise LinkError(tls_failure_text(exc.reason or type(exc).__name__)) from None
        except (TimeoutError, OSError) as exc:
            raise LinkError(f"connect: {type(exc).__name__}: {exc.strerror or exc}") from None
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise LinkError(self._why(f"connect: {_reason_text(rc)}"))

    @staticmethod
    def _close_tracked(client: mqtt.Client) -> None:
        # paho drops the socket of a failed handshake without closing it.
        context = getattr(client, "_ssl_context", None)
        if isinstance(context, _TrackingContext):
            context.close_all()

    @property
    def connected(self) -> bool:
        """True between CONNACK success and the disconnect."""
        return self._connected

    def poll(self, timeout_s: float) -> list[LinkEvent]:
        """Run network I/O for up to `timeout_s` and return what happened."""
        client = self._client
        if client is not None:
            try:
                rc = client.loop(timeout=timeout_s)
            except ssl.SSLError as exc:
                rc = MQTTErrorCode.MQTT_ERR_CONN_LOST
                self._lost(f"tls: {exc.reason or type(exc).__name__}")
            # A callback (a refused CONNACK) may have reported the loss already: once is enough.
            lost = rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN)
            if lost and self._client is client:
                self._lost(_reason_text(rc))
        events, self._events = self._events, []
        return events

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
    ) -> int:
        """Send at QoS 1 and return the message id; LinkError if not connected.

        `response_topic` and `correlation_data` become the MQTT 5 properties of that name (an
        online call, docs/contract "Online calls"); on 3.1.1 the caller puts them in the payload.
        """
        client = self._client
        if client is None or not self._connected:
            raise LinkError("not connected")
        properties = None
        if self.settings.protocol == "5" and (response_topic or correlation_data):
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]  # paho is untyped here
            if response_topic:
                properties.ResponseTopic = response_topic
            if correlation_data:
                properties.CorrelationData = correlation_data
        info = client.publish(topic, payload, qos=1, retain=retain, properties=properties)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_QUEUE_SIZE):
            self._lost(_reason_text(info.rc))
            raise LinkError(f"publish: {_reason_text(info.rc)}")
        return int(info.mid)

    def subscribe(self, topic: str) -> None:
        """Subscribe at QoS 1."""
        if self._client is not None:
            self._client.subscribe(topic, qos=1)

    def want_write(self) -> bool:
        """True when paho has bytes waiting to go out."""
        return self._client is not None and self._client.want_write()

    def close(self) -> None:
        """Disconnect cleanly (the broker does not publish the Will)."""
        client, self._client = self._client, None
        if client is None:
            return
        if self._connected:
            client.disconnect()
            try:
                client.loop(timeout=0.1)
            except (OSError, ssl.SSLError):
                log.debug("socket already gone while disconnecting")
        self._connected = False
        sock = client.socket()
        if sock is not None:
            sock.close()  # paho normally has closed it already; never leak it

    def abort(self) -> None:
        """Drop the socket without DISCONNECT (tests, shutdown after a loss)."""
        client, self._client = self._client, None
        self._connected = False
        if client is not None:
            sock = client.socket()
            if sock is not None:
                sock.close()

    def _why(self, reason: str) -> str:
        # paho reports a TLS alert after the handshake (TLS 1.3) as a lost connection.
        failure = self._tls_context.tls_failure() if self._tls_context is not None else None
        return tls_failure_text(failure) if failure else reason

    def _lost(
        self, reason: str, *, refused: bool = False, unsupported_protocol: bool = False
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            sock = client.socket()
            if sock is not None:
                sock.close()
        self._connected = False
        self._events.append(Disconnected(self._why(reason), refused, unsupported_protocol))

    # paho callbacks (run inside poll/publish on the caller's thread) ---------------------------

    def _on_connect(
        self, _c: mqtt.Client, _u: Any, _f: Any, code: ReasonCode, _p: Properties | None
    ) -> None:
        if code.is_failure:
            unsupported = code.value == UNSUPPORTED_PROTOCOL_VERSION
            self._lost(
                f"refused: {_reason_text(code)}", refused=True, unsupported_protocol=unsupported
            )
            return
        self._connected = True
        self._events.append(Connected())

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: Any, code: ReasonCode, _p: Properties | None
    ) -> None:
        if self._client is None:
            return
        self._client = None
        self._connected = False
        self._events.append(Disconnected(self._why(_reason_text(code))))

    def _on_publish(
        self, _c: mqtt.Client, _u: Any, mid: int, code: ReasonCode, _p: Properties | None
    ) -> None:
        self._events.append(Acked(mid, _is_refusal(code), _reason_text(code)))

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._events.append(Message(message.topic, bytes(message.payload)))
