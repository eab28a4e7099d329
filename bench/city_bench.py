"""City figures: sustained ingest beside a one-INSERT-per-event baseline, lag at 5,000 ev/s,
fleet upkeep and the fleet query for 10,000 kiosks.

Everything runs here: a Mosquitto on a free port, a private PostgreSQL (fsync on), real
`python -m city ingest` worker processes, and this process as the load generator (payloads
built before the clock starts). Timing is end to end: from the first PUBLISH to the last row
committed (polled with count(*)).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from bench.runner import Figure
from city.config import DEFAULT_CONTRACT_DIR
from city.db import migrate
from city.fleet_view import fleet_document, fleet_rows
from testbed.broker import MosquittoBroker
from testbed.city_events import KioskSim, ts
from testbed.city_workers import WorkerProcess, write_city_config
from testbed.postgres import PostgresServer

EVENTS_PER_MESSAGE = 100
WORKERS = 2
POLL_S = 0.05


@dataclass
class Rig:
    """Broker, database, workers."""

    broker: MosquittoBroker
    server: PostgresServer
    db_url: str
    workers: list[WorkerProcess]


@contextmanager
def rig(workdir: Path, database: str, workers: int = WORKERS) -> Iterator[Rig]:
    """Start everything; stop everything."""
    broker = MosquittoBroker(workdir=workdir / "mosquitto")
    broker.start()
    server = PostgresServer()
    procs: list[WorkerProcess] = []
    try:
        server.start()
        db_url = server.create_database(database)
        migrate(db_url)
        contract = DEFAULT_CONTRACT_DIR
        config = write_city_config(
            workdir / "city.yaml",
            db_url=db_url,
            broker=broker,
            contract_dir=contract,
            ingest={"batch_max_events": 5000, "batch_max_delay_ms": 50, "receive_maximum": 200},
            alerts={"sweep_interval_s": 3600},
        )
        for index in range(workers):
            worker = WorkerProcess(config, workdir / f"w{index}.log", worker_id=f"b{index}")
            worker.start()
            procs.append(worker)
        yield Rig(broker, server, db_url, procs)
    finally:
        for worker in procs:
            worker.stop()
        server.remove()
        broker.stop()


def _publisher(broker: MosquittoBroker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _count(db_url: str, sql: str = "SELECT count(*) FROM events") -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _wait_count(db_url: str, expected: int, timeout_s: float, sql: str | None = None) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _count(db_url, sql or "SELECT count(*) FROM events") >= expected:
            return time.monotonic()
        time.sleep(POLL_S)
    raise TimeoutError(f"only {_count(db_url)} of {expected} rows after {timeout_s:.0f} s")


def _payloads(kiosks: int, total_events: int) -> list[tuple[str, bytes]]:
    sims = [KioskSim(centre=f"c{i // 100}", kiosk=f"k{i}") for i in range(kiosks)]
    messages = []
    for index in range(total_events // EVENTS_PER_MESSAGE):
        sim = sims[index % kiosks]
        events = [sim.test_event() for _ in range(EVENTS_PER_MESSAGE)]
        messages.append((sim.topic(), json.dumps({"events": events}).encode()))
    return messages


def sustained(workdir: Path, total_events: int) -> list[Figure]:
    """Events/s from first PUBLISH to last commit, all workers sharing the load."""
    messages = _payloads(200, total_events)
    with rig(workdir, "sustained") as r:
        client = _publisher(r.broker)
        start = time.monotonic()
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        done = _wait_count(r.db_url, total_events, timeout_s=600)
        for info in infos:
            info.wait_for_publish(timeout=30)
        client.disconnect()
        client.loop_stop()
        rate = total_events / (done - start)
        baseline = naive_baseline(r.db_url, min(5000, total_events // 10))
    return [
        Figure(
            "city.ingest.events_per_s",
            round(rate),
            "ev/s",
            f"{WORKERS} workers, {EVENTS_PER_MESSAGE} events/PUBLISH, {total_events:,} events",
        ),
        Figure(
            "city.ingest.baseline_events_per_s",
            round(baseline),
            "ev/s",
            "one INSERT + commit per event, same database, same run",
        ),
        Figure("city.ingest.vs_baseline", round(rate / baseline, 1), "x", "goal >= 20x"),
    ]


def naive_baseline(db_url: str, count: int) -> float:
    """One INSERT and one commit per event into a copy of the events table."""
    sim = KioskSim(kiosk="naive")
    events = [sim.test_event() for _ in range(count)]
    with psycopg.connect(db_url) as conn:
        conn.execute("CREATE TABLE naive_events (LIKE events INCLUDING ALL)")
        conn.commit()
        start = time.monotonic()
        for e in events:
            conn.execute(
                "INSERT INTO naive_events (id, kiosk, type, ts, boot, stream, seq, schema, data)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (
                    e["id"],
                    sim.full_id,
                    e["type"],
                    e["ts"],
                    e["boot_id"],
                    e["stream"],
                    e["seq"],
                    e["schema"],
                    json.dumps(e["data"]),
                ),
            )
            conn.commit()
        return count / (time.monotonic() - start)


def lag_at_rate(workdir: Path, rate: int, seconds: float) -> list[Figure]:
    """Offer `rate` events/s (10 per PUBLISH) for `seconds`; lag = committed - kiosk ts."""
    per_message = 10
    sims = [KioskSim(centre="lag", kiosk=f"k{i}") for i in range(500)]
    with rig(workdir, "lag") as r:
        client = _publisher(r.broker)
        total = int(rate * seconds)
        interval = per_message / rate
        placeholder = "2000-01-01T00:00:00.000Z"
        prepared = []
        for index in range(total // per_message):
            sim = sims[index % len(sims)]
            events = [{**sim.test_event(), "ts": placeholder} for _ in range(per_message)]
            prepared.append((sim.topic(), json.dumps({"events": events}).encode()))
        start = time.monotonic()
        for index, (topic, payload) in enumerate(prepared):
            delay = start + index * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            stamped = payload.replace(placeholder.encode(), ts(datetime.now(UTC)).encode())
            client.publish(topic, stamped, qos=1)
        offered_s = time.monotonic() - start
        _wait_count(r.db_url, total, timeout_s=300)
        client.disconnect()
        client.loop_stop()
        with psycopg.connect(r.db_url) as conn:
            row = conn.execute(
                "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP"
                " (ORDER BY extract(epoch FROM received_at - ts) * 1000) FROM events"
            ).fetchone()
    if not row or row[0] is None:
        raise RuntimeError("no lag rows")
    p50, p99 = (float(v) for v in row[0])
    achieved = total / offered_s
    return [
        Figure(
            "city.ingest.lag_offered_events_per_s",
            round(achieved),
            "ev/s",
            f"target {rate:,}, 10 events/PUBLISH, {seconds:g} s",
        ),
        Figure("city.ingest.lag_p50_ms", round(p50, 1), "ms", "kiosk ts -> batch commit"),
        Figure("city.ingest.lag_p99_ms", round(p99, 1), "ms", "goal <= 1000 ms"),
    ]


def fleet_figures(workdir: Path, kiosks: int) -> list[Figure]:
    """Presence + a heartbeat from every kiosk through the broker; then the fleet query."""
    sims = [KioskSim(centre=f"f{i // 100}", kiosk=f"k{i}") for i in range(kiosks)]
    status = [(s.topic("status"), json.dumps(s.presence("online")).encode()) for s in sims]
    beats = [(s.topic(), json.dumps({"events": [s.heartbeat()]}).encode()) for s in sims]
    with rig(workdir, "fleet") as r:
        client = _publisher(r.broker)
        start = time.monotonic()
        for topic, payload in status + beats:
            client.publish(topic, payload, qos=1)
        done = _wait_count(
            r.db_url,
            kiosks,
            timeout_s=300,
            sql="SELECT count(*) FROM kiosks WHERE presence = 'online'"
            " AND last_heartbeat_at IS NOT NULL",
        )
        client.disconnect()
        client.loop_stop()
        with psycopg.connect(r.db_url) as conn:
            assert len(fleet_rows(conn)) == kiosks  # also warms the cache
            timings, parsed = [], []
            for _ in range(7):
                t0 = time.perf_counter()
                document = fleet_document(conn)
                t1 = time.perf_counter()
                json.loads(document)
                timings.append((t1 - t0) * 1000)
                parsed.append((time.perf_counter() - t0) * 1000)
    return [
        Figure("city.fleet.kiosks", kiosks, "kiosks"),
        Figure(
            "city.fleet.upkeep_s",
            round(done - start, 2),
            "s",
            "presence + heartbeat of every kiosk through broker and workers to the table",
        ),
        Figure(
            "city.fleet.query_ms",
            round(statistics.median(timings), 1),
            "ms",
            "median of 7: the whole fleet as one JSON document (what `fleet --json` prints);"
            " goal <= 100 ms",
        ),
        Figure(
            "city.fleet.query_parsed_ms",
            round(statistics.median(parsed), 1),
            "ms",
            "the same plus json.loads into Python dicts",
        ),
    ]


def run(quick: bool) -> list[Figure]:
    """All city figures (quick: smaller loads, not comparable with full ones)."""
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="city-bench-") as tmp:
        workdir = Path(tmp)
        steps: list[tuple[str, Callable[[Path], list[Figure]]]] = [
            ("sustained", lambda d: sustained(d, 20_000 if quick else 200_000)),
            ("lag", lambda d: lag_at_rate(d, 5000, 3 if quick else 20)),
            ("fleet", lambda d: fleet_figures(d, 10_000)),
        ]
        for name, step in steps:
            sub = workdir / name
            sub.mkdir()
            try:
                figures.extend(step(sub))
            except (TimeoutError, RuntimeError) as exc:
                figures.append(Figure(f"city.{name}.error", str(exc)[:200]))
    figures.append(Figure("city.cpu_count", os.cpu_count() or 0, "cores"))
    return figures
