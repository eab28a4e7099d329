"""The agent against a real Mosquitto: delivery, broker restarts, SIGKILLs, presence, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import load_config
from edge_agent.agent import Agent
from edge_agent.outbox_config import open_outbox
from testbed.broker import MosquittoBroker
from tests.edge_agent.conftest import REPO, CitySubscriber, write_config

pytestmark = pytest.mark.broker

AGENT_ENV = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}


def run_cli(
    *args: str, env: dict[str, str] | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `python -m edge_agent ARGS`, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "edge_agent", *args],
        cwd=REPO,
        env=env or AGENT_ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def cli(*args: str, env: dict[str, str] | None = None) -> str:
    """Run `python -m edge_agent ARGS` and return stdout (a failure raises)."""
    return run_cli(*args, env=env, check=True).stdout


class AgentThread:
    """An in-process agent on its own thread."""

    def __init__(self, config_path: Path) -> None:
        self.agent = Agent(load_config(config_path, env={}))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.agent.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


@pytest.fixture
def agent_thread(tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[tuple[AgentThread, Path]]:
    """A running in-process agent with a fresh config; yields (agent, config path)."""
    path = write_config(tmp_path / "kiosk", mosquitto.url)
    runner = AgentThread(path)
    yield runner, path
    runner.close()


def test_emitted_events_reach_the_city_valid_and_once(
    agent_thread: tuple[AgentThread, Path], city: CitySubscriber
) -> None:
    """`emit` ids arrive on the events topic; birth is retained on the status topic; status CLI."""
    _, config = agent_thread
    ids = cli("emit", "--type", "test", "--count", "25", "--config", str(config)).split()
    assert len(ids) == 25
    assert city.wait_for(lambda: set(ids) <= set(city.unique("test")))
    assert city.wait_for(lambda: any(s["type"] == "agent.online" for s in city.status))
    received = [e for e in city.events if e["type"] == "test"]
    assert [e["id"] for e in received] == ids
    assert [e["seq"] for e in received] == sorted(e["seq"] for e in received)
    deadline = time.monotonic() + 10
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = json.loads(cli("status", "--config", str(config)))
        if status["link"] == "connected" and status["outbox_depth"] == 0:
            break
    assert status["agent_running"] is True
    assert status["link"] == "connected"
    assert status["outbox_depth"] == 0


def test_env_overrides_route_emit_and_watch(
    agent_thread: tuple[AgentThread, Path], mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """KIOSK_DATA_DIR points emit at the agent's outbox; watch prints each event once, valid."""
    runner, _ = agent_thread
    env = {**AGENT_ENV, "KIOSK_DATA_DIR": str(runner.agent.config.paths.data_dir)}
    other = write_config(tmp_path / "elsewhere", "mqtt://127.0.0.1:1")
    watcher = subprocess.Popen(
        [
            *(sys.executable, "-m", "edge_agent", "watch", "--config", str(other)),
            *("--broker", mosquitto.url, "--count", "4", "--timeout", "30"),
        ],
        cwd=REPO,
        env=AGENT_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # the retained birth arrives first once watch is subscribed: proof it is listening
    assert watcher.stdout is not None
    first = json.loads(watcher.stdout.readline())
    assert first["type"] == "agent.online"
    ids = cli("emit", "--count", "3", "--config", str(other), env=env).split()
    out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    printed = [json.loads(line) for line in out.splitlines()]
    assert [p["id"] for p in printed] == ids
    assert "invalid" not in err


def test_broker_restart_mid_stream_loses_nothing_and_keeps_order(tmp_path: Path) -> None:
    """Broker restarted while events flow: every event arrives, first arrivals in seq order."""
    store = tmp_path / "mosq-db"
    store.mkdir()
    broker = MosquittoBroker(
        workdir=tmp_path / "mosquitto",
        extra_conf=f"persistence true\npersistence_location {store}/\n",
    )
    broker.start()
    city = CitySubscriber(broker.host, broker.port, persistent=True)
    city.start()
    assert city.wait_for(city.client.is_connected, 10)
    path = write_config(tmp_path / "kiosk", broker.url)
    runner = AgentThread(path)
    writer_box = open_outbox(load_config(path, env={}))
    written: list[str] = []
    try:
        for i in range(150):
            written.append(writer_box.put("test", {"index": i})["id"])
        assert city.wait_for(lambda: len(city.unique("test")) >= 100)
        broker.stop()
        for i in range(150, 400):
            written.append(writer_box.put("test", {"index": i})["id"])
        broker.start()
        for i in range(400, 500):
            written.append(writer_box.put("test", {"index": i})["id"])
        assert city.wait_for(lambda: set(written) <= set(city.unique("test")), 60)
    finally:
        runner.close()
        writer_box.close()
        city.stop()
        broker.stop()
    first = list(city.unique("test").values())
    assert [e["id"] for e in first] == written
    assert [e["seq"] for e in first] == sorted(e["seq"] for e in first)
    assert city.invalid == []
    assert runner.agent.status.connects >= 2


def test_agent_sigkilled_repeatedly_loses_nothing(
    tmp_path: Path, mosquitto: MosquittoBroker, city: CitySubscriber
) -> None:
    """SIGKILL the agent five times while events flow: all arrive, duplicates are the same event."""
    # small batches and window: many PUBLISHes in flight when the kill lands
    path = write_config(
        tmp_path / "kiosk", mosquitto.url, agent={"batch_max_events": 3, "inflight_max": 2}
    )
    written: list[str] = []
    flowing = threading.Event()

    def produce() -> None:
        with open_outbox(load_config(path, env={})) as box:
            while not flowing.wait(0.002):  # a steady stream, not a burst
                written.append(box.put("test", {"index": len(written)})["id"])

    def start_agent() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "edge_agent", "run", "--config", str(path)],
            cwd=REPO,
            env=AGENT_ENV,
            stderr=subprocess.DEVNULL,
        )

    producer = threading.Thread(target=produce)
    producer.start()
    kills = 0
    agent = start_agent()
    try:
        while kills < 5:
            target = len(city.unique("test")) + 40
            assert city.wait_for(lambda t=target: len(city.unique("test")) >= t)
            agent.send_signal(signal.SIGKILL)
            agent.wait(timeout=10)
            kills += 1
            agent = start_agent()
        flowing.set()
        producer.join(timeout=60)
        assert city.wait_for(lambda: set(written) <= set(city.unique("test")), 60)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=10)
        flowing.set()
        producer.join(timeout=60)
    by_id: dict[str, dict[str, Any]] = {}
    for event in city.events:
        assert by_id.setdefault(event["id"], event) == event  # a duplicate is the same event
    assert set(by_id) >= set(written)
    # every stream (the agents' own heartbeats are numbered apart) has no gap
    for stream in {e["stream"] for e in by_id.values()}:
        seqs = sorted(e["seq"] for e in by_id.values() if e["stream"] == stream)
        assert seqs == list(range(1, len(seqs) + 1)), stream
    assert len(written) > 200
    assert any(
        s["type"] == "agent.offline" and s["data"]["reason"] == "connection_lost"
        for s in city.status
    )
    assert city.wait_for(
        lambda: (
            city.status[-1]["type"] == "agent.offline"
            and city.status[-1]["data"]["reason"] == "shutdown"
        )
    )
