"""Fleet section of `make bench`: many kiosks against one local Mosquitto.

Shape: fleet / PER_PROCESS processes each run a slice of the fleet as real `Agent` objects (own
outbox file, own client id and topic) stepped round-robin on one thread - the real outbox,
publisher, link and backoff code, without a thread per kiosk (1,000 threads would measure the
GIL, not the agents). Why 50 per process: paho's loop uses select(), which cannot watch a file
descriptor above 1023, and an agent holds ~11 (socket, paho's socketpair, SQLite db/WAL/shm,
status file...): at 250 per process only the first ~90 ever connected.

Each worker also plays its kiosks' UI processes, putting events into their outboxes in group
commits. A separate city process subscribes to `gov-kiosk/v1/#` (persistent session,
so a broker restart loses nothing) and counts unique event ids.

Baselines in the same run: raw paho clients (one event per PUBLISH, no outbox) in the same
worker processes, for throughput and for the reconnect storm (paho's own policy: a fixed 1 s
delay, no jitter). Run as `python -m bench.fleet_bench worker|raw|city ...` it is one of those
processes. (Over 600 lines because those four roles - controller, agent worker, raw baseline,
city - speak one line protocol and are launched as this one module; split it if it grows.)
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from bench.runner import Figure
from config import load_config
from edge_agent.agent import Agent
from testbed.broker import MosquittoBroker

REPO = Path(__file__).resolve().parents[1]
PREFIX = "gov-kiosk/v1"
PER_PROCESS = 50  # below select()'s FD_SETSIZE of 1024 with room to spare
FLEET, FLEET_QUICK = 1000, 200
RECONNECT_WINDOW_S = 10.0  # the shipped agent.reconnect_window_s, in both modes
STORM_WINDOW_S = 0.1
ROUND_MIN_S = 0.01  # a worker's round-robin pass never repeats faster than this
# Steady state: each kiosk puts BATCH events every BATCH / RATE seconds (one FULL commit).
STEADY_RATE_PER_KIOSK = 2.0
STEADY_BATCH = 10
RAW_INFLIGHT = 20
PAYLOAD_NOTE = "x" * 120  # events of ~400 bytes, as a session event with its envelope
SATURATION_FILL_PER_KIOSK = 300
STARTUP_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 240.0
EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
PORT_FLOOR = 20000


def broker_port() -> int:
    """A free port below the ephemeral range, for a broker that restarts under reconnecting clients.

    Why: thousands of connects while the broker is down draw local ports from the ephemeral
    range; one that draws the broker's own port connects to itself (TCP simultaneous open) and
    holds it, so the broker cannot listen again ("Address already in use", seen here).
    """
    try:
        low = int(Path(EPHEMERAL_RANGE).read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for port in random.Random().sample(range(PORT_FLOOR, max(PORT_FLOOR + 1, low)), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- worker: a slice of the fleet ----------------------------------------------------------


def _kiosk_config(workdir: Path, url: str, index: int, window_s: float) -> Path:
    directory = workdir / f"k{index:05d}"
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "version": 1,
        "identity": {"city": "440300", "centre": f"c{index // 50:03d}", "kiosk": f"k{index}"},
        "mqtt": {"broker_url": url, "topic_prefix": PREFIX, "keepalive_s": 30},
        "agent": {"heartbeat_interval_s": 60, "reconnect_window_s": window_s},
        "paths": {"data_dir": str(directory / "data")},
    }
    path = directory / "kiosk.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _commands() -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in sys.stdin:
            lines.put(line.strip())
        lines.put("quit")

    threading.Thread(target=read, daemon=True).start()
    return lines


def _reply(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


class _Slice:
    """One worker's kiosks: their agents, and the UI processes' writes into their outboxes."""

    def __init__(self, agents: list[Agent]) -> None:
        self.agents = agents
        self.rate = 0.0
        self.batch = STEADY_BATCH
        self.next_put = [0.0] * len(agents)
        self.put = 0
        self.marks = [0] * len(agents)
        self.held = False  # after "fill": no stepping until "go", so all workers start together
        self.offset = time.time() - time.monotonic()

    def step(self) -> None:
        """One round-robin pass over the agents, then the writes that are due."""
        if not self.held:
            for agent in self.agents:
                agent.step()
        if self.rate > 0:
            now = time.monotonic()
            period = self.batch / self.rate
            for n, agent in enumerate(self.agents):
                if self.next_put[n] == 0.0:  # spread the first writes over one period
                    self.next_put[n] = now + period * n / len(self.agents)
                elif now >= self.next_put[n]:
                    self._put(agent, self.batch)
                    self.next_put[n] = max(self.next_put[n] + period, now)

    def _put(self, agent: Agent, size: int) -> None:
        agent.outbox.put_many(
            ("test", {"index": self.put + k, "note": PAYLOAD_NOTE}) for k in range(size)
        )
        self.put += size

    def command(self, command: str) -> dict[str, Any]:
        """Apply one controller command; the reply."""
        verb, *args = command.split()
        if verb == "rate":
            self.rate, self.batch = float(args[0]), int(args[1])
            self.next_put = [0.0] * len(self.agents)
            return {"rate": self.rate}
        if verb == "fill":
            for agent in self.agents:
                self._put(agent, int(args[0]))
            self.held = True
            return {"filled": int(args[0]) * len(self.agents), **self.command("mark")}
        if verb == "go":
            self.held = False
            return {"go": True}
        if verb == "mark":
            self.marks = [a.outbox.max_rowid() for a in self.agents]
            return {"marked": True}
        return self.report()

    def report(self) -> dict[str, Any]:
        """Connected agents, connect times (wall clock), events put, depth, drained past mark."""
        drained = all(
            not (rows := a.outbox.peek(limit=1)) or rows[0].rowid > mark
            for a, mark in zip(self.agents, self.marks, strict=True)
        )
        return {
            "connected": sum(1 for a in self.agents if a.status.link == "connected"),
            "connects": [t + self.offset for a in self.agents for t in a.connect_times],
            "put": self.put,
            "depth": sum(a.outbox.depth() for a in self.agents),
            "drained": drained,
        }


def agent_worker(url: str, workdir: str, first: int, count: int, window_s: float) -> None:
    """Run `count` agents round-robin on this thread; obey stdin commands."""
    _raise_fd_limit()
    fleet = _Slice(
        [
            Agent(load_config(_kiosk_config(Path(workdir), url, i, window_s), env={}), poll_s=0)
            for i in range(first, first + count)
        ]
    )
    commands = _commands()
    _reply({"ready": count})
    while True:
        started = time.monotonic()
        fleet.step()
        with contextlib.suppress(queue.Empty):
            command = commands.get_nowait()
            if command == "quit":
                break
            _reply(fleet.command(command))
        spent = time.monotonic() - started
        if spent < ROUND_MIN_S:
            time.sleep(ROUND_MIN_S - spent)
    for agent in fleet.agents:
        agent.shutdown()


# --- raw paho clients: the baseline --------------------------------------------------------


class _RawClient:
    """One paho client publishing one event per PUBLISH; paho-style fixed reconnect delay."""

    def __init__(self, host: str, port: int, index: int) -> None:
        self.host, self.port = host, port
        self.topic = f"{PREFIX}/440300/raw/r{index}/events"
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"raw-{index}")
        self.client.max_inflight_messages_set(RAW_INFLIGHT)
        self.client.on_connect = lambda *_: self._connected()
        self.client.on_disconnect = lambda *_: self._lost()
        self.client.on_publish = lambda *_: self._acked()
        self.inflight = 0
        self.up = False
        self.connects: list[float] = []
        self.retry_at: float | None = time.monotonic()
        self.delay_s = 1.0

    def _connected(self) -> None:
        self.up = True
        self.inflight = 0
        self.delay_s = 1.0
        self.connects.append(time.time())

    def _lost(self) -> None:
        self.up = False
        self.retry_at = time.monotonic() + self.delay_s  # paho: min 1 s, doubling, no jitter
        self.delay_s = min(self.delay_s * 2, 120.0)

    def _acked(self) -> None:
        self.inflight -= 1

    def step(self, publish: bool) -> None:
        if self.retry_at is not None and time.monotonic() >= self.retry_at:
            self.retry_at = None
            try:
                self.client.connect(self.host, self.port, keepalive=30)
            except OSError:
                self._lost()
                return
        self.client.loop(timeout=0)
        while publish and self.up and self.inflight < RAW_INFLIGHT:
            event = {"id": str(uuid.uuid4()), "type": "test", "ts": _ts(), "note": PAYLOAD_NOTE}
            self.client.publish(self.topic, json.dumps({"events": [event]}), qos=1)
            self.inflight += 1


def _ts() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def raw_worker(host: str, port: int, first: int, count: int) -> None:
    """`count` raw paho clients on this thread; stdin: publish on|off, report, quit."""
    _raise_fd_limit()
    clients = [_RawClient(host, port, i) for i in range(first, first + count)]
    commands = _commands()
    publish = False
    _reply({"ready": count})
    while True:
        started = time.monotonic()
        for client in clients:
            client.step(publish)
        try:
            command = commands.get_nowait()
        except queue.Empty:
            command = ""
        if command == "quit":
            break
        if command in ("publish on", "publish off"):
            publish = command == "publish on"
            _reply({"publish": publish})
        elif command == "report":
            _reply(
                {
                    "connected": sum(c.up for c in clients),
                    "connects": [t for c in clients for t in c.connects],
                }
            )
        spent = time.monotonic() - started
        if spent < ROUND_MIN_S:
            time.sleep(ROUND_MIN_S - spent)


# --- the city ------------------------------------------------------------------------------


def city_worker(host: str, port: int) -> None:
    """Count unique event ids on PREFIX/#; stdin: report, mark (reset latencies), quit."""
    lock = threading.Lock()
    seen: set[str] = set()
    latencies_ms: list[float] = []
    state = {"arrivals": 0}

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if not message.topic.endswith("/events"):
            return
        now_ms = time.time() * 1000
        events = json.loads(message.payload)["events"]
        with lock:
            for event in events:
                state["arrivals"] += 1
                if event["id"] not in seen:
                    seen.add(event["id"])
                    latencies_ms.append(now_ms - _epoch_ms(event["ts"]))

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="city-ingest", clean_session=False)
    client.on_connect = lambda c, *_: c.subscribe(f"{PREFIX}/#", qos=1)
    client.on_message = on_message
    client.reconnect_delay_set(1, 1)
    client.connect(host, port, keepalive=10)
    client.loop_start()
    _reply({"ready": 1})
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        with lock:
            if command == "mark":
                latencies_ms.clear()
                _reply({"marked": True})
            elif command == "report":
                ordered = sorted(latencies_ms)
                _reply(
                    {
                        "unique": len(seen),
                        "arrivals": state["arrivals"],
                        "p50_ms": ordered[len(ordered) // 2] if ordered else None,
                        "p99_ms": ordered[int(len(ordered) * 0.99)] if ordered else None,
                    }
                )
    client.loop_stop()
    client.disconnect()


def _epoch_ms(ts: str) -> float:
    whole, _, rest = ts.partition(".")
    seconds = time.mktime(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return seconds * 1000 + float(rest.rstrip("Z") or 0)


# --- the controller ------------------------------------------------------------------------


class Child:
    """A line-protocol child process: send a command, read one JSON reply."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.fleet_bench", *args],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.read()

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("a fleet bench child process died")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _ask_all(children: list[Child], command: str) -> list[dict[str, Any]]:
    return [child.ask(command) for child in children]


def _wait_connected(children: list[Child], fleet: int, timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if sum(r["connected"] for r in _ask_all(children, "report")) >= fleet:
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError("the fleet did not connect")


def _city_rate(city: Child, seconds: float) -> tuple[float, dict[str, Any]]:
    before = city.ask("report")
    started = time.monotonic()
    time.sleep(seconds)
    after = city.ask("report")
    return (after["unique"] - before["unique"]) / (time.monotonic() - started), after


def _peak_share(times: list[float], fleet: int) -> tuple[float, float]:
    """(peak connects in any STORM_WINDOW_S as a share of the fleet, first-to-last spread s)."""
    if not times:
        return 0.0, 0.0
    times.sort()
    peak, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + STORM_WINDOW_S:
            j += 1
        peak = max(peak, j - i)
    return peak / fleet, times[-1] - times[0]


def _wait_drained(workers: list[Child], timeout_s: float) -> float | None:
    """Seconds until every kiosk's rows up to its mark are acknowledged (None: timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if all(r["drained"] for r in _ask_all(workers, "report")):
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def _wait_city(city: Child, unique: int, timeout_s: float, since: float) -> float | None:
    """Seconds from `since` until the city has `unique` distinct ids (None: timeout)."""
    while time.monotonic() - since < timeout_s:
        if city.ask("report")["unique"] >= unique:
            return time.monotonic() - since
        time.sleep(0.05)
    return None


def _raw_clients(broker: MosquittoBroker, fleet: int) -> list[Child]:
    per = min(PER_PROCESS, fleet)
    return [
        Child("raw", broker.host, str(broker.port), str(w * per), str(per))
        for w in range(fleet // per)
    ]


def _raw_storm(
    broker: MosquittoBroker, raws: list[Child], fleet: int, down_s: float
) -> dict[str, float]:
    """Broker down `down_s` under connected raw clients: peak share, spread, all back s."""
    broker.stop()
    stopped = time.time()
    time.sleep(down_s)
    broker.start()
    returned = time.time()
    _wait_connected(raws, fleet, STARTUP_TIMEOUT_S)
    times = [t for r in _ask_all(raws, "report") for t in r["connects"] if t > stopped]
    peak, spread = _peak_share(times, fleet)
    return {"peak": peak, "spread": spread, "all_back": max(times) - returned if times else 0.0}


def raw_storm(broker: MosquittoBroker, fleet: int, down_s: float) -> dict[str, float]:
    """Baseline storm: `fleet` raw paho clients (1 s doubling, no jitter), broker down `down_s`."""
    raws = _raw_clients(broker, fleet)
    try:
        _wait_connected(raws, fleet, STARTUP_TIMEOUT_S)
        return _raw_storm(broker, raws, fleet, down_s)
    finally:
        for raw in raws:
            raw.close()


def _raw_phase(
    broker: MosquittoBroker, fleet: int, seconds: float, city: Child, down_s: float
) -> dict[str, float]:
    raws = _raw_clients(broker, fleet)
    try:
        _wait_connected(raws, fleet, STARTUP_TIMEOUT_S)
        _ask_all(raws, "publish on")
        rate, _ = _city_rate(city, seconds)
        _ask_all(raws, "publish off")
        time.sleep(1.0)
        storm = _raw_storm(broker, raws, fleet, down_s)
    finally:
        for raw in raws:
            raw.close()
    return {"rate": rate, **storm}


def _steady(workers: list[Child], city: Child, seconds: float) -> dict[str, Any]:
    """City events/s and latency at the fixed offered load (after a short warm-up)."""
    _ask_all(workers, f"rate {STEADY_RATE_PER_KIOSK} {STEADY_BATCH}")
    time.sleep(min(5.0, seconds / 2))
    city.ask("mark")
    rate, report = _city_rate(city, seconds)
    return {"rate": rate, "p50": report["p50_ms"], "p99": report["p99_ms"]}


def _saturated(workers: list[Child], city: Child, fill: int) -> dict[str, Any]:
    """`fill` events queued in every outbox at once, all connected: until the city has all."""
    _ask_all(workers, "rate 0 1")
    before = city.ask("report")["unique"]
    filled = sum(r["filled"] for r in _ask_all(workers, f"fill {fill}"))
    since = time.monotonic()
    _ask_all(workers, "go")
    acked_s = _wait_drained(workers, DRAIN_TIMEOUT_S)
    received_s = _wait_city(city, before + filled, DRAIN_TIMEOUT_S, since)
    rate = filled / received_s if received_s else 0.0
    return {"filled": filled, "acked_s": acked_s, "received_s": received_s, "rate": rate}


def _outage(
    broker: MosquittoBroker, workers: list[Child], city: Child, seconds: float, fleet: int
) -> dict[str, Any]:
    """Broker down `seconds` while kiosks keep putting; then the storm and the drain."""
    _ask_all(workers, f"rate {STEADY_RATE_PER_KIOSK} {STEADY_BATCH}")
    broker.stop()
    stopped = time.time()
    time.sleep(seconds)
    backlog = sum(r["depth"] for r in _ask_all(workers, "report"))
    _ask_all(workers, "mark")
    before = city.ask("report")["unique"]
    broker.start()
    returned = time.time()
    drained_s = _wait_drained(workers, DRAIN_TIMEOUT_S)
    after = city.ask("report")["unique"]
    times = [t for r in _ask_all(workers, "report") for t in r["connects"] if t > stopped]
    peak, spread = _peak_share(times, fleet)
    _ask_all(workers, "rate 0 1")
    return {
        "backlog": backlog,
        "drained_s": drained_s,
        "rate": (after - before) / drained_s if drained_s else 0.0,
        "peak": peak,
        "spread": spread,
        "all_back": max(times) - returned if times else None,
    }


def run(quick: bool) -> list[Figure]:
    """All fleet figures."""
    _raise_fd_limit()
    fleet = FLEET_QUICK if quick else FLEET
    per = PER_PROCESS
    processes = fleet // per
    steady_s, raw_s, outage_s = (8.0, 6.0, 3.0) if quick else (30.0, 15.0, 10.0)
    fill = SATURATION_FILL_PER_KIOSK
    window_s = RECONNECT_WINDOW_S
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "store").mkdir()
        broker = MosquittoBroker(
            workdir=workdir / "mosquitto",
            port=broker_port(),
            extra_conf=(
                f"persistence true\npersistence_location {workdir / 'store'}/\n"
                "autosave_interval 3600\nmax_connections -1\n"
            ),
        )
        broker.start()
        city = Child("city", broker.host, str(broker.port))
        workers: list[Child] = []
        try:
            raw = _raw_phase(broker, fleet, raw_s, city, outage_s)
            started = time.monotonic()
            workers = [
                Child("worker", broker.url, str(workdir / "fleet"), *map(str, (w * per, per)),
                      str(window_s))
                for w in range(processes)
            ]  # fmt: skip
            built_s = time.monotonic() - started
            connect_s = _wait_connected(workers, fleet, STARTUP_TIMEOUT_S)
            steady = _steady(workers, city, steady_s)
            sat = _saturated(workers, city, fill)
            out = _outage(broker, workers, city, outage_s, fleet)
        finally:
            for child in [*workers, city]:
                child.close()
            broker.stop()
    offered = STEADY_RATE_PER_KIOSK * fleet
    n = fleet
    return [
        Figure("fleet.kiosks", n, "", f"{processes} processes x {per} agents, one thread each"),
        Figure(
            "fleet.start.build_s", built_s, "s", "config + outbox + agent objects, all processes"
        ),
        Figure(
            "fleet.start.all_connected_s", connect_s, "s", "cold start, no jitter on first connect"
        ),
        Figure(
            "fleet.raw_paho.events_per_s",
            raw["rate"],
            "ev/s",
            "baseline: same fleet as raw paho, 1 event/PUBLISH",
        ),
        Figure(
            "fleet.steady.offered_events_per_s",
            offered,
            "ev/s",
            f"{STEADY_RATE_PER_KIOSK}/s per kiosk, put_many({STEADY_BATCH})",
        ),
        Figure("fleet.steady.events_per_s", steady["rate"], "ev/s", "unique ids the city received"),
        Figure(
            "fleet.steady.delivered_vs_offered", steady["rate"] / offered, "x", "1.0 = keeping up"
        ),
        Figure("fleet.steady.latency_p50_ms", steady["p50"], "ms", "event ts -> city"),
        Figure("fleet.steady.latency_p99_ms", steady["p99"], "ms", "event ts -> city"),
        Figure(
            "fleet.saturated.events_per_s",
            sat["rate"],
            "ev/s",
            f"{fill} queued per kiosk, all connected; city received all",
        ),
        Figure(
            "fleet.saturated.all_acked_s",
            sat["acked_s"],
            "s",
            f"{sat['filled']} events: every outbox emptied (PUBACKs)",
        ),
        Figure(
            "fleet.saturated.all_received_s",
            sat["received_s"],
            "s",
            "the city had every one of them",
        ),
        Figure(
            "fleet.saturated_vs_raw.ratio",
            sat["rate"] / raw["rate"] if raw["rate"] else None,
            "x",
            "agents packing batches vs raw paho",
        ),
        Figure("fleet.outage.backlog_events", out["backlog"], "", f"broker down {outage_s:.0f} s"),
        Figure(
            "fleet.drain.all_drained_s",
            out["drained_s"],
            "s",
            "broker start -> every pre-restart event PUBACKed",
        ),
        Figure(
            "fleet.drain.events_per_s",
            out["rate"],
            "ev/s",
            "city unique ids / drain time (bounded by the reconnect spread)",
        ),
        Figure(
            "fleet.storm.peak_share_per_100ms",
            out["peak"],
            "",
            f"goal <= 0.05; reconnect window {window_s:.0f} s",
        ),
        Figure("fleet.storm.spread_s", out["spread"], "s", "first to last reconnect"),
        Figure(
            "fleet.storm.all_back_s",
            out["all_back"],
            "s",
            f"broker back -> last kiosk reconnected; goal <= 15 (down {outage_s:.0f} s)",
        ),
        Figure(
            "fleet.storm_raw_paho.peak_share_per_100ms",
            raw["peak"],
            "",
            f"baseline: 1 s doubling, no jitter, down {outage_s:.0f} s",
        ),
        Figure("fleet.storm_raw_paho.spread_s", raw["spread"], "s", "baseline"),
        Figure("fleet.storm_raw_paho.all_back_s", raw["all_back"], "s", "baseline"),
    ]


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "worker" and len(sys.argv) == 7:
        agent_worker(
            sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
        )
    elif mode == "raw" and len(sys.argv) == 6:
        raw_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "city" and len(sys.argv) == 4:
        city_worker(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: python -m bench.fleet_bench worker|raw|city ...")
