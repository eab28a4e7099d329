"""Every console screen with demonstration data: for `make screenshots` and the accessibility
test. Each module lists its screens (ConsoleModule.screens) and seeds its own demo rows
(ConsoleModule.demo); the tour logs in per role and visits them all in one language."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from city.console.modules import ConsoleModule
from testbed.console import STAFF, VIEWPORT, login
from testbed.fleet_seed import (
    fault_device,
    kiosk_row,
    open_alert,
    seed_event,
    seed_fleet,
    seed_heartbeats,
)

DEMO_KIOSK = "440300/centre-0000/kiosk-00"
AXE = Path(__file__).resolve().parents[1] / "city/console/assets/node_modules/axe-core/axe.min.js"
SERIOUS = ("serious", "critical")


def seed_console_demo(conn: psycopg.Connection) -> dict[str, str]:
    """240 kiosks in mixed states, one with history, faults and alerts; path values."""
    now = datetime.now(UTC)
    seed_fleet(conn, 240)
    kiosk_row(
        conn,
        DEMO_KIOSK,
        district="福田区",
        outbox_depth=12,
        free_disk_mb=180.0,
        devices={"idcard": "ok", "bp": "fault", "qrscan": "ok", "camera": "ok"},
    )
    fault_device(conn, DEMO_KIOSK, "bp", "timeout", now - timedelta(minutes=40))
    for connection, (kind, hours_ago) in enumerate(
        [("agent.online", 200), ("agent.offline", 75), ("agent.online", 69), ("agent.offline", 30)],
        start=1,
    ):
        data = {"connection": connection} | (
            {"reason": "connection_lost"} if kind == "agent.offline" else {}
        )
        seed_event(conn, DEMO_KIOSK, kind, data, now - timedelta(hours=hours_ago))
    seed_event(conn, DEMO_KIOSK, "agent.online", {"connection": 5}, now - timedelta(hours=5))
    seed_event(
        conn,
        DEMO_KIOSK,
        "agent.offline",
        {"connection": 2, "reason": "connection_lost"},
        now - timedelta(hours=6),
    )
    seed_event(
        conn,
        DEMO_KIOSK,
        "device.fault",
        {"device": "bp", "kind": "timeout", "message": "no answer", "code": "E7"},
        now - timedelta(minutes=40),
    )
    seed_heartbeats(conn, DEMO_KIOSK, hours=24 * 7, interval_s=300)
    alert = open_alert(conn, DEMO_KIOSK, "disk_low", "180 MB free (threshold 500)")
    open_alert(conn, DEMO_KIOSK, "device_fault", "bp faulty for over 300 s", subject="bp")
    acked = open_alert(
        conn, "440300/centre-0003/kiosk-04", "offline", "offline for more than 600 s"
    )
    conn.execute(
        "UPDATE alerts SET state = 'acknowledged', acknowledged_at = now(),"
        " acknowledged_by = %s, ack_note = '已派技术员到场' WHERE id = %s",
        (STAFF["operator"], acked),
    )
    conn.execute(
        "INSERT INTO audit_log (actor, action, subject, detail) VALUES"
        " (%s, 'alert.acknowledge', %s, '{\"note\": \"已派技术员到场\"}'::jsonb)",
        (STAFF["operator"], str(acked)),
    )
    return {"kiosk": DEMO_KIOSK, "alert": str(alert)}


def seed_demo(db_url: str, modules: Sequence[ConsoleModule]) -> dict[str, str]:
    """The console's demo data, then every module's own."""
    with psycopg.connect(db_url) as conn:
        values = seed_console_demo(conn)
        for module in modules:
            if module.demo is not None:
                module.demo(conn)
    return values


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in result if v.get("impact") in SERIOUS]


def tour(
    browser: Any,
    base_url: str,
    modules: Sequence[ConsoleModule],
    values: dict[str, str],
    *,
    language: str = "zh-CN",
    out: Path | None = None,
    check: Callable[[str, Any], None] | None = None,
) -> list[str]:
    """Visit every module's screens (PNG NN-name.png into `out`); `check(name, page)` on each."""
    visited = []
    contexts: dict[str, Any] = {}
    try:
        for number, (_module, screen) in enumerate(
            ((m, s) for m in modules for s in m.screens), start=1
        ):
            public = screen.path.startswith("/login")
            key = "public" if public else screen.role
            if key not in contexts:
                # axe is injected as a script: let it past the CSP (test_browser runs under it)
                context = browser.new_context(
                    viewport=VIEWPORT, locale=language, bypass_csp=check is not None
                )
                context.add_cookies([{"name": "console_lang", "value": language, "url": base_url}])
                page = context.new_page()
                if not public:
                    login(page, base_url, STAFF[screen.role])
                contexts[key] = (context, page)
            page = contexts[key][1]
            page.goto(base_url + screen.path.format(**values), wait_until="networkidle")
            if page.locator(".chart[data-src]").count():
                page.wait_for_selector(".chart[data-ready='1'], .chart.empty")
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out / f"{number:02d}-{screen.name}.png"), full_page=False)
            if check is not None:
                check(screen.name, page)
            visited.append(screen.name)
    finally:
        for context, _ in contexts.values():
            context.close()
    return visited
