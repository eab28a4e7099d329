"""The console in Debian's Chromium (Playwright), served by uvicorn: login, the fleet, a kiosk
page with its heartbeat chart, an alert acknowledged with a note. Screenshots go to
build/screenshots/console/ (1920x1080)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from testbed.console import STAFF, login
from testbed.fleet_seed import (
    fault_device,
    kiosk_row,
    open_alert,
    seed_event,
    seed_fleet,
    seed_heartbeats,
)
from tests.fixtures.console import ConsoleUnderTest, screenshot

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
KIOSK = "440300/centre-0000/kiosk-00"


def _seed(db_url: str) -> int:
    now = datetime.now(UTC)
    with psycopg.connect(db_url) as conn:
        seed_fleet(conn, 240)
        kiosk_row(conn, KIOSK, district="福田区", outbox_depth=12, free_disk_mb=180.0)
        fault_device(conn, KIOSK, "bp", "timeout", now - timedelta(minutes=40))
        seed_event(conn, KIOSK, "agent.online", {"connection": 3}, now - timedelta(hours=5))
        seed_event(
            conn,
            KIOSK,
            "agent.offline",
            {"connection": 2, "reason": "connection_lost"},
            now - timedelta(hours=6),
        )
        seed_event(
            conn,
            KIOSK,
            "device.fault",
            {"device": "bp", "kind": "timeout", "message": "no answer"},
            now - timedelta(minutes=40),
        )
        seed_heartbeats(conn, KIOSK, hours=24)
        alert_id = open_alert(conn, KIOSK, "disk_low", "180 MB free (threshold 500)")
        open_alert(conn, "440300/centre-0003/kiosk-04", "offline", "offline for more than 600 s")
    return alert_id


def test_login_fleet_kiosk_and_acknowledge(
    console_server: ConsoleUnderTest, console_page: Any
) -> None:
    """An operator logs in, filters the fleet, opens a kiosk and acknowledges its alert."""
    alert_id = _seed(console_server.db_url)
    page, base = console_page, console_server.url

    page.goto(f"{base}/fleet")
    page.wait_for_url(f"{base}/login**")
    screenshot(page, "login")
    login(page, base, STAFF["operator"])
    page.wait_for_selector("table.fleet")
    assert "终端总览" in page.title()
    screenshot(page, "fleet")

    page.select_option("#f-state", "degraded")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**state=degraded**")
    badges = page.locator("table.fleet .badge").all_inner_texts()
    assert badges
    assert all(text.strip() == "异常" for text in badges)
    screenshot(page, "fleet-degraded")

    page.goto(f"{base}/kiosks/{KIOSK}")
    page.wait_for_selector("#heartbeat-chart[data-ready='1'] canvas")
    assert "血压计" in page.inner_text("main")
    screenshot(page, "kiosk")

    page.goto(f"{base}/alerts")
    row = page.locator(f"#alert-{alert_id}")
    row.locator("input[name=note]").fill("已派技术员到场")
    row.locator("button[type=submit]").click()
    page.wait_for_url("**done=**")
    assert f"告警 {alert_id} 已确认" in page.inner_text("main")
    page.goto(f"{base}/alerts?state=acknowledged")
    acknowledged = page.inner_text(f"#alert-{alert_id}")
    assert STAFF["operator"] in acknowledged
    assert "已派技术员到场" in acknowledged
    screenshot(page, "alerts-acknowledged")

    page.goto(f"{base}/audit")
    assert "alert.acknowledge" in page.inner_text("main")
    screenshot(page, "audit")

    page.click("a[lang=en]")
    page.wait_for_selector("text=Audit log")
    page.goto(f"{base}/fleet")
    assert "Fleet" in page.title()
    screenshot(page, "fleet-en")


def test_the_fleet_refreshes_itself_and_a_dead_session_goes_to_login(
    console_server: ConsoleUnderTest, console_page: Any
) -> None:
    """htmx swaps #fleet-live in place; once the session is gone the page goes to the login."""
    with psycopg.connect(console_server.db_url) as conn:
        kiosk_row(conn, KIOSK, district="福田区")
    page, base = console_page, console_server.url
    login(page, base, STAFF["viewer"])
    assert page.evaluate("typeof htmx") == "object"
    assert page.inner_text(".counts li.state-offline .count") == "0"
    with psycopg.connect(console_server.db_url) as conn:
        conn.execute("UPDATE kiosks SET presence = 'offline' WHERE kiosk = %s", (KIOSK,))
    page.evaluate(
        "htmx.ajax('GET', location.href, {target: '#fleet-live', select: '#fleet-live',"
        " swap: 'outerHTML'})"
    )
    page.wait_for_function(
        "document.querySelector('.counts li.state-offline .count').textContent === '1'"
    )
    assert page.locator("#fleet-live[hx-trigger='every 30s']").count() == 1
    with psycopg.connect(console_server.db_url) as conn:
        conn.execute("DELETE FROM console_sessions")
    # Not awaiting htmx.ajax's promise: the redirect to the login can destroy the page's
    # context before it settles, and evaluate would fail on that race.
    page.evaluate(
        "() => { htmx.ajax('GET', location.href, {target: '#fleet-live', select: '#fleet-live',"
        " swap: 'outerHTML'}); }"
    )
    page.wait_for_url(f"{base}/login**")


def test_htmx_posts_carry_the_csrf_token(
    console_server: ConsoleUnderTest, console_page: Any
) -> None:
    """An hx-post (as a module's button would be) is accepted: <body> gives it the token."""
    with psycopg.connect(console_server.db_url) as conn:
        kiosk_row(conn, KIOSK, district="福田区")
        alert_id = open_alert(conn, KIOSK, "disk_low", "100 MB free")
    page, base = console_page, console_server.url
    login(page, base, STAFF["operator"])
    page.goto(f"{base}/alerts")
    page.evaluate(
        f"htmx.ajax('POST', '/alerts/{alert_id}/ack', {{target: 'main', select: 'main',"
        " values: {note: 'via htmx'}})"
    )
    page.wait_for_selector(f"text=告警 {alert_id} 已确认")
    with psycopg.connect(console_server.db_url) as conn:
        row = conn.execute("SELECT state, ack_note FROM alerts WHERE id = %s", (alert_id,))
        assert row.fetchone() == ("acknowledged", "via htmx")
