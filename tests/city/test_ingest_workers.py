"""Real Mosquitto, real private PostgreSQL, real ingest worker processes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from testbed.city_events import KioskSim, batch
from testbed.city_workers import Publisher, WorkerProcess, wait_for, write_city_config
from tests.fixtures.broker import MosquittoBroker

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def config_file(
    tmp_path: Path, city_db: str, mosquitto: MosquittoBroker, contract_dir: Path
) -> Path:
    """A config pointing at this test's broker and database."""
    return write_city_config(
        tmp_path / "city.yaml", db_url=city_db, broker=mosquitto, contract_dir=contract_dir
    )


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    """Worker processes started by the test; all stopped afterwards."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


@pytest.fixture
def publisher(mosquitto: MosquittoBroker) -> Iterator[Publisher]:
    """A QoS 1 publisher."""
    pub = Publisher(mosquitto)
    yield pub
    pub.close()


def _start(
    workers: list[WorkerProcess], config: Path, tmp_path: Path, wid: str | None
) -> WorkerProcess:
    worker = WorkerProcess(config, tmp_path / f"worker-{wid or len(workers)}.log", worker_id=wid)
    worker.start()
    workers.append(worker)
    return worker


def test_sigkill_mid_batch_loses_nothing_and_stores_nothing_twice(
    config_file: Path,
    city_db: str,
    tmp_path: Path,
    workers: list[WorkerProcess],
    publisher: Publisher,
) -> None:
    """Two workers share the load; one is SIGKILLed and restarted three times under load."""
    w0 = _start(workers, config_file, tmp_path, "w0")
    _start(workers, config_file, tmp_path, "w1")
    kiosks = [KioskSim(kiosk=f"k{i:02d}") for i in range(10)]
    offered: list[str] = []
    done = threading.Event()

    def publish_load() -> None:
        for round_no in range(120):
            for sim in kiosks:
                events = [sim.test_event() for _ in range(10)]
                offered.extend(e["id"] for e in events)
                publisher.publish(sim.topic(), batch(*events))
            if round_no % 2 == 0:
                time.sleep(0.1)
        done.set()

    thread = threading.Thread(target=publish_load)
    thread.start()
    kills_under_load = 0
    for _ in range(3):
        time.sleep(0.5)
        kills_under_load += not done.is_set()
        w0.kill()
        w0.start()
    thread.join(timeout=120)
    assert kills_under_load >= 2
    stored = wait_for(city_db, "SELECT count(*) FROM events", len(offered), timeout_s=90)
    with psycopg.connect(city_db) as conn:
        ids = {r[0] for r in conn.execute("SELECT id::text FROM events")}
        (quarantined,) = conn.execute("SELECT count(*) FROM quarantine").fetchone() or (0,)
    assert stored == len(offered) == 12_000
    assert ids == set(offered)  # 0 lost; the primary key makes 0 duplicate rows
    assert quarantined == 0
    assert gaps_open(city_db) == 0


def gaps_open(db_url: str) -> int:
    """Open seq gaps in the database."""
    with psycopg.connect(db_url) as conn:
        (count,) = conn.execute("SELECT count(*) FROM seq_gaps").fetchone() or (0,)
    return int(count)


def test_bad_input_is_quarantined_and_the_worker_lives(
    config_file: Path,
    city_db: str,
    tmp_path: Path,
    workers: list[WorkerProcess],
    publisher: Publisher,
) -> None:
    """Garbage and schema violations go to quarantine; the worker keeps storing after them."""
    worker = _start(workers, config_file, tmp_path, None)
    sim = KioskSim()
    publisher.publish(sim.topic(), b"\x00\xff garbage")
    publisher.publish(sim.topic(), batch({**sim.test_event(), "seq": -1}, sim.test_event()))
    publisher.publish(sim.topic("status"), b"[1, 2")
    assert wait_for(city_db, "SELECT count(*) FROM quarantine", 3) == 3
    publisher.publish(sim.topic(), batch(sim.test_event()))
    assert wait_for(city_db, "SELECT count(*) FROM events", 2) == 2
    assert worker.process is not None
    assert worker.process.poll() is None


def test_gap_closes_when_the_late_event_arrives(
    config_file: Path,
    city_db: str,
    tmp_path: Path,
    workers: list[WorkerProcess],
    publisher: Publisher,
) -> None:
    """A packed backlog overtaken by the live lane leaves a gap only until it arrives."""
    _start(workers, config_file, tmp_path, None)
    sim = KioskSim()
    backlog = [sim.test_event() for _ in range(5)]
    live = sim.test_event()
    publisher.publish(sim.topic(), batch(live))
    assert wait_for(city_db, "SELECT count(*) FROM seq_gaps", 1) == 1
    publisher.publish(sim.topic(), batch(*backlog))
    assert wait_for(city_db, "SELECT count(*) FROM seq_gaps", 0) == 0


def test_presence_reaches_the_fleet_table(
    config_file: Path,
    city_db: str,
    tmp_path: Path,
    workers: list[WorkerProcess],
    publisher: Publisher,
) -> None:
    """A retained birth on the status topic marks the kiosk online; the console says so."""
    worker = _start(workers, config_file, tmp_path, None)
    sim = KioskSim()
    publisher.publish(sim.topic("status"), json.dumps(sim.presence("online")).encode(), retain=True)
    sql = f"SELECT presence FROM kiosks WHERE kiosk = '{sim.full_id}'"
    assert wait_for(city_db, sql, "online") == "online"
    deadline = time.monotonic() + 10
    while "is online" not in worker.output and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"fleet: {sim.full_id} is online (connection 1)" in worker.output


def test_sigterm_exits_cleanly(
    config_file: Path, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    """SIGTERM finishes the batch and exits 0 (the broker session stays for the restart)."""
    worker = _start(workers, config_file, tmp_path, None)
    assert worker.stop() == 0


def test_database_restart_under_load_loses_nothing(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    contract_dir: Path,
    workers: list[WorkerProcess],
    publisher: Publisher,
) -> None:
    """PostgreSQL stopped mid-load: the worker acks nothing, waits, and stores every event."""
    from city.db import migrate
    from testbed.postgres import PostgresServer

    server = PostgresServer()
    try:
        server.start()
        db_url = server.create_database("restart")
        migrate(db_url)
        config = write_city_config(
            tmp_path / "city.yaml", db_url=db_url, broker=mosquitto, contract_dir=contract_dir
        )
        worker = _start(workers, config, tmp_path, None)
        sim = KioskSim()
        offered = []
        for round_no in range(60):
            events = [sim.test_event() for _ in range(20)]
            offered += [e["id"] for e in events]
            publisher.publish(sim.topic(), batch(*events))
            if round_no == 20:
                server.stop("immediate")
            if round_no == 40:
                server.start()
        assert wait_for(db_url, "SELECT count(*) FROM events", len(offered), 90) == len(offered)
        assert gaps_open(db_url) == 0
        assert "database unavailable" in worker.output
    finally:
        server.remove()


def test_workers_started_later_read_retained_presence(
    config_file: Path,
    city_db: str,
    tmp_path: Path,
    workers: list[WorkerProcess],
    publisher: Publisher,
) -> None:
    """Births retained before the city started still reach the fleet table, once per kiosk."""
    sims = [KioskSim(kiosk=f"r{i}") for i in range(5)]
    for sim in sims:
        publisher.publish(
            sim.topic("status"), json.dumps(sim.presence("online")).encode(), retain=True
        )
    _start(workers, config_file, tmp_path, None)
    _start(workers, config_file, tmp_path, None)  # each member gets a copy: the key absorbs it
    sql = "SELECT count(*) FROM kiosks WHERE presence = 'online'"
    assert wait_for(city_db, sql, 5) == 5
    assert wait_for(city_db, "SELECT count(*) FROM events", 5) == 5
