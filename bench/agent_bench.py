"""Edge-agent figures: durable vs raw paho throughput, put() latency, drain, reconnect storm.

Everything runs against a Mosquitto started here on a free port. Run as
`python -m bench.agent_bench worker ...` it is one process of the reconnect-storm fleet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from bench.runner import Figure
from config import load_config
from edge_agent.agent import Agent, open_outbox
from tests.fixtures.broker import MosquittoBroker

REPO = Path(__file__).resolve().parents[1]
PAYLOAD_BYTES = 200
STORM_PROCESSES = 4
STORM_WINDOW_S = 0.1
BROKER_DOWN_S = 3.0


def _config_file(directory: Path, url: str, kiosk: str = "k1", **agent: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "version": 1,
        "identity": {"city": "440300", "centre": "bench", "kiosk": kiosk},
        "mqtt": {"broker_url": url},
        "agent": {"heartbeat_interval_s": 3600, **agent},
        "paths": {"data_dir": str(directory / "data")},
    }
    path = directory / "kiosk.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def raw_paho_rate(broker: MosquittoBroker, count: int) -> float:
    """Events/s for one-event-per-PUBLISH QoS 1 with paho, waiting for every PUBACK."""
    acked = threading.Semaphore(0)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw")
    client.on_publish = lambda *_args: acked.release()
    client.max_inflight_messages_set(20)
    client.connect(broker.host, broker.port)
    client.loop_start()
    payload = b"x" * PAYLOAD_BYTES
    start = time.perf_counter()
    for _ in range(count):
        client.publish("bench/raw", payload, qos=1)
    for _ in range(count):
        acked.acquire(timeout=60)
    elapsed = time.perf_counter() - start
    client.loop_stop()
    client.disconnect()
    return count / elapsed


def durable_rate(broker: MosquittoBroker, workdir: Path, count: int) -> tuple[float, float]:
    """(events/s end to end with group commits of 100 and the agent draining, put p99 ms)."""
    path = _config_file(workdir / "durable", broker.url)
    config = load_config(path, env={})
    agent = Agent(config, poll_s=0.005)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    with open_outbox(config) as box:
        latencies = []
        for i in range(1000):
            started = time.perf_counter()
            box.put("test", {"index": i})
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        p99_ms = latencies[int(len(latencies) * 0.99)] * 1000
        box.delete(r.rowid for r in box.peek(limit=2000))
        base = agent.publisher.delivered
        thread.start()
        start = time.perf_counter()
        for first in range(0, count, 100):
            box.put_many(("test", {"index": i}) for i in range(first, min(count, first + 100)))
        while agent.publisher.delivered - base < count and time.perf_counter() - start < 120:
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
    stop.set()
    thread.join(timeout=10)
    return count / elapsed, p99_ms


def drain(broker: MosquittoBroker, workdir: Path, count: int) -> tuple[float, float]:
    """(events/s draining a `count` backlog with the agent as its own process, peak RSS MB)."""
    path = _config_file(workdir / "drain", broker.url)
    config = load_config(path, env={})
    with open_outbox(config) as box:
        for first in range(0, count, 1000):
            box.put_many(("test", {"index": i}) for i in range(first, min(count, first + 1000)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "edge_agent", "run", "--config", str(path)],
        cwd=REPO,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    peak = 0
    watcher = psutil.Process(process.pid)
    first_delivery = None
    with open_outbox(config) as box:
        while box.depth() > 1 and time.perf_counter() - start < 600:  # 1: its own heartbeat
            if first_delivery is None and box.depth() < count:
                first_delivery = time.perf_counter()  # process start-up excluded
            peak = max(peak, watcher.memory_info().rss)
            time.sleep(0.01)
    elapsed = time.perf_counter() - (first_delivery or start)
    process.terminate()
    process.wait(timeout=10)
    return count / elapsed, peak / (1024 * 1024)


def storm_worker(url: str, workdir: str, first: int, count: int) -> None:
    """One fleet process: `count` agents; prints connect times (wall clock) on 'report'."""
    agents = []
    stop = threading.Event()
    for index in range(first, first + count):
        path = _config_file(Path(workdir) / f"a{index}", url, kiosk=f"k{index}")
        agent = Agent(load_config(path, env={}), poll_s=0.1)
        agents.append(agent)
        threading.Thread(target=agent.run, args=(stop,), daemon=True).start()
    offset = time.time() - time.monotonic()
    print("started", flush=True)
    for line in sys.stdin:
        if line.strip() == "report":
            times = [t + offset for a in agents for t in a.connect_times]
            print(json.dumps(times), flush=True)
        elif line.strip() == "quit":
            break
    stop.set()


def storm(broker: MosquittoBroker, workdir: Path, fleet: int) -> tuple[float, float]:
    """(peak connects per 100 ms after a broker restart as a fraction of the fleet, spread s)."""
    per = fleet // STORM_PROCESSES
    workers = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "bench.agent_bench", "worker"),
                *(broker.url, str(workdir / "storm"), str(i * per), str(per)),
            ],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(STORM_PROCESSES)
    ]

    def report() -> list[float]:
        times: list[float] = []
        for worker in workers:
            assert worker.stdin is not None
            assert worker.stdout is not None
            worker.stdin.write("report\n")
            worker.stdin.flush()
            times.extend(json.loads(worker.stdout.readline()))
        return times

    for worker in workers:
        assert worker.stdout is not None
        worker.stdout.readline()
    deadline = time.monotonic() + 60
    while len(report()) < per * STORM_PROCESSES and time.monotonic() < deadline:
        time.sleep(0.2)
    broker.stop()
    restarted = time.time()
    time.sleep(BROKER_DOWN_S)
    broker.start()
    deadline = time.monotonic() + 180
    after: list[float] = []
    while time.monotonic() < deadline:
        after = [t for t in report() if t > restarted]
        if len(after) >= per * STORM_PROCESSES:
            break
        time.sleep(0.5)
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("quit\n")
        worker.stdin.flush()
        worker.wait(timeout=30)
    if not after:
        return 1.0, 0.0
    after.sort()
    peak = max(sum(1 for t in after if start <= t < start + STORM_WINDOW_S) for start in after)
    return peak / (per * STORM_PROCESSES), after[-1] - after[0]


def run(quick: bool) -> list[Figure]:
    """All agent figures."""
    count = 3000 if quick else 20_000
    backlog = 10_000 if quick else 100_000
    fleet = 50 if quick else 200
    with tempfile.TemporaryDirectory(prefix="agent-bench-") as tmp:
        workdir = Path(tmp)
        broker = MosquittoBroker(workdir=workdir / "mosquitto", extra_conf="max_connections -1\n")
        broker.start()
        try:
            raw = raw_paho_rate(broker, count)
            durable, put_p99 = durable_rate(broker, workdir, count)
            drain_rate, rss = drain(broker, workdir, backlog)
            peak_share, spread = storm(broker, workdir, fleet)
        finally:
            broker.stop()
    return [
        Figure("agent.raw_paho_qos1.events_per_s", raw, "ev/s", "one event per PUBLISH"),
        Figure("agent.durable_vs_raw.ratio", drain_rate / raw, "x", "drain vs raw; goal >= 3"),
        Figure(
            "agent.end_to_end.events_per_s", durable, "ev/s", "put_many(100)+validate, one process"
        ),
        Figure("agent.put_durable.p99_ms", put_p99, "ms", "one put() = one FULL commit"),
        Figure(f"agent.drain_{backlog // 1000}k.events_per_s", drain_rate, "ev/s", "agent process"),
        Figure(f"agent.drain_{backlog // 1000}k.peak_rss_mb", rss, "MB", "agent process"),
        Figure(f"agent.storm_{fleet}.peak_share_per_100ms", peak_share, "", "goal <= 0.05"),
        Figure(f"agent.storm_{fleet}.spread_s", spread, "s", "first to last reconnect"),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "worker":
        storm_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
