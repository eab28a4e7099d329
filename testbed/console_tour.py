"""Every console page with demonstration data: for `make screenshots` and the accessibility
test. The pages come from the route registry (testbed/console_pages.py: every GET route of
every mounted module, plus the modules' extra Screens); each module seeds its own demo rows
(ConsoleModule.demo). The tour asks the server what each page is (public, needs a session,
a redirect, JSON, a download), logs in once per role and shows the HTML ones in one language."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from city.console.modules import ConsoleModule
from testbed.console import STAFF, VIEWPORT, login
from testbed.console_pages import ConsolePage, console_pages
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
    # as the kiosk row says: the disk filling up over the week down to 180 MB free
    conn.execute(
        "UPDATE events SET data = jsonb_set(data, '{free_disk_mb}', to_jsonb(round("
        "180 + extract(epoch FROM now() - ts) / 3600 * 12)))"
        " WHERE kiosk = %s AND type = 'heartbeat'",
        (DEMO_KIOSK,),
    )
    freshen_heartbeats(conn)
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
    city, centre, name = DEMO_KIOSK.split("/")
    # path parameters by name (testbed/console_pages.py): the kiosk page, an open alert, /lang
    return {
        "kiosk": DEMO_KIOSK,
        "city": city,
        "centre": centre,
        "name": name,
        "alert": str(alert),
        "alert_id": str(alert),
        "code": "en",
    }


def freshen_heartbeats(conn: psycopg.Connection) -> None:
    """Every connected kiosk's last heartbeat 20-60 s ago, not all in the same second: call it
    before each language's tour, or the fleet goes stale (degraded: no heartbeat after 3 min)
    while the tours run."""
    conn.execute(
        "UPDATE kiosks SET last_heartbeat_at = now() - (20 + abs(hashtext(kiosk)) % 40)"
        " * interval '1 s', heartbeat_ts = now() - (20 + abs(hashtext(kiosk)) % 40)"
        " * interval '1 s' WHERE last_heartbeat_at IS NOT NULL"
    )


def seed_demo(db_url: str, modules: Sequence[ConsoleModule]) -> dict[str, str]:
    """The console's demo data, then every module's own; the path values of all of them."""
    with psycopg.connect(db_url) as conn:
        return seed_all(conn, modules)


def _reports_demo(conn: psycopg.Connection) -> None:
    """A month of a small district's resident events, through the ingest's own writer."""
    from testbed.report_seed import seed_district_on

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    seed_district_on(conn, today - timedelta(days=29), days=30)


# Demo data a shipped module cannot make itself (it is built from the test bed's contract-valid
# events, and the shipped city package never imports the test bed), by module name.
TESTBED_DEMOS: dict[str, Callable[[psycopg.Connection], None]] = {"reports": _reports_demo}


def seed_all(conn: psycopg.Connection, modules: Sequence[ConsoleModule]) -> dict[str, str]:
    """seed_demo on an open connection."""
    values = seed_console_demo(conn)
    for module in modules:
        if module.demo is not None:
            values.update(module.demo(conn) or {})
        if module.name in TESTBED_DEMOS:
            TESTBED_DEMOS[module.name](conn)
    return values


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in result if v.get("impact") in SERIOUS]


@dataclass
class TourResult:
    """What a tour saw: pages shown (name -> how), the GET routes that are not pages (a
    redirect, JSON, a download: name -> why) and the problems (unreachable or failing)."""

    shown: dict[str, str] = field(default_factory=dict)
    not_pages: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class _Visitor:
    """Browser contexts per role (logged in once), and probe contexts beside them: a probe
    (e.g. GET /lang/en) must not change the cookies of the context that takes the shots."""

    def __init__(self, browser: Any, base_url: str, language: str, bypass_csp: bool) -> None:
        self.browser, self.base_url, self.language = browser, base_url, language
        self.bypass_csp = bypass_csp
        self.contexts: dict[str, tuple[Any, Any]] = {}
        self.probes: dict[str, Any] = {}

    def page(self, key: str) -> Any:
        """The page of the context for `key` ("public" or a role)."""
        if key not in self.contexts:
            # axe is injected as a script: let it past the CSP (test_browser runs under it)
            context = self.browser.new_context(
                viewport=VIEWPORT, locale=self.language, bypass_csp=self.bypass_csp
            )
            context.add_cookies(
                [{"name": "console_lang", "value": self.language, "url": self.base_url}]
            )
            page = context.new_page()
            if key != "public":
                login(page, self.base_url, STAFF[key])
            self.contexts[key] = (context, page)
        return self.contexts[key][1]

    def probe(self, key: str, path: str) -> tuple[int, str, str]:
        """(status, content type, Location) of GET `path` as `key`, redirects not followed;
        an HTML answer that is no whole document (an htmx fragment) says "text/html-fragment"."""
        if key not in self.probes:
            state = self.page(key).context.storage_state()
            self.probes[key] = self.browser.new_context(storage_state=state)
        answer = self.probes[key].request.get(self.base_url + path, max_redirects=0)
        headers = answer.headers
        kind = headers.get("content-type", "")
        if kind.startswith("text/html") and answer.status == 200:
            head = answer.body()[:512].lstrip().lower()
            if not head.startswith((b"<!doctype html", b"<html")):
                kind = "text/html-fragment"
        return answer.status, kind, headers.get("location", "")

    def close(self) -> None:
        """Close every context."""
        for context in [*(c for c, _ in self.contexts.values()), *self.probes.values()]:
            context.close()


def _classify(visitor: _Visitor, page: ConsolePage) -> tuple[str | None, str]:
    """(context key, "") for a page to show, or (None, why not)."""
    keys = [page.role] if page.role else ["public", "admin"]
    for key in keys:
        status, kind, location = visitor.probe(key, page.path)
        if status in (302, 303, 307) and key == "public" and location.startswith("/login"):
            continue  # needs a session: try as an admin
        if status in (301, 302, 303, 307, 308):
            return None, f"redirect {status} to {location}"
        if status != 200:
            return None, f"HTTP {status}"
        if kind == "text/html-fragment":
            return None, "an HTML fragment (htmx), shown inside its page"
        if not kind.startswith("text/html"):
            return None, kind.split(";")[0] or "no content type"
        return key, ""
    return None, "unreachable"


def tour(
    browser: Any,
    base_url: str,
    modules: Sequence[ConsoleModule],
    values: dict[str, str],
    *,
    language: str = "zh-CN",
    out: Path | None = None,
    check: Callable[[str, Any], None] | None = None,
) -> TourResult:
    """Visit every page of testbed/console_pages.py (a 1920x1080 PNG NN-name.png each into
    `out`); `check(name, page)` on each. A page answering 4xx/5xx, or a route the tour has no
    values for, is a problem."""
    pages, unreachable = console_pages(modules, values)
    result = TourResult(problems=[str(u) for u in unreachable])
    visitor = _Visitor(browser, base_url, language, bypass_csp=check is not None)
    number = 0
    try:
        for item in pages:
            key, why = _classify(visitor, item)
            if key is None:
                if why.startswith("HTTP") or why == "unreachable":
                    result.problems.append(f"{item.name}: GET {item.path} answered {why}")
                else:
                    result.not_pages[item.name] = why
                continue
            page = visitor.page(key)
            page.goto(base_url + item.path, wait_until="networkidle")
            if page.locator(".chart[data-src]").count():
                page.wait_for_selector(".chart[data-ready='1'], .chart.empty")
            number += 1
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out / f"{number:02d}-{item.name}.png"), full_page=False)
            if check is not None:
                check(item.name, page)
            result.shown[item.name] = f"{item.path} as {key}"
    finally:
        visitor.close()
    return result
