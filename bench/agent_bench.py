"""Edge-agent figures: durable vs raw paho throughput, put() latency, drain, reconnect storm.

Everything runs against a Mosquitto started here on a free port. The headline ratio is end to
end: a writer process (the kiosk) puts events durably, the agent process publishes them, and
the clock stops when the broker has acknowledged the last one. Run as
`python -m bench.agent_bench worker ...` it is one process of the reconnect-storm fleet, as
`python -m bench.agent_bench writer CONFIG COUNT` the writer.
"""

from __future__ import annotations

import json
import os
import statistics
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

from bench import fleet_bench
from bench.runner import Figure
from bench.validation_bench import figures as validation_figures
from chaos.proxy import Proxy
from common.kiosk_agent import STATUS_FILE
from config import load_config
from edge_agent.agent import Agent
from edge_agent.outbox_config import open_outbox
from testbed.broker import MosquittoBroker

REPO = Path(__file__).resolve().parents[1]
PAYLOAD_BYTES = 200
STORM_PROCESSES = 4
STORM_FLEET = 200
STORM_WINDOW_S = 0.1
BROKER_DOWN_S = 3.0
ROUNDS = 3  # raw and end-to-end runs, alternating
THROUGHPUT_EVENTS = 50_000
# A kiosk on 4G: 200 ms round trip (a delaying proxy on loopback), 10k events waiting.
WAN_RTT_S = 0.2
WAN_BACKLOG = 10_000
WAN_RAW_EVENTS = 400  # raw paho manages ~100/s over this link: a few seconds is enough
WAN_WINDOW_BOUND = 20 * 100 / WAN_RTT_S  # default inflight_max x batch_max_events / RTT
WRITER_BATCH = 100  # events per put_many() (one FULL commit) in the throughput runs


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


def raw_paho_rate(broker: MosquittoBroker | Proxy, count: int) -> float:
    """Events/s for one-event-per-PUBLISH QoS 1 with paho, waiting for every PUBACK."""
    acked = threading.Semaphore(0)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw")
    client.on_publish = lambda *_args: acked.release()
    client.max_inflight_messages_set(20)
    client.connect("127.0.0.1", broker.port)
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


def _start_agent(path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    return subprocess.Popen(
        [sys.executable, "-m", "edge_agent", "run", "--config", str(path)],
        cwd=REPO,
        env=env,
        stderr=subprocess.DEVNULL,
    )


def _wait_idle_connected(config: Any, box: Any, timeout_s: float = 30.0) -> None:
    """Until the agent process reports itself connected and its first heartbeat is sent."""
    deadline = time.monotonic() + timeout_s
    status_path = config.paths.data_dir / STATUS_FILE
    while time.monotonic() < deadline:
        try:
            link = json.loads(status_path.read_text(encoding="utf-8")).get("link")
        except (OSError, ValueError):
            link = None
        if link == "connected" and box.depth() == 0:
            return
        time.sleep(0.05)
    raise RuntimeError("the agent process did not connect")


def writer_worker(config_path: str, count: int) -> None:
    """The kiosk side of end_to_end: waits for 'go', then put_many(WRITER_BATCH) until `count`."""
    config = load_config(Path(config_path), env={})
    with open_outbox(config) as box:
        print("ready", flush=True)
        sys.stdin.readline()
        start = time.perf_counter()
        for first in range(0, count, WRITER_BATCH):
            last = min(count, first + WRITER_BATCH)
            box.put_many(("test", {"index": i}) for i in range(first, last))
        print(f"done {time.perf_counter() - start}", flush=True)


def end_to_end(broker: MosquittoBroker, workdir: Path, count: int) -> tuple[float, float]:
    """(events/s from a writer's first put_many to the last PUBACK, the writer's own events/s).

    The deployed shape: the kiosk process writes (group commits of WRITER_BATCH events, FULL
    durability), `python -m edge_agent run` with default settings publishes. Rows leave the
    outbox only after their PUBACK and `test` events are never shed, so an empty outbox after
    the writer has finished means every event was acknowledged by the broker.
    """
    path = _config_file(workdir / "e2e", broker.url)
    config = load_config(path, env={})
    agent = _start_agent(path)
    writer = subprocess.Popen(
        [sys.executable, "-m", "bench.agent_bench", "writer", str(path), str(count)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdin is not None
    assert writer.stdout is not None
    try:
        with open_outbox(config) as box:
            _wait_idle_connected(config, box)
            writer.stdout.readline()  # ready
            writer.stdin.write("go\n")
            writer.stdin.flush()
            start = time.perf_counter()
            while time.perf_counter() - start < 300:
                if writer.poll() is not None and box.depth() == 0:
                    break
                time.sleep(0.002)
            elapsed = time.perf_counter() - start
            writer_s = float(writer.stdout.readline().split()[1])
            if writer.returncode != 0 or box.depth() != 0:
                raise RuntimeError("end-to-end run did not complete")
    finally:
        writer.kill()
        agent.terminate()
        agent.wait(timeout=10)
    return count / elapsed, count / writer_s


def in_process(broker: MosquittoBroker, workdir: Path, count: int) -> float:
    """Events/s with the writer and the agent as two threads of one process (one GIL)."""
    path = _config_file(workdir / "one", broker.url)
    config = load_config(path, env={})
    agent = Agent(config, poll_s=0.005)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    with open_outbox(config) as box:
        thread.start()
        _wait_idle_connected(config, box)
        start = time.perf_counter()
        for first in range(0, count, WRITER_BATCH):
            last = min(count, first + WRITER_BATCH)
            box.put_many(("test", {"index": i}) for i in range(first, last))
        while box.depth() > 0 and time.perf_counter() - start < 120:
            time.sleep(0.002)
        elapsed = time.perf_counter() - start
    stop.set()
    thread.join(timeout=10)
    return count / elapsed


def put_latency(workdir: Path, count: int = 1000) -> float:
    """p99 ms of one put(): one event, one FULL commit, no agent running."""
    path = _config_file(workdir / "latency", "mqtt://127.0.0.1:1")
    with open_outbox(load_config(path, env={})) as box:
        latencies = []
        for i in range(count):
            started = time.perf_counter()
            box.put("test", {"index": i})
            latencies.append(time.perf_counter() - started)
    latencies.sort()
    return latencies[int(len(latencies) * 0.99)] * 1000


def drain(
    broker: MosquittoBroker | Proxy, workdir: Path, count: int, name: str = "drain"
) -> tuple[float, float]:
    """(events/s draining a `count` backlog with the agent as its own process, peak RSS MB)."""
    path = _config_file(workdir / name, broker.url)
    config = load_config(path, env={})
    with open_outbox(config) as box:
        for first in range(0, count, 1000):
            box.put_many(("test", {"index": i}) for i in range(first, min(count, first + 1000)))
    start = time.perf_counter()
    process = _start_agent(path)
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


def wan_drain(broker: MosquittoBroker, workdir: Path) -> dict[str, float]:
    """Backlog drain and raw paho, both through one proxy adding WAN_RTT_S of round trip."""
    proxy = Proxy(broker.host, broker.port, delay_s=WAN_RTT_S / 2)
    proxy.start()
    try:
        raw = raw_paho_rate(proxy, WAN_RAW_EVENTS)
        agent, _rss = drain(proxy, workdir, WAN_BACKLOG, name="drain-wan")
    finally:
        proxy.stop()
    return {"agent": agent, "raw": raw}


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


def storm(broker: MosquittoBroker, workdir: Path, fleet: int) -> tuple[float, float, float]:
    """(peak connects per 100 ms after a broker restart as a fleet share, spread s, all back s).

    All back: from the broker's return to the last kiosk's CONNACK.
    """
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
    returned = time.time()
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
        return 1.0, 0.0, float("inf")
    after.sort()
    peak = max(sum(1 for t in after if start <= t < start + STORM_WINDOW_S) for start in after)
    return peak / (per * STORM_PROCESSES), after[-1] - after[0], after[-1] - returned


def _spread(values: list[float]) -> str:
    return "/".join(f"{v / 1000:.1f}k" for v in values)


def _ratios(durables: list[float], raws: list[float]) -> str:
    return "/".join(f"{d / r:.2f}" for d, r in zip(durables, raws, strict=True))


def run(quick: bool) -> list[Figure]:
    """All agent figures."""
    # Not fewer in quick mode. Throughput: the agent notices new rows within its 20 ms poll,
    # which at 10k events was a fifth of the run. Storm: with 50 agents one connect is 2%.
    count = THROUGHPUT_EVENTS
    backlog = 10_000 if quick else 100_000
    fleet = STORM_FLEET
    with tempfile.TemporaryDirectory(prefix="agent-bench-") as tmp:
        workdir = Path(tmp)
        broker = MosquittoBroker(
            workdir=workdir / "mosquitto",
            port=fleet_bench.broker_port(),
            extra_conf="max_connections -1\n",
        )
        broker.start()
        try:
            # Interleaved rounds, medians: the machine is shared and both sides drift with it.
            raws, durables, writers = [], [], []
            for round_index in range(ROUNDS):
                raws.append(raw_paho_rate(broker, count))
                rates = end_to_end(broker, workdir / f"round{round_index}", count)
                durables.append(rates[0])
                writers.append(rates[1])
            raw = statistics.median(raws)
            durable = statistics.median(durables)
            writer_rate = statistics.median(writers)
            one_process = in_process(broker, workdir, count)
            put_p99 = put_latency(workdir)
            drain_rate, rss = drain(broker, workdir, backlog)
            wan = wan_drain(broker, workdir)
            peak_share, spread, all_back = storm(broker, workdir, fleet)
            raw_storm = fleet_bench.raw_storm(broker, fleet, BROKER_DOWN_S)
        finally:
            broker.stop()
    return [
        Figure(
            "agent.raw_paho_qos1.events_per_s",
            raw,
            "ev/s",
            f"one event per PUBLISH; median of {ROUNDS}: {_spread(raws)}",
        ),
        Figure(
            "agent.durable_vs_raw.ratio",
            durable / raw,
            "x",
            f"end to end vs raw, medians; goal >= 3; per round {_ratios(durables, raws)}",
        ),
        Figure(
            "agent.end_to_end.events_per_s",
            durable,
            "ev/s",
            f"writer put_many({WRITER_BATCH}) FULL -> agent -> PUBACK; {_spread(durables)}",
        ),
        Figure(
            "agent.end_to_end.writer_events_per_s",
            writer_rate,
            "ev/s",
            "the writer process alone, during that run",
        ),
        Figure(
            "agent.end_to_end_one_process.events_per_s",
            one_process,
            "ev/s",
            "writer and agent threads sharing one GIL",
        ),
        Figure("agent.drain_vs_raw.ratio", drain_rate / raw, "x", "backlog drain vs raw"),
        Figure("agent.put_durable.p99_ms", put_p99, "ms", "one put() = one FULL commit"),
        Figure(f"agent.drain_{backlog // 1000}k.events_per_s", drain_rate, "ev/s", "agent process"),
        Figure(f"agent.drain_{backlog // 1000}k.peak_rss_mb", rss, "MB", "agent process"),
        Figure(
            "agent.drain_rtt200.events_per_s",
            wan["agent"],
            "ev/s",
            f"{WAN_BACKLOG} backlog over a {WAN_RTT_S * 1000:.0f} ms RTT proxy; goal >= 5,000",
        ),
        Figure(
            "agent.drain_rtt200.raw_paho_events_per_s",
            wan["raw"],
            "ev/s",
            "baseline: raw paho over the same proxy, 20 in flight, 1 event/PUBLISH",
        ),
        Figure(
            "agent.drain_rtt200.vs_window_bound",
            wan["agent"] / WAN_WINDOW_BOUND,
            "x",
            f"vs in-flight x batch / RTT = {WAN_WINDOW_BOUND:,.0f} ev/s",
        ),
        Figure(f"agent.storm_{fleet}.peak_share_per_100ms", peak_share, "", "goal <= 0.05"),
        Figure(f"agent.storm_{fleet}.spread_s", spread, "s", "first to last reconnect"),
        *validation_figures(quick),
        Figure(
            f"agent.storm_{fleet}.all_back_s",
            all_back,
            "s",
            f"broker back -> last kiosk reconnected; goal <= 15 (down {BROKER_DOWN_S:.0f} s)",
        ),
        Figure(
            f"agent.storm_{fleet}_raw_paho.peak_share_per_100ms",
            raw_storm["peak"],
            "",
            "baseline: same fleet as raw paho clients, 1 s doubling, no jitter",
        ),
        Figure(f"agent.storm_{fleet}_raw_paho.all_back_s", raw_storm["all_back"], "s", "baseline"),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "worker":
        storm_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) == 4 and sys.argv[1] == "writer":
        writer_worker(sys.argv[2], int(sys.argv[3]))
