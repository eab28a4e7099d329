"""The red points pages in Debian's Chromium (Playwright) against uvicorn and a real PostgreSQL:
an operator finds a pseudonym, credits a volunteering shift (twice: credited once), adds and
withdraws a reward and downloads the ledger; axe-core finds no serious violation on the way.
Screenshots in build/screenshots/console/points-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from city.points.web.demo import DEMO_KEY, demo_subject, seed_points_demo
from testbed.console import STAFF, login
from testbed.console_tour import serious_violations
from tests.fixtures.console import ConsoleUnderTest, screenshot

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def axe_page(console_browser: Any) -> Iterator[Any]:
    """A page whose context lets axe-core in (the CSP blocks injected scripts otherwise)."""
    context = console_browser.new_context(
        viewport={"width": 1920, "height": 1080},
        locale="zh-CN",
        bypass_csp=True,
        accept_downloads=True,
    )
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def _no_serious(page: Any) -> None:
    found = serious_violations(page)
    assert not found, [(v["id"], v["impact"], v["nodes"][0]["html"][:120]) for v in found]


def test_an_operator_credits_a_shift_once_and_edits_the_catalogue(
    console_server: ConsoleUnderTest, axe_page: Any
) -> None:
    """Search → account → credit (and a repeat) → catalogue create and withdraw → export."""
    with psycopg.connect(console_server.db_url) as conn:
        seed_points_demo(conn)
    page, base = axe_page, console_server.url
    login(page, base, STAFF["operator"])
    page.click("nav a[href='/points']")
    page.wait_for_selector("#recent-entries")
    _no_serious(page)
    screenshot(page, "points-overview")

    subject = demo_subject(2)
    page.fill("#q", subject[:6].upper())
    page.click("form[role=search] button[type=submit]")
    page.wait_for_selector("#search-results")
    page.click(f"#search-results a[href='/points/accounts/{DEMO_KEY}/{subject}']")
    page.wait_for_selector("#balance")
    before = int(page.inner_text("#balance").replace(",", ""))
    _no_serious(page)

    page.click("a.button")  # credit a volunteering shift, the pseudonym filled in
    page.wait_for_selector("#earn-form")
    assert page.input_value("#e-subject") == subject
    page.fill("#e-points", "25")
    page.fill("#e-reference", "vol-2026-12-05-clinic")
    page.fill("#e-note", "诊所导诊")
    _no_serious(page)
    screenshot(page, "points-earn")
    page.click("#earn-form button[type=submit]")
    page.wait_for_selector("#earn-done")
    assert "已记入积分" in page.inner_text("#earn-done")
    assert int(page.inner_text("#balance").replace(",", "")) == before + 25
    assert "诊所导诊" in page.inner_text("#account-entries")
    screenshot(page, "points-account-credited")

    page.go_back()  # the same form again, submitted a second time
    page.wait_for_selector("#earn-form")
    page.fill("#e-points", "25")
    page.fill("#e-reference", "vol-2026-12-05-clinic")
    page.click("#earn-form button[type=submit]")
    page.wait_for_selector("#earn-done")
    assert "已经记过积分" in page.inner_text("#earn-done")
    assert int(page.inner_text("#balance").replace(",", "")) == before + 25
    _no_serious(page)

    page.goto(f"{base}/points/rewards")
    page.fill("#r-id", "tea")
    page.fill("#r-title-zh", "茶叶一包")
    page.fill("#r-title-en", "Tea")
    page.fill("#r-points", "30")
    page.fill("#r-stock", "12")
    page.click("#reward-create button[type=submit]")
    page.wait_for_selector("#reward-tea")
    assert "已新增奖励 tea" in page.inner_text("main")
    page.click("#reward-tea a")
    page.wait_for_selector("#reward-edit")
    _no_serious(page)
    page.uncheck("#reward-edit input[name=active]")
    page.fill("#r-points", "35")
    page.click("#reward-edit button[type=submit]")
    page.wait_for_selector("#reward-tea.withdrawn")
    assert "35" in page.inner_text("#reward-tea")
    _no_serious(page)
    screenshot(page, "points-rewards")

    page.goto(f"{base}/points")
    with page.expect_download() as download:
        page.click("a[data-export=entries-csv]")
    assert download.value.suggested_filename.startswith("points_entries_")
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "vol-2026-12-05-clinic" in exported

    page.click("a[lang=en]")
    page.wait_for_selector("text=Newest ledger entries")
    _no_serious(page)
    screenshot(page, "points-overview-en")
    with psycopg.connect(console_server.db_url) as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit_log WHERE action LIKE 'points.%%' AND actor = %s"
                " ORDER BY id",
                (STAFF["operator"],),
            )
        ]
    assert actions == [
        "points.earn",
        "points.earn_repeat",
        "points.reward",
        "points.reward",
        "points.export",
    ]
