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

REPO = Path(__file__).resolve().parents[2]


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
    """`python -m city ingest` in a process of its own; output in a log file."""

    config: Path
    log_path: Path
    worker_id: str | None = None
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self, timeout_s: float = 30.0) -> None:
        """Start and wait until the broker confirmed its subscriptions."""
        argv = [sys.executable, "-m", "city", "ingest", "--config", str(self.config)]
        if self.worker_id is not None:
            argv += ["--worker-id", self.worker_id]
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
            if "subscribed: " in self.log_path.read_text(errors="replace")[offset:]:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"worker did not connect: {self.log_path.read_text()[-3000:]}")

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
        return self.log_path.read_text(errors="replace")


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
