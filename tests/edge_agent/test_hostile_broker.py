"""Hostile bytes published *retained* on a real Mosquitto: the agent process survives, twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.contract import Identity, topics_for
from tests.edge_agent.conftest import PREFIX, REPO, CitySubscriber, write_config
from tests.edge_agent.test_agent_broker import AGENT_ENV
from tests.edge_agent.test_hostile_commands import BIG_INT_ID, DEEP, SURROGATES
from tests.fixtures.broker import MosquittoBroker

pytestmark = pytest.mark.broker

COMMANDS = topics_for(PREFIX, Identity("440300", "c1", "k1")).commands
# The three that killed the agent on every restart (issue 10 item 1); the rest are unit-tested.
RETAINED = {"big_int_id": BIG_INT_ID, "deep_nesting": DEEP, "lone_surrogates": SURROGATES}


class AgentProcess:
    """`python -m edge_agent run` as its own process, stderr kept in a file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edge_agent", "run", "--config", str(config)],
            cwd=REPO,
            env=AGENT_ENV,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def alive(self) -> bool:
        """True while the process has not exited."""
        return self.process.poll() is None

    def stop(self) -> int:
        """SIGTERM, wait, and return the exit status."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=20)
        self.log.close()
        return status


def publish_retained(broker: MosquittoBroker, payload: bytes) -> None:
    """Publish `payload` retained at QoS 1 on the kiosk's commands topic and wait for PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"attacker-{uuid.uuid4().hex[:8]}")
    client.connect(broker.host, broker.port, keepalive=10)
    client.loop_start()
    try:
        client.publish(COMMANDS, payload, qos=1, retain=True).wait_for_publish(timeout=10)
    finally:
        client.loop_stop()
        client.disconnect()


def more_results_than(city: CitySubscriber, count: int) -> Callable[[], bool]:
    """A wait_for predicate: more than `count` distinct command.result events have arrived."""
    return lambda: len(city.unique("command.result")) > count


@pytest.fixture
def config_path(tmp_path: Path, mosquitto: MosquittoBroker) -> Path:
    """A kiosk config for the test broker."""
    return write_config(tmp_path / "kiosk", mosquitto.url)


def test_retained_hostile_commands_never_stop_the_agent_nor_its_restart(
    mosquitto: MosquittoBroker, city: CitySubscriber, config_path: Path, tmp_path: Path
) -> None:
    """Each retained payload gets a rejected command.result, before and after an agent restart."""
    log = tmp_path / "agent.log"
    for name, payload in RETAINED.items():
        publish_retained(mosquitto, payload)
        for run in ("first", "restarted"):
            seen = set(city.unique("command.result"))
            agent = AgentProcess(config_path, log)
            try:
                arrived = city.wait_for(more_results_than(city, len(seen)))
                assert arrived, f"{name} ({run}): no command.result; log: {log.read_text()[-2000:]}"
                assert agent.alive(), f"{name} ({run}) stopped the agent: {log.read_text()[-2000:]}"
            finally:
                status = agent.stop()
            assert status == 0, f"{name} ({run}): exit {status}: {log.read_text()[-2000:]}"
            new = [e for i, e in city.unique("command.result").items() if i not in seen]
            assert [e["data"]["status"] for e in new] == ["rejected"]
            assert new[0]["data"]["reason"] in {"malformed", "bad_signature"}
            assert new[0]["data"]["command_id"] is None
    assert "Traceback" not in log.read_text()
    # The city subscriber listens to the whole prefix: the attacker's bytes are not its findings.
    city.invalid[:] = [problem for problem in city.invalid if not problem.startswith(COMMANDS)]
