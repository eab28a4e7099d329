"""A catalogue rollout end to end: the city CLI signs and publishes over a real Mosquitto, real
kiosk agents verify and apply it, their command.result events come back through the real
ingest worker into PostgreSQL, and the tracking table shows applied / rejected (with the
kiosk's reason) / waiting for the offline kiosk, which gets it from `python -m city dispatch`
when it reconnects. Then a rollback restores the previous version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from testbed.broker import MosquittoBroker
from testbed.city_workers import REPO, WorkerProcess, write_city_config
from testbed.kiosk_agents import DEV_KEY, KioskAgent, other_city_key

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]

CATALOGUE = REPO / "config" / "catalogue.yaml"
V1 = "440300-2025.03.1"
V2 = "440300-2025.12.1"
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "CITY_"))}


def value(db: str, sql: str, *params: Any) -> Any:
    with psycopg.connect(db) as conn:
        row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def wait_value(db: str, sql: str, expected: Any, *params: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    seen = None
    while time.monotonic() < deadline:
        seen = value(db, sql, *params)
        if seen == expected:
            return seen
        time.sleep(0.2)
    return seen


def city(config: Path, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "city", *args, "--config", str(config)],
        cwd=REPO, env=ENV, capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip


def states(db: str, rollout_id: int) -> dict[str, tuple[str, str | None]]:
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT t.kiosk, COALESCE(t.skipped_reason, c.state, 'held'), c.reason"
            " FROM rollout_targets t LEFT JOIN commands c ON c.id = t.command_id"
            " WHERE t.rollout_id = %s",
            (rollout_id,),
        ).fetchall()
    return {k: (s, r) for k, s, r in rows}


@pytest.fixture
def fleet(tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[dict[str, KioskAgent]]:
    other = other_city_key()
    kiosks = {
        name: KioskAgent(tmp_path / name, mosquitto.url, kiosk, **keys)
        for name, kiosk, keys in (
            ("k1", "440300/c1/k1", {}),
            ("k2", "440300/c2/k2", {}),
            ("k3", "440300/c2/k3", {"public_key": other}),  # trusts another city's key
            ("k4", "440300/c2/k4", {}),
        )
    }
    yield kiosks
    for kiosk in kiosks.values():
        kiosk.stop()


@pytest.mark.timeout(420)
def test_staged_rollout_with_a_rejecting_and_an_offline_kiosk_then_rollback(
    tmp_path: Path,
    city_db: str,
    mosquitto: MosquittoBroker,
    contract_dir: Path,
    fleet: dict[str, KioskAgent],
) -> None:
    config = write_city_config(
        tmp_path / "city.yaml",
        db_url=city_db,
        broker=mosquitto,
        contract_dir=contract_dir,
        console={"signing_key_file": str(DEV_KEY)},
        publishing={"command_ttl_s": 60, "dispatch_interval_s": 0.2},
    )
    worker = WorkerProcess(config, tmp_path / "ingest.log")
    worker.start()
    dispatcher: subprocess.Popen[bytes] | None = None
    try:
        for kiosk in fleet.values():
            kiosk.start()
        online = "SELECT count(*) FROM kiosks WHERE presence = 'online'"
        assert wait_value(city_db, online, 4) == 4

        # v1 to everyone at once: the kiosk with another city's key refuses it
        v1 = tmp_path / "v1.yaml"
        v1.write_bytes(CATALOGUE.read_bytes())
        done = city(config, "publish", "catalogue", str(v1), "--to", "all", "--all-at-once",
                    "--wait", "60")  # fmt: skip
        assert done.returncode == 0, done.stderr + done.stdout
        assert "rollout 1:" in done.stdout
        assert states(city_db, 1) == {
            "440300/c1/k1": ("applied", None),
            "440300/c2/k2": ("applied", None),
            "440300/c2/k3": ("rejected", "bad_signature"),
            "440300/c2/k4": ("applied", None),
        }
        assert fleet["k1"].catalogue.read_bytes() == v1.read_bytes()
        assert not fleet["k3"].catalogue.exists()
        sql = "SELECT catalogue_version FROM kiosks WHERE kiosk = %s"
        assert value(city_db, sql, "440300/c2/k2") == V1

        # k4 goes offline; v2 staged: centre c1 first, the rest promoted automatically
        fleet["k4"].stop()
        k4_offline = "SELECT presence FROM kiosks WHERE kiosk = '440300/c2/k4'"
        assert wait_value(city_db, k4_offline, "offline") == "offline"
        v2 = tmp_path / "v2.yaml"
        v2.write_text(CATALOGUE.read_text(encoding="utf-8").replace(V1, V2), encoding="utf-8")
        done = city(config, "publish", "catalogue", str(v2), "--to", "district:none")
        assert done.returncode == 1
        assert "names no kiosk" in done.stderr
        done = city(config, "publish", "catalogue", str(v2), "--to", "all", "--first-centre",
                    "c1", "--auto-promote", "--wait", "60")  # fmt: skip
        assert done.returncode == 0, done.stderr + done.stdout
        assert "stage 1: centre c1, 1 kiosk(s); stage 2: 3 held" in done.stdout
        assert f"{V1}" in done.stdout  # the diff against what runs
        assert states(city_db, 2) == {
            "440300/c1/k1": ("applied", None),
            "440300/c2/k2": ("applied", None),
            "440300/c2/k3": ("rejected", "bad_signature"),
            "440300/c2/k4": ("waiting", None),
        }
        assert value(city_db, "SELECT state FROM rollouts WHERE id = 2") == "all"
        assert value(city_db, "SELECT promoted_by FROM rollouts WHERE id = 2") == "auto"

        # the dispatcher sends it when k4 is back
        with (tmp_path / "dispatch.log").open("wb") as log:
            dispatcher = subprocess.Popen(
                [sys.executable, "-m", "city", "dispatch", "--config", str(config)],
                cwd=REPO, env=ENV, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        fleet["k4"].start()
        k4_state = (
            "SELECT c.state FROM rollout_targets t JOIN commands c ON c.id = t.command_id"
            " WHERE t.rollout_id = 2 AND t.kiosk = '440300/c2/k4'"
        )
        assert wait_value(city_db, k4_state, "applied") == "applied"
        assert V2 in fleet["k4"].catalogue.read_text(encoding="utf-8")

        # rollback: every kiosk that applied v2 gets v1 again; k3 never changed
        done = city(config, "publish", "rollback", "2", "--wait", "60")
        assert done.returncode == 0, done.stderr + done.stdout
        assert "rolled back by rollout 3" in done.stdout
        assert (
            wait_value(
                city_db,
                "SELECT count(*) FROM rollout_targets t JOIN commands c ON c.id = t.command_id"
                " WHERE t.rollout_id = 3 AND c.state = 'applied'",
                3,
            )
            == 3
        )
        assert states(city_db, 3).keys() == {"440300/c1/k1", "440300/c2/k2", "440300/c2/k4"}
        for name in ("k1", "k2", "k4"):
            assert fleet[name].catalogue.read_bytes() == v1.read_bytes()
        status = city(config, "publish", "status", "2", "--json")
        assert json.loads(status.stdout)["state"] == "rolled_back"
    finally:
        if dispatcher is not None:
            dispatcher.terminate()
            dispatcher.wait(timeout=15)
        worker.stop()
