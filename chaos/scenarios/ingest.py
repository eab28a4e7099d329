"""The city ingest's own faults, each under load: PUBACKed (or durable) events vs rows stored.

- `ingest_worker_sigkill`: two MQTT ingest workers share the load (`$share`); one is SIGKILLed
  mid-batch again and again and restarted each time (its client id and broker session stay,
  city/worker.py), while the other keeps storing.
- `postgres_restart`: the private PostgreSQL is restarted under load, `pg_ctl restart -m fast`
  (clients are disconnected) and `-m immediate` (a crash and WAL recovery), and in full runs
  also stopped for DOWN_S: the workers ack nothing while it is away, reconnect with backoff,
  and store every event.
- `kiosk_presence`: a real agent (`python -m edge_agent run`) is SIGKILLed; its Will must make
  the `kiosks` row offline within two keepalives (Mosquitto sends it after 1.5), and the
  restarted agent online again; the events its writer made durable meanwhile all reach `events`.

`offered` counts events the load generator got a PUBACK for (the writer's durable puts in
kiosk_presence), `delivered` those with a row in `events`, `duplicated` the redelivered copies
the primary key absorbed (the workers' console lines); `duplicate_rows` counts ids stored twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from chaos.kiosks import CENTRE, CITY, AgentProcess, WriterProcess, write_config
from chaos.proxy import Proxy
from chaos.report import Result
from city.config import DEFAULT_CONTRACT_DIR
from city.db import migrate
from testbed.broker import MosquittoBroker
from testbed.city_cluster import redelivered
from testbed.city_load import SteadyLoad
from testbed.city_workers import WorkerProcess, wait_for, write_city_config
from testbed.postgres import PostgresServer

LOAD_RATE_PER_S = 2000.0  # events/s: the workers are busy, the machine is not saturated
STORE_TIMEOUT_S = 120.0
RECOVERY_TIMEOUT_S = 60.0
# Mosquitto 2.0 looks for expired keepalives only every 6 s (its keepalive.c), so a vanished
# kiosk goes offline between 1.5 x keepalive and that + 7 s: within 2 keepalives from 15 s up.
PRESENCE_KEEPALIVE_S = 20
KILLS = ("killed", "vanished")
DOWN_S = 12.0


@dataclass
class CityStage:
    """A private Mosquitto and PostgreSQL, the migrated database and a worker config."""

    workdir: Path
    broker: MosquittoBroker
    server: PostgresServer
    db_url: str
    config: Path
    workers: list[WorkerProcess]

    def worker(self, worker_id: str) -> WorkerProcess:
        """Start an ingest worker with a fixed id (a stable client id and session)."""
        worker = WorkerProcess(
            self.config, self.workdir / f"worker-{worker_id}.log", worker_id=worker_id
        )
        worker.start(timeout_s=60)
        self.workers.append(worker)
        return worker


@contextmanager
def city_stage(workdir: Path) -> Iterator[CityStage]:
    """Mosquitto, PostgreSQL (migrated) and a config; every worker stopped at the end."""
    broker = MosquittoBroker(workdir=workdir / "mosquitto")
    server = PostgresServer()
    stage: CityStage | None = None
    try:
        broker.start()
        server.start()
        db_url = server.create_database("chaos")
        migrate(db_url)
        config = write_city_config(
            workdir / "city.yaml", db_url=db_url, broker=broker, contract_dir=DEFAULT_CONTRACT_DIR
        )
        stage = CityStage(workdir, broker, server, db_url, config, [])
        yield stage
    finally:
        if stage is not None:
            for worker in stage.workers:
                worker.stop()
        broker.stop()
        server.remove()


def stored_ids(db_url: str) -> list[str]:
    """Every row's id in `events` (a list: a row stored twice would show twice)."""
    with psycopg.connect(db_url) as conn:
        return [r[0] for r in conn.execute("SELECT id::text FROM events")]


def count(db_url: str, sql: str) -> int:
    """One integer from `sql`."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def tally_rows(result: Result, st: CityStage, offered: set[str], pubacked: set[str]) -> None:
    """Wait until every published event is stored (or the timeout), then count."""
    wait_for(st.db_url, "SELECT count(*) FROM events", len(offered), STORE_TIMEOUT_S)
    stored = stored_ids(st.db_url)
    unique = set(stored)
    result.offered = len(pubacked)
    result.delivered = len(pubacked & unique)
    result.lost = result.offered - result.delivered
    result.duplicated = redelivered(st.workers)
    result.extra["rows"] = len(stored)
    result.extra["duplicate_rows"] = len(stored) - len(unique)
    if len(stored) != len(unique):
        result.problems.append("an event id stored twice")
    if unique - offered:
        result.problems.append(f"{len(unique - offered)} rows nobody published")
    quarantined = count(st.db_url, "SELECT count(*) FROM quarantine")
    if quarantined:
        result.problems.append(f"{quarantined} messages quarantined")
    gaps = count(st.db_url, "SELECT count(*) FROM seq_gaps")
    if gaps:
        result.problems.append(f"{gaps} seq gaps left open")


def _check_alive(result: Result, workers: list[WorkerProcess]) -> None:
    dead = [w.worker_id for w in workers if w.process is None or w.process.poll() is not None]
    if dead:
        result.problems.append(f"worker(s) {dead} exited")


def worker_sigkill(workdir: Path, quick: bool, *, kills: int | None = None) -> Result:
    """SIGKILL one of two workers `kills` times under load, restarting it after each."""
    result = Result("ingest_worker_sigkill")
    kills = kills if kills is not None else (5 if quick else 15)
    rng = random.Random(12)
    with city_stage(workdir) as st:
        victim = st.worker("w0")
        st.worker("w1")
        load = SteadyLoad(st.broker.host, st.broker.port, rate_per_s=LOAD_RATE_PER_S)
        load.start()
        try:
            load.wait_pubacked(1000, 30)
            under_load = 0
            for _ in range(kills):
                time.sleep(rng.uniform(0.3, 1.2))
                stored_before = count(st.db_url, "SELECT count(*) FROM events")
                under_load += load.running() and stored_before > 0
                victim.kill()
                killed = time.monotonic()
                victim.start(timeout_s=60)
                result.recovery_s.append(time.monotonic() - killed)
            time.sleep(1.0)
        finally:
            offered, pubacked = load.stop()
        result.problems += [f"load: {exc!r}" for exc in load.errors]
        if under_load < kills:
            result.problems.append(f"only {under_load} of {kills} kills landed under load")
        tally_rows(result, st, offered, pubacked)
        _check_alive(result, st.workers)
        result.extra |= {"kills": kills, "published": len(offered), "publish_s": load.publish_s}
    return result


def _rows_grow(db_url: str, after: int, timeout_s: float) -> bool:
    """Until `events` has more than `after` rows (the ingest stores again)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if count(db_url, "SELECT count(*) FROM events") > after:
                return True
        except psycopg.OperationalError:
            pass  # still starting up
        time.sleep(0.1)
    return False


def postgres_restart(workdir: Path, quick: bool, *, cycles: int | None = None) -> Result:
    """`pg_ctl restart -m fast`, then `-m immediate`, `cycles` times each, under load (full
    runs: then down for DOWN_S)."""
    result = Result("postgres_restart")
    cycles = cycles if cycles is not None else (1 if quick else 3)
    # Full runs also keep it down past the workers' longest backoff (city/ingest_core.py).
    modes = ["fast", "immediate"] * cycles + ([] if quick else ["down"])
    with city_stage(workdir) as st:
        st.worker("w0")
        st.worker("w1")
        load = SteadyLoad(st.broker.host, st.broker.port, rate_per_s=LOAD_RATE_PER_S)
        load.start()
        try:
            load.wait_pubacked(1000, 30)
            for mode in modes:
                time.sleep(1.0)
                before = count(st.db_url, "SELECT count(*) FROM events")
                began = time.monotonic()
                if mode == "down":
                    st.server.stop("immediate")
                    time.sleep(DOWN_S)
                    st.server.start()
                else:
                    st.server.restart(mode)
                if not _rows_grow(st.db_url, before, RECOVERY_TIMEOUT_S):
                    result.problems.append(f"nothing stored after a {mode} restart")
                    break
                result.recovery_s.append(time.monotonic() - began)
            time.sleep(1.0)
        finally:
            offered, pubacked = load.stop()
        result.problems += [f"load: {exc!r}" for exc in load.errors]
        tally_rows(result, st, offered, pubacked)
        _check_alive(result, st.workers)
        noticed = sum("database unavailable" in w.output for w in st.workers)
        if noticed == 0:
            result.problems.append("no worker noticed the outage (the restart missed the load)")
        result.extra |= {
            "restarts": "+".join(modes),
            "published": len(offered),
            "workers_noticed": noticed,
            "publish_s": load.publish_s,
        }
    return result


def _presence(db_url: str, kiosk: str) -> str | None:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT presence FROM kiosks WHERE kiosk = %s", (kiosk,)).fetchone()
    return str(row[0]) if row else None


def wait_presence(db_url: str, kiosk: str, state: str, timeout_s: float) -> float | None:
    """Seconds until the kiosk's row shows `state` (None after the timeout)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if _presence(db_url, kiosk) == state:
            return time.monotonic() - began
        time.sleep(0.05)
    return None


@dataclass
class PresenceRig:
    """The agent under test, its writer, the proxy between it and the broker, the database."""

    agent: AgentProcess
    writer: WriterProcess
    proxy: Proxy
    db_url: str
    kiosk: str
    offline_s: dict[str, list[float]]
    online_s: list[float]

    def kill_and_restart(self, result: Result, how: str, bound_s: float) -> bool:
        """Kill the agent (`how`: killed / vanished), time offline, restart, time online."""
        self.writer.wait_count(self.writer.count() + 20, 10)
        if how == "vanished":
            self.proxy.set_mode("blackhole")
        self.agent.kill()
        took = wait_presence(self.db_url, self.kiosk, "offline", 3 * bound_s)
        if took is None or took > bound_s:
            shown = "never" if took is None else f"after {took:.1f}s"
            result.problems.append(f"{how}: offline {shown}, bound {bound_s}s")
        if took is not None:
            self.offline_s[how].append(took)
        self.proxy.set_mode("pass")
        self.agent.start()
        back = wait_presence(self.db_url, self.kiosk, "online", RECOVERY_TIMEOUT_S)
        if back is None:
            result.problems.append(f"{how}: the restarted agent never showed online")
            return False
        self.online_s.append(back)
        result.recovery_s.append((took or 0.0) + back)
        return True


def kiosk_presence(workdir: Path, quick: bool, *, cycles: int | None = None) -> Result:
    """SIGKILL a real agent: offline within 2 keepalives; restarted: online again.

    Each cycle kills it twice: plainly (its host closes the socket, so the broker sends the
    Will at once) and behind a black hole (the host lost power: no close reaches the broker,
    only the keepalive notices, after 1.5 keepalives)."""
    result = Result("kiosk_presence")
    cycles = cycles if cycles is not None else (1 if quick else 3)
    bound_s = 2 * PRESENCE_KEEPALIVE_S
    with city_stage(workdir) as st:
        st.worker("w0")
        proxy = Proxy(st.broker.host, st.broker.port, hold_closed=True)
        proxy.start()
        path = write_config(
            workdir / "k1",
            proxy.url,
            "k1",
            agent={"heartbeat_interval_s": 5},
            keepalive_s=PRESENCE_KEEPALIVE_S,
        )
        rig = PresenceRig(
            AgentProcess(path),
            WriterProcess(path, 20.0),
            proxy,
            st.db_url,
            f"{CITY}/{CENTRE}/k1",
            {"killed": [], "vanished": []},
            [],
        )
        rig.agent.start()
        try:
            if wait_presence(st.db_url, rig.kiosk, "online", RECOVERY_TIMEOUT_S) is None:
                result.problems.append("the agent never showed online")
                return result
            for _ in range(cycles):
                if not all(rig.kill_and_restart(result, how, bound_s) for how in KILLS):
                    break
            durable = rig.writer.stop()
            sql = "SELECT count(*) FROM events WHERE type = 'test'"
            wait_for(st.db_url, sql, len(durable), STORE_TIMEOUT_S)
            # Only the writer's events are counted: the contract lets heartbeats be shed.
            stored = [i for i in stored_ids(st.db_url) if i in durable]
            result.offered = len(durable)
            result.delivered = len(set(stored))
            result.lost = result.offered - result.delivered
            result.duplicated = redelivered(st.workers)
            result.extra["duplicate_rows"] = len(stored) - len(set(stored))
        finally:
            rig.writer.stop()
            rig.agent.stop()
            proxy.stop()
        result.extra |= {
            "keepalive_s": PRESENCE_KEEPALIVE_S,
            "bound_s": bound_s,
            "offline_killed_s": max(rig.offline_s["killed"], default=0.0),
            "offline_vanished_s": max(rig.offline_s["vanished"], default=0.0),
            "online_again_s": max(rig.online_s, default=0.0),
        }
    return result
