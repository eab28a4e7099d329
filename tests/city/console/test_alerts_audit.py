"""Alerts: the three lists, acknowledging with a note (who and when), audited; the CLI too."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from city.audit import entries, record
from city.config import CityConfig
from testbed.console import STAFF, console_config_data, write_config
from testbed.fleet_seed import kiosk_row, open_alert
from tests.fixtures.console import console_login, csrf_from

pytestmark = pytest.mark.postgres
REPO = Path(__file__).resolve().parents[3]
KIOSK = "440300/centre-a/kiosk-01"


def _seed(db_url: str) -> tuple[int, int, int]:
    now = datetime.now(UTC)
    with psycopg.connect(db_url) as conn:
        kiosk_row(conn, KIOSK, district="福田区")
        first = open_alert(conn, KIOSK, "disk_low", "100 MB free", opened_at=now)
        second = open_alert(conn, KIOSK, "device_fault", "bp faulty", subject="bp")
        resolved = open_alert(conn, "440300/centre-b/kiosk-02", "offline", "gone")
        conn.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = %s WHERE id = %s",
            (now + timedelta(minutes=5), resolved),
        )
    return first, second, resolved


def test_acknowledge_with_a_note_is_shown_and_audited(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """An operator acknowledges; the acknowledged list shows who, when and the note."""
    first, second, resolved = _seed(console_config.database.url)
    console_login(console_client, "operator")
    open_page = console_client.get("/alerts")
    assert f'id="alert-{first}"' in open_page.text
    assert f'id="alert-{second}"' in open_page.text
    assert f'id="alert-{resolved}"' not in open_page.text
    answer = console_client.post(
        f"/alerts/{first}/ack",
        data={"csrf": csrf_from(open_page.text), "note": "技术员已出发\n预计 30 分钟"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/alerts?state=open&done={first}"
    assert f"告警 {first} 已确认" in console_client.get(answer.headers["location"]).text
    acknowledged = console_client.get("/alerts", params={"state": "acknowledged"}).text
    assert f'id="alert-{first}"' in acknowledged
    assert STAFF["operator"] in acknowledged
    assert "技术员已出发" in acknowledged
    assert f'id="alert-{resolved}"' in console_client.get("/alerts?state=resolved").text
    with psycopg.connect(console_config.database.url) as conn:
        row = conn.execute(
            "SELECT state, acknowledged_by, ack_note, acknowledged_at FROM alerts WHERE id = %s",
            (first,),
        ).fetchone()
        log, _ = entries(conn, action="alert.")
    assert row is not None
    assert row[:3] == ("acknowledged", STAFF["operator"], "技术员已出发\n预计 30 分钟")
    assert row[3] is not None
    (entry,) = log
    assert (entry.actor, entry.action, entry.subject) == (
        STAFF["operator"],
        "alert.acknowledge",
        str(first),
    )
    assert entry.detail["kiosk"] == KIOSK
    assert entry.detail["note"].startswith("技术员已出发")


def test_acknowledging_twice_or_a_resolved_alert_is_a_clear_400(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """Only open alerts can be acknowledged; nothing is audited for a refusal."""
    first, _, resolved = _seed(console_config.database.url)
    console_login(console_client, "operator")
    token = csrf_from(console_client.get("/alerts").text)
    assert console_client.post(f"/alerts/{first}/ack", data={"csrf": token}).status_code == 200
    again = console_client.post(f"/alerts/{first}/ack", data={"csrf": token})
    assert again.status_code == 400
    assert "不是待处理状态" in again.text
    assert console_client.post(f"/alerts/{resolved}/ack", data={"csrf": token}).status_code == 400
    assert console_client.post("/alerts/999999/ack", data={"csrf": token}).status_code == 400
    too_long = console_client.post(f"/alerts/{first}/ack", data={"csrf": token, "note": "x" * 501})
    assert too_long.status_code == 400
    with psycopg.connect(console_config.database.url) as conn:
        assert len(entries(conn, action="alert.acknowledge")[0]) == 1


def test_the_kiosk_filter_and_counts(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """`kiosk=` narrows the lists and their counts."""
    _seed(console_config.database.url)
    console_login(console_client, "viewer")
    page = console_client.get("/alerts", params={"kiosk": KIOSK}).text
    assert '待处理 <span class="count">2</span>' in page
    assert '已解除 <span class="count">0</span>' in page


def test_the_cli_still_acknowledges_and_is_audited(
    console_config: CityConfig, tmp_path: Path
) -> None:
    """`python -m city alerts --ack ID --note …` works as before, actor cli:USER."""
    first, _, _ = _seed(console_config.database.url)
    config_file = write_config(
        tmp_path / "city.yaml",
        console_config_data(console_config.database.url, tmp_path / "unused-secret"),
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "city",
            "alerts",
            "--config",
            str(config_file),
            "--json",
            "--ack",
            str(first),
            "--note",
            "seen on the phone",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {a["id"]: a for a in json.loads(done.stdout)["alerts"]}
    assert rows[first]["state"] == "acknowledged"
    assert rows[first]["acknowledged_by"].startswith("cli")
    assert rows[first]["ack_note"] == "seen on the phone"
    with psycopg.connect(console_config.database.url) as conn:
        (entry,) = entries(conn, action="alert.acknowledge")[0]
    assert entry.actor.startswith("cli")


def test_audit_page_filters(console_client: TestClient, console_config: CityConfig) -> None:
    """The audit page lists newest first and filters by action prefix and actor."""
    with psycopg.connect(console_config.database.url) as conn:
        record(conn, actor="wang", action="command.ping", subject="440300/a/b", detail={"id": 1})
        record(conn, actor="li", action="catalogue.publish", subject="v7")
    console_login(console_client, "admin")
    everything = console_client.get("/audit").text
    assert everything.index("catalogue.publish") < everything.index("command.ping")
    only = console_client.get("/audit", params={"action": "command."}).text
    assert "command.ping" in only
    assert "catalogue.publish" not in only
    by_li = console_client.get("/audit", params={"actor": "li"}).text
    assert "catalogue.publish" in by_li
    assert "command.ping" not in by_li
    assert "共 0 条" in console_client.get("/audit", params={"action": "%"}).text  # escaped


def test_the_menu_counts_open_alerts(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """The Alerts menu entry carries the number of open alerts, none when there are none."""
    console_login(console_client, "viewer")
    assert "nav-badge" not in console_client.get("/fleet").text
    _seed(console_config.database.url)
    assert '<span class="nav-badge">2</span>' in console_client.get("/fleet").text
