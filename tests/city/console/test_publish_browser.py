"""A full catalogue rollout in Debian's Chromium: real kiosk agents, a real Mosquitto, the real
ingest worker, the console (uvicorn) with its dispatcher. One kiosk trusts another city's key
and rejects; one is offline until later. Staged (centre c1 first), promoted, then rolled back;
and a kiosk page's diagnostics. Screenshots: build/screenshots/console/publish-*.png."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from testbed.broker import MosquittoBroker
from testbed.city_workers import REPO, WorkerProcess, wait_for, write_city_config
from testbed.console import (
    STAFF,
    ConsoleServer,
    add_staff,
    console_config_data,
    login,
    write_config,
    write_secret,
)
from testbed.kiosk_agents import DEV_KEY, KioskAgent, SelfTestStub, other_city_key
from tests.fixtures.console import screenshot

pytestmark = [pytest.mark.postgres, pytest.mark.broker, pytest.mark.slow]

CATALOGUE = REPO / "config" / "catalogue.yaml"
V1, V2 = "440300-2025.03.1", "440300-2025.12.1"
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "CITY_"))}
WAIT_MS = 60_000


@pytest.fixture
def city_stack(
    tmp_path: Path, city_db: str, mosquitto: MosquittoBroker, contract_dir: Path
) -> Iterator[dict[str, Any]]:
    """Ingest worker, console server (with the dev key) and four kiosk agents, all online."""
    add_staff(city_db)
    ingest_config = write_city_config(
        tmp_path / "city.yaml",
        db_url=city_db,
        broker=mosquitto,
        contract_dir=contract_dir,
        console={"signing_key_file": str(DEV_KEY)},
    )
    worker = WorkerProcess(ingest_config, tmp_path / "ingest.log")
    worker.start()
    server = ConsoleServer(tmp_path / "console.yaml")
    extra = {
        "broker": {"url": mosquitto.url},
        "console": {"signing_key_file": str(DEV_KEY)},
        "publishing": {"dispatch_interval_s": 0.2, "command_ttl_s": 60},
        "contract_dir": str(contract_dir),
    }
    secret = write_secret(tmp_path / "secret")
    write_config(
        server.config_file, console_config_data(city_db, secret, port=server.port, extra=extra)
    )
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
    try:
        server.start()
        for kiosk in kiosks.values():
            kiosk.start()
        online = "SELECT count(*) FROM kiosks WHERE presence = 'online'"
        assert wait_for(city_db, online, 4) == 4
        yield {"server": server, "kiosks": kiosks, "config": ingest_config, "db": city_db}
    finally:
        for kiosk in kiosks.values():
            kiosk.stop()
        server.stop()
        worker.stop()


def _cli(config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "city", *args, "--config", str(config)],
        cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


def _row(page: Any, kiosk: str, state: str) -> None:
    page.wait_for_selector(f'tr[data-kiosk="{kiosk}"][data-state="{state}"]', timeout=WAIT_MS)


@pytest.mark.timeout(600)
def test_staged_rollout_with_a_rejection_an_offline_kiosk_and_a_rollback(
    city_stack: dict[str, Any], console_page: Any, tmp_path: Path
) -> None:
    page, server, kiosks, db = (
        console_page, city_stack["server"], city_stack["kiosks"], city_stack["db"]
    )  # fmt: skip
    # v1 runs everywhere but on k3 (which trusts another key): what the rollback returns to
    v1 = tmp_path / "v1.yaml"
    v1.write_bytes(CATALOGUE.read_bytes())
    _cli(city_stack["config"], "publish", "catalogue", str(v1), "--to", "all", "--all-at-once",
         "--wait", "60")  # fmt: skip
    kiosks["k4"].stop()
    offline = "SELECT presence FROM kiosks WHERE kiosk = '440300/c2/k4'"
    assert wait_for(db, offline, "offline") == "offline"

    login(page, server.url, STAFF["operator"])
    page.goto(f"{server.url}/publish")
    broken = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    broken["items"][1]["handling"]["mode"] = "teleport"
    broken["items"][3]["category"] = "nope"
    bad = tmp_path / "broken.yaml"
    bad.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    page.set_input_files("#file", str(bad))
    page.click("text=校验并比较")
    page.wait_for_selector("table.problems")
    assert page.locator("table.problems code", has_text="items[3].category").count() == 1
    screenshot(page, "publish-upload-errors")

    v2 = tmp_path / "v2.yaml"
    text = CATALOGUE.read_text(encoding="utf-8").replace(V1, V2)
    v2.write_text(text.replace("popularity: 9", "popularity: 10", 1), encoding="utf-8")
    page.set_input_files("#file", str(v2))
    page.click("text=校验并比较")
    page.wait_for_url("**/publish/documents/*")
    page.fill("#to", "all")
    page.fill("#first_centre", "c1")
    page.click("#preview")
    page.wait_for_selector("#plan")
    assert "第一阶段：中心 c1，1 台；第二阶段：其余 3 台" in page.inner_text("#plan")
    assert page.locator("pre.diff .add", has_text=f'version: "{V2}"').count() == 1
    screenshot(page, "publish-plan-diff")

    page.click("#confirm")
    page.wait_for_url("**/publish/rollouts/*")
    _row(page, "440300/c1/k1", "applied")
    _row(page, "440300/c2/k2", "held")
    page.wait_for_selector("#promote:not([disabled])", timeout=WAIT_MS)
    page.click("#promote")
    _row(page, "440300/c2/k2", "applied")
    _row(page, "440300/c2/k3", "rejected")
    _row(page, "440300/c2/k4", "waiting")
    rejected = page.inner_text('tr[data-kiosk="440300/c2/k3"]')
    assert "签名无效" in rejected
    screenshot(page, "publish-rollout-staged")

    kiosks["k4"].start()  # back online: the console's dispatcher sends it now
    _row(page, "440300/c2/k4", "applied")
    assert V2 in kiosks["k4"].catalogue.read_text(encoding="utf-8")
    screenshot(page, "publish-rollout-applied")

    page.click("#rollback")
    page.wait_for_url("**/publish/rollouts/*")
    for kiosk in ("440300/c1/k1", "440300/c2/k2", "440300/c2/k4"):
        _row(page, kiosk, "applied")
    assert page.locator('tr[data-kiosk="440300/c2/k3"]').count() == 0  # never changed
    screenshot(page, "publish-rollback")
    for name in ("k1", "k2", "k4"):
        assert kiosks[name].catalogue.read_bytes() == v1.read_bytes()
    with psycopg.connect(db) as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    for action in ("publish.upload", "publish.rollout", "publish.promote", "publish.rollback"):
        assert action in actions

    # the kiosk page: run diagnostics, see each device's self-test
    stub = SelfTestStub(kiosks["k1"].data_dir)
    try:
        page.goto(f"{server.url}/kiosks/440300/c1/k1")
        page.click('button[data-command="run_diagnostics"]')
        page.wait_for_selector(
            'tr[data-command="run_diagnostics"][data-state="applied"]', timeout=WAIT_MS
        )
        page.wait_for_selector('tr[data-device="qrscan"]')
        assert "no answer in 5 s" in page.inner_text('tr[data-device="qrscan"]')
        page.click('button[data-command="ping"]')
        page.wait_for_selector('tr[data-command="ping"][data-state="applied"]', timeout=WAIT_MS)
        screenshot(page, "publish-kiosk-commands")
    finally:
        stub.stop()
    with psycopg.connect(db) as conn:
        sent = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'command.send'"
            " AND subject = '440300/c1/k1'"
        ).fetchone()
    assert sent == (2,)
