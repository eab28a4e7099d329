"""The fleet page (states, filters, counts, pages) and the kiosk page (history, chart data)."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from starlette.testclient import TestClient

from city.config import CityConfig
from city.console.app import create_app
from city.console.filters import FleetFilter
from city.console.fleet_state import fleet_page, kiosk_state
from testbed.fleet_seed import (
    fault_device,
    kiosk_row,
    seed_event,
    seed_fleet,
    seed_heartbeats,
    states_of,
)
from tests.fixtures.console import console_login

pytestmark = pytest.mark.postgres
EXPECTED = {
    "440300/c1/ok": ("online", []),
    "440300/c1/faulty": ("degraded", ["device"]),
    "440300/c2/unplugged": ("degraded", ["device"]),
    "440300/c3/backlog": ("degraded", ["backlog"]),
    "440300/c3/disk": ("degraded", ["disk"]),
    "440300/c3/clock": ("degraded", ["clock"]),
    "440300/c3/quiet": ("degraded", ["heartbeat"]),
    "440300/c4/down": ("offline", []),
    "440300/c4/never": ("missing", []),
}


def _seed_states(db_url: str) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(db_url) as conn:
        kiosk_row(conn, "440300/c1/ok", district="福田区")
        kiosk_row(conn, "440300/c1/faulty", district="福田区")
        fault_device(conn, "440300/c1/faulty", "bp", "timeout", now - timedelta(minutes=3))
        kiosk_row(
            conn,
            "440300/c2/unplugged",
            district="福田区",
            devices={"idcard": "disconnected", "bp": "ok"},
        )
        kiosk_row(conn, "440300/c3/backlog", district="罗湖区", oldest_unsent_age_s=4000.0)
        kiosk_row(conn, "440300/c3/disk", district="罗湖区", free_disk_mb=100.0)
        kiosk_row(conn, "440300/c3/clock", district="罗湖区", clock_synchronised=False)
        kiosk_row(conn, "440300/c3/quiet", district="罗湖区", heartbeat_age_s=1000.0)
        kiosk_row(conn, "440300/c4/down", district=None, presence="offline")
        kiosk_row(conn, "440300/c4/never", district=None, presence="never_seen")


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/kiosks/(440300/[^"]+)">', html)


def test_each_state_and_its_reasons(console_config: CityConfig) -> None:
    """online / degraded (with why) / offline / missing, from the rules' thresholds."""
    _seed_states(console_config.database.url)
    rules = console_config.alerts.rules
    now = datetime.now(UTC)
    with psycopg.connect(console_config.database.url) as conn:
        for kiosk, (state, problems) in EXPECTED.items():
            row = kiosk_state(conn, kiosk, rules, now)
            assert row is not None
            assert (kiosk, row["state"]) == (kiosk, state)
            if state in ("online", "degraded"):
                assert row["problems"] == problems
        relaxed = dataclasses.replace(rules, disk_low_mb=50.0)
        row = kiosk_state(conn, "440300/c3/disk", relaxed, now)
        assert row is not None
        assert row["state"] == "online"
        assert kiosk_state(conn, "440300/none/such", rules, now) is None


def test_fleet_filters_and_counts(console_client: TestClient, console_config: CityConfig) -> None:
    """District, centre, state and text filters; counts per state follow the filters."""
    _seed_states(console_config.database.url)
    console_login(console_client, "viewer")
    everything = console_client.get("/fleet").text
    assert sorted(_names(everything)) == sorted(EXPECTED)
    for word in ("在线", "异常", "离线", "未上线", "设备故障", "数据积压", "心跳中断"):
        assert word in everything
    degraded = console_client.get("/fleet", params={"state": "degraded"}).text
    assert sorted(_names(degraded)) == sorted(k for k, v in EXPECTED.items() if v[0] == "degraded")
    district = console_client.get("/fleet", params={"district": "福田区"}).text
    assert sorted(_names(district)) == ["440300/c1/faulty", "440300/c1/ok", "440300/c2/unplugged"]
    assert _names(console_client.get("/fleet", params={"centre": "c4"}).text) == [
        "440300/c4/down",
        "440300/c4/never",
    ]
    assert _names(console_client.get("/fleet", params={"q": "UNPLUG"}).text) == [
        "440300/c2/unplugged"
    ]
    assert _names(console_client.get("/fleet", params={"q": "%"}).text) == []  # LIKE escaped
    both = console_client.get("/fleet", params={"district": "罗湖区", "state": "online"}).text
    assert _names(both) == []
    assert "没有符合条件的终端" in both


def test_fleet_pages(console_config: CityConfig) -> None:
    """Pages of `page_size`, by district, centre, kiosk; a page past the end shows the last."""
    with psycopg.connect(console_config.database.url) as conn:
        seeded = seed_fleet(conn, 95, seed=3)
    config = dataclasses.replace(
        console_config, console=dataclasses.replace(console_config.console, page_size=10)
    )
    rules = config.alerts.rules
    now = datetime.now(UTC)
    with psycopg.connect(config.database.url) as conn:
        pages = [fleet_page(conn, FleetFilter(page=n), rules, now, 10) for n in range(1, 11)]
        beyond = fleet_page(conn, FleetFilter(page=99), rules, now, 10)
    listed = [row["kiosk"] for page in pages for row in page.kiosks]
    assert sorted(listed) == sorted(k.kiosk for k in seeded)
    assert len(set(listed)) == 95
    assert pages[0].pages == 10
    assert [len(p.kiosks) for p in pages] == [10] * 9 + [5]
    assert beyond.page == 10
    assert pages[0].counts == {s: states_of(seeded).get(s, 0) for s in pages[0].counts}
    path = config.console.session_secret_file
    assert path is not None
    with TestClient(create_app(config, path.read_bytes().strip())) as client:
        console_login(client, "viewer")
        second = client.get("/fleet", params={"page": "2"}).text
        assert "第 2 / 10 页" in second
        assert 'href="/fleet?page=3"' in second


def test_kiosk_page_and_heartbeat_chart(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """Presence timeline, faults, devices, versions; the chart data is bucketed and bounded."""
    kiosk = "440300/c1/faulty"
    now = datetime.now(UTC)
    with psycopg.connect(console_config.database.url) as conn:
        _seed_states(console_config.database.url)
        seed_event(
            conn, kiosk, "agent.offline", {"connection": 2, "reason": "connection_lost"}, now
        )
        seed_event(
            conn,
            kiosk,
            "device.fault",
            {"device": "bp", "kind": "timeout", "message": "no answer", "code": "E7"},
            now - timedelta(minutes=3),
        )
        seed_heartbeats(conn, kiosk, hours=30, interval_s=60)
    console_login(console_client, "viewer")
    page = console_client.get(f"/kiosks/{kiosk}")
    assert page.status_code == 200
    for text in ("血压计", "超时", "no answer (E7)", "2026.11.1", "连接中断", "心跳历史"):
        assert text in page.text
    assert f'data-src="/kiosks/{kiosk}/heartbeats?window=24h"' in page.text
    day = console_client.get(f"/kiosks/{kiosk}/heartbeats", params={"window": "24h"}).json()
    assert 200 < len(day["at"]) <= 361
    assert max(day["outbox_depth"]) == 40
    assert len(day["at"]) == len(day["free_disk_mb"]) == len(day["oldest_unsent_age_s"])
    six = console_client.get(f"/kiosks/{kiosk}/heartbeats", params={"window": "6h"}).json()
    assert 300 <= len(six["at"]) <= 361  # one-minute buckets
    assert console_client.get(f"/kiosks/{kiosk}/heartbeats?window=1y").status_code == 400
    assert console_client.get("/kiosks/440300/c9/none").status_code == 404
    assert console_client.get("/kiosks/440300/c9/bad%20name").status_code == 400


def test_kiosk_page_has_the_actions_slot(console_config: CityConfig, tmp_path: object) -> None:
    """A module's kiosk_actions template is included on the kiosk page."""
    from pathlib import Path

    from city.console.modules import ConsoleModule, load_modules

    folder = Path(str(tmp_path)) / "templates"
    (folder / "extra").mkdir(parents=True)
    (folder / "extra" / "buttons.html").write_text(
        '<button type="button" id="ping">ping {{ kiosk_id }} ({{ kiosk.state }})</button>'
    )
    extra = ConsoleModule(
        name="extra", templates=folder, slots={"kiosk_actions": ["extra/buttons.html"]}
    )
    _seed_states(console_config.database.url)
    path = console_config.console.session_secret_file
    assert path is not None
    app = create_app(console_config, path.read_bytes().strip(), [*load_modules(), extra])
    with TestClient(app) as client:
        console_login(client, "viewer")
        page = client.get("/kiosks/440300/c1/ok").text
    assert '<button type="button" id="ping">ping 440300/c1/ok (online)</button>' in page


@pytest.mark.slow
def test_the_fleet_page_stays_fast_at_10000_kiosks(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """10,000 kiosks: the filtered, paged fleet page answers well under a second."""
    with psycopg.connect(console_config.database.url) as conn:
        seed_fleet(conn, 10_000)
        conn.execute("ANALYZE kiosks")
    console_login(console_client, "viewer")
    timings = []
    for params in ({}, {"state": "offline"}, {"district": "南山区", "page": "3"}, {"q": "0042"}):
        started = time.perf_counter()
        answer = console_client.get("/fleet", params=params)
        timings.append(time.perf_counter() - started)
        assert answer.status_code == 200
    assert "终端（10000 台）" in console_client.get("/fleet").text
    assert sorted(timings)[len(timings) // 2] < 1.5, timings  # a loaded 2-core machine


def test_a_districts_centres_with_counts(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """Choosing a district lists its centres with their counts per state (a centre chosen
    stays highlighted among its siblings)."""
    _seed_states(console_config.database.url)
    console_login(console_client, "viewer")
    page = console_client.get("/fleet", params={"district": "罗湖区", "centre": "c3"}).text
    assert "罗湖区的服务中心" in page
    centres = page[page.index("罗湖区的服务中心") :]
    assert 'class="selected"' in centres
    row = re.search(r'<tr class="selected">(.*?)</tr>', centres, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num[^"]*">(\d+)</td>', row[1])
    assert cells == ["0", "4", "0", "0"]
    whole = console_client.get("/fleet", params={"district": "福田区"}).text
    centres = whole[whole.index("福田区的服务中心") :]
    assert "c1" in centres
    assert "c2" in centres
    assert "c3" not in centres
