"""Activities in Debian's Chromium: an operator creates and publishes an activity, a resident's
sign-up arrives from a kiosk over a real Mosquitto through the real ingest worker, the roster
shows it (pseudonym only), the CSV export downloads; axe-core finds no serious or critical
violation on the new pages. Screenshots: build/screenshots/console/activities-*.png."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from testbed.broker import MosquittoBroker
from testbed.city_events import KioskSim, uuid7
from testbed.city_workers import Publisher, WorkerProcess, wait_for, write_city_config
from testbed.console import STAFF, VIEWPORT, login
from testbed.console_tour import serious_violations
from testbed.fleet_seed import kiosk_row
from tests.fixtures.console import ConsoleUnderTest, screenshot

pytestmark = [pytest.mark.postgres, pytest.mark.broker, pytest.mark.slow]

SUBJECT = "5e" * 32
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def ingest(
    console_server: ConsoleUnderTest, mosquitto: MosquittoBroker, tmp_path: Path,
    contract_dir: Path,
) -> Iterator[WorkerProcess]:  # fmt: skip
    """The real ingest worker on the console's database."""
    config = write_city_config(
        tmp_path / "city.yaml",
        db_url=console_server.db_url,
        broker=mosquitto,
        contract_dir=contract_dir,
    )
    worker = WorkerProcess(config, tmp_path / "ingest.log")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def page(console_browser: Any) -> Iterator[Any]:
    """A page whose context lets axe-core's injected script past the CSP."""
    context = console_browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", bypass_csp=True, accept_downloads=True
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def _no_serious_violations(page: Any, name: str) -> None:
    found = serious_violations(page)
    assert found == [], f"{name}: {[(v['id'], v['help']) for v in found]}"


def test_create_signup_roster_export(
    console_server: ConsoleUnderTest, ingest: WorkerProcess, mosquitto: MosquittoBroker,
    page: Any,
) -> None:  # fmt: skip
    """Create → publish → a sign-up over MQTT → on the roster → exported as CSV."""
    url, db = console_server.url, console_server.db_url
    with psycopg.connect(db) as conn:
        kiosk_row(conn, "440300/c1/k1", district="福田区")
        conn.commit()
    login(page, url, STAFF["operator"])
    page.goto(f"{url}/activities/new")
    _no_serious_violations(page, "new")
    starts = (datetime.now(ZONE) + timedelta(days=2)).replace(hour=9, minute=0)
    fields = {
        "title_zh": "太极拳晨练", "title_en": "Morning tai chi",
        "place_zh": "中心一楼活动室", "place_en": "Activity room",
        "organiser_zh": "社区老年协会", "organiser_en": "Seniors' association",
        "audience_zh": "60岁以上居民", "audience_en": "Residents aged 60 and over",
        "capacity": "20", "points": "10",
    }  # fmt: skip
    for name, value in fields.items():
        page.fill(f"#f-{name}", value)
    page.fill("#f-starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-ends_at", (starts + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.click("text=保存为草稿")
    page.wait_for_url(f"{url}/activities/*?done=created")
    activity_id = page.url.split("/activities/")[1].split("?")[0]
    page.click("text=发布到中心终端")
    page.wait_for_url("**done=published")
    assert page.locator(".astate-published").count() == 1

    sim = KioskSim(centre="c1", kiosk="k1", clock=datetime.now(UTC) - timedelta(minutes=1))
    signup_id = uuid7()
    event = sim.event(
        "activity.signup",
        {
            "signup_id": signup_id,
            "activity_id": activity_id,
            "activities_version": "act-c1-1",
            "subject": SUBJECT,
            "key_id": "k2026",
            "session_id": "0193f1c2-7a4b-7c3d-8e5f-0123456789ab",
        },
    )
    publisher = Publisher(mosquitto)
    try:
        publisher.publish(sim.topic(), json.dumps({"events": [event]}).encode())
    finally:
        publisher.close()
    wait_for(db, "SELECT count(*) FROM activity_signups WHERE state = 'confirmed'", 1)
    deadline = time.monotonic() + 10
    page.goto(f"{url}/activities/{activity_id}")
    while page.locator(f"tr[data-signup='{signup_id}']").count() == 0:
        assert time.monotonic() < deadline, "the sign-up never showed on the roster"
        page.reload()
    row = page.locator(f"tr[data-signup='{signup_id}']")
    assert "k2026:5e5e5e5e5e5e…" in row.inner_text()
    assert "已确认" in row.inner_text()
    _no_serious_violations(page, "activity")
    screenshot(page, "activities-roster")

    with page.expect_download() as download:
        page.click("text=导出 CSV")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert SUBJECT in text
    assert "已确认" in text

    row.locator("text=签到").click()
    page.wait_for_url("**done=attended**")
    assert "积分 10 分已入账" in page.inner_text("main")
    page.goto(f"{url}/activities")
    _no_serious_violations(page, "list")
    screenshot(page, "activities-list")
