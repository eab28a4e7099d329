"""Real ingest worker processes and a QoS 1 publisher, for the city's integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from testbed.broker import MosquittoBroker
from testbed.city_events import KioskSim, batch
from testbed.rabbitmq import RabbitNode

REPO = Path(__file__).resolve().parents[1]
MAX_UNACKED = 100  # PUBLISHes in flight per publisher: load, not an unbounded local queue


def write_city_config(
    path: Path, *, db_url: str, broker: MosquittoBroker, contract_dir: Path, **sections: Any
) -> Path:
    """A city config file for these fixtures; `sections` override/add top-level sections."""
    document: dict[str, Any] = {
        "database": {"url": db_url},
        "broker": {"url": broker.url, "session_expiry_s": 600, "keepalive_s": 10},
        "ingest": {"batch_max_events": 500, "batch_max_delay_ms": 20},
        "contract_dir": str(contract_dir),
        "alerts": {"sweep_interval_s": 0.5},
    }
    document.update(sections)
    path.write_text(yaml.safe_dump(document))
    return path


@dataclass
class WorkerProcess:
    """`python -m city ingest` (or another `command` that takes a stable id) in a process of
    its own; output in a log file."""

    config: Path
    log_path: Path
    worker_id: str | None = None
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)
    ready: str = "subscribed: "  # the log line that says it receives (AMQP: "consuming: ")
    command: str = "ingest"
    id_flag: str = "--worker-id"

    def start(self, timeout_s: float = 30.0) -> None:
        """Start and wait until the broker confirmed its subscriptions."""
        argv = [sys.executable, "-m", "city", self.command, "--config", str(self.config)]
        if self.worker_id is not None:
            argv += [self.id_flag, self.worker_id]
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env={**os.environ, **self.env},
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready in self.log_path.read_text(errors="replace")[offset:]:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"city {self.command} did not subscribe: {self.output[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no flush, no disconnect."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM and wait; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    @property
    def output(self) -> str:
        """Everything it printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Publisher:
    """A QoS 1 MQTT 5 publisher that waits for every PUBACK."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish and wait for the broker's PUBACK."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=10)
        assert info.is_published()

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class MqttKiosks:
    """Simulated kiosks publishing batches with QoS 1 over MQTT 3.1.1 to one node."""

    node: RabbitNode
    sims: list[KioskSim]
    sent: list[tuple[mqtt.MQTTMessageInfo, list[str]]] = field(default_factory=list)
    client: mqtt.Client | None = None

    def connect(self) -> None:
        """Connect (3.1.1, clean session) and start paho's network thread."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        client.max_inflight_messages_set(MAX_UNACKED)
        client.connect("127.0.0.1", self.node.mqtt_port, keepalive=30)
        client.loop_start()
        self.client = client

    def unacked(self) -> int:
        """PUBLISHes sent whose PUBACK has not come yet."""
        return sum(not info.is_published() for info, _ in self.sent[-2 * MAX_UNACKED :])

    def publish_round(self) -> None:
        """One batch of 10 events from every kiosk, waiting while too many are in flight."""
        assert self.client is not None
        for sim in self.sims:
            events = [sim.test_event() for _ in range(10)]
            info = self.client.publish(sim.topic(), batch(*events), qos=1)
            self.sent.append((info, [e["id"] for e in events]))
            while self.unacked() >= MAX_UNACKED:
                time.sleep(0.005)

    def acked_ids(self) -> set[str]:
        """Every event id whose PUBLISH the broker acknowledged."""
        return {i for info, ids in self.sent if info.is_published() for i in ids}

    def offered_ids(self) -> set[str]:
        """Every event id published."""
        return {i for _, ids in self.sent for i in ids}

    def close(self) -> None:
        """Disconnect."""
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()


def wait_for(db_url: str, sql: str, expected: Any, timeout_s: float = 60.0) -> Any:
    """Poll `sql` (one value) until it equals `expected`; the last value seen."""
    deadline = time.monotonic() + timeout_s
    value: Any = None
    while time.monotonic() < deadline:
        with psycopg.connect(db_url) as conn:
            row = conn.execute(sql).fetchone()
            value = row[0] if row else None
        if value == expected:
            return value
        time.sleep(0.1)
    return value
