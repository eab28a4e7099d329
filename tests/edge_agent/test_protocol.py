"""mqtt.protocol: auto speaks MQTT 5 and falls back to 3.1.1 where a broker refuses 5 (NATS)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from common.kiosk_agent import LinkState
from config import ConfigError, load_config
from edge_agent.agent import Agent
from tests.edge_agent.conftest import CitySubscriber, write_config
from tests.fixtures.broker import MosquittoBroker
from tests.fixtures.nats import NatsMqttServer

pytestmark = pytest.mark.broker

DRIVE_TIMEOUT_S = 30.0


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsMqttServer]:
    """A private nats-server with JetStream and its MQTT listener (3.1.1 only)."""
    server = NatsMqttServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


MQTT5_LEVEL = 5
NAME_AND_LEVEL_BYTES = 7  # after the fixed header: protocol name "MQTT" (2 + 4), then the level


class SilentOnMqtt5:
    """A loopback proxy to a real broker that closes, unanswered, any MQTT 5 CONNECT.

    That is what RabbitMQ 3.10's MQTT plugin does (no CONNACK, the socket just closes), unlike
    NATS, which answers "unsupported protocol version".
    """

    def __init__(self, upstream: MosquittoBroker) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.closed_mqtt5 = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        head = self._connect_head(client)
        if head is None or head[-1] == MQTT5_LEVEL:
            self.closed_mqtt5 += head is not None
            client.close()
            return
        upstream = socket.create_connection((self.upstream.host, self.upstream.port))
        upstream.sendall(head)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _connect_head(client: socket.socket) -> bytes | None:
        """The CONNECT's bytes up to its protocol level: type, length varint, name, level."""
        head = b""

        def take(count: int) -> bool:
            nonlocal head
            while count > 0:
                chunk = client.recv(count)
                if not chunk:
                    return False
                head += chunk
                count -= len(chunk)
            return True

        with contextlib.suppress(OSError):
            if not take(2):
                return None
            while head[-1] & 0x80:  # remaining length: the Will makes it two bytes
                if not take(1):
                    return None
            if take(NAME_AND_LEVEL_BYTES):
                return head
        return None

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        """Stop accepting (open pumps end with their sockets)."""
        self.listener.close()


def drive(agent: Agent, done: Callable[[], bool]) -> bool:
    """Step the agent (network I/O, not timers) until done() or DRIVE_TIMEOUT_S."""
    deadline = time.monotonic() + DRIVE_TIMEOUT_S
    while not done():
        if time.monotonic() > deadline:
            return False
        agent.step()
    return True


def subscriber(host: str, port: int) -> CitySubscriber:
    """A connected city subscriber (paho's default protocol, 3.1.1)."""
    city = CitySubscriber(host, port)
    city.start()
    assert city.wait_for(city.client.is_connected, 10)
    return city


def deliver_through(tmp_path: Path, url: str, host: str, port: int, **mqtt: str) -> Agent:
    """An agent with 20 stored events, driven until the city has them all; returns it."""
    path = write_config(tmp_path / "kiosk", url, mqtt={"protocol": mqtt["protocol"]})
    city = subscriber(host, port)
    agent = Agent(load_config(path, env={}), poll_s=0.01)
    try:
        ids = [agent.outbox.put("test", {"index": i})["id"] for i in range(20)]
        assert drive(agent, lambda: agent.status.link is LinkState.CONNECTED)
        assert drive(agent, lambda: agent.outbox.depth() == 0)
        assert city.wait_for(lambda: set(ids) <= set(city.unique("test")))
        assert city.wait_for(lambda: any(s["type"] == "agent.online" for s in city.status))
    finally:
        agent.shutdown()
        city.stop()
    assert city.invalid == []
    return agent


def test_auto_falls_back_to_311_on_nats_and_delivers_everything(
    tmp_path: Path, nats: NatsMqttServer
) -> None:
    """NATS refuses MQTT 5; auto retries at once in 3.1.1, connects once, delivers every event."""
    agent = deliver_through(tmp_path, nats.url, nats.host, nats.port, protocol="auto")
    assert agent.settings.protocol == "3.1.1"
    assert agent.status.connects == 1
    assert agent.reconnect.strikes.attempts == 0  # the fallback is not held against the broker


def test_auto_switches_to_311_where_the_broker_closes_an_mqtt_5_connect_silently(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    """No CONNACK, just a closed socket (RabbitMQ 3.10): the next attempt is 3.1.1 and delivers."""
    proxy = SilentOnMqtt5(mosquitto)
    try:
        url = f"mqtt://127.0.0.1:{proxy.port}"
        agent = deliver_through(tmp_path, url, mosquitto.host, mosquitto.port, protocol="auto")
    finally:
        proxy.close()
    assert proxy.closed_mqtt5 >= 1
    assert agent.settings.protocol == "3.1.1"


def test_pinned_mqtt_5_is_refused_by_nats_with_a_clear_error(
    tmp_path: Path, nats: NatsMqttServer
) -> None:
    """protocol "5" never falls back: the agent reports the broker's refusal and stays on 5."""
    path = write_config(tmp_path / "kiosk", nats.url, mqtt={"protocol": "5"})
    agent = Agent(load_config(path, env={}), poll_s=0.01)
    try:
        assert drive(agent, lambda: agent.status.last_error is not None)
        assert agent.status.link is LinkState.DISCONNECTED
        assert "Unsupported protocol version" in (agent.status.last_error or "")
        assert agent.settings.protocol == "5"
        assert agent.reconnect.strikes.attempts == 1  # an answer of "no" is a strike
    finally:
        agent.shutdown()


def test_auto_keeps_mqtt_5_where_the_broker_speaks_it(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    """Against Mosquitto, auto stays on 5 (PUBACK reason codes and all)."""
    agent = deliver_through(
        tmp_path, mosquitto.url, mosquitto.host, mosquitto.port, protocol="auto"
    )
    assert agent.settings.protocol == "5"


def test_pinned_311_works_against_mosquitto(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    """protocol "3.1.1" connects in 3.1.1 from the first attempt and delivers."""
    agent = deliver_through(
        tmp_path, mosquitto.url, mosquitto.host, mosquitto.port, protocol="3.1.1"
    )
    assert agent.settings.protocol == "3.1.1"


def test_an_unknown_protocol_is_rejected_naming_the_choices(tmp_path: Path) -> None:
    """protocol: 4 (or any other value) is a config error listing auto, 5 and 3.1.1."""
    path = write_config(tmp_path / "kiosk", "mqtt://127.0.0.1:1", mqtt={"protocol": "4"})
    with pytest.raises(ConfigError, match=r"3\.1\.1"):
        load_config(path, env={})
