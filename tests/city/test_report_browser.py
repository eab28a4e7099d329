"""The report pages in Debian's Chromium (Playwright) on the console served by uvicorn: an
operator closes a 差评's follow-up with an answer and downloads exports; every report page
is photographed at 1920x1080 (build/screenshots/console/reports-*.png)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import psycopg
import pytest

from testbed.console import STAFF, login
from testbed.report_seed import seed_district
from tests.fixtures.console import ConsoleUnderTest, screenshot

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
FIRST = TODAY - timedelta(days=13)
PERIOD = f"from={FIRST}&to={TODAY}"


@pytest.fixture
def seeded(console_server: ConsoleUnderTest) -> ConsoleUnderTest:
    """The module's console (every table emptied) with two weeks of a small district."""
    seed_district(console_server.db_url, FIRST)
    return console_server


def _charts_drawn(page: Any) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.report-chart')]"
        ".every(e => e.dataset.ready === '1' && e.querySelector('canvas'))"
    )


def test_followup_closed_and_exports_downloaded(
    seeded: ConsoleUnderTest, console_page: Any, tmp_path: Path
) -> None:
    """Ratings → follow-ups → answer and close one → download CSV and Excel."""
    page, base = console_page, seeded.url
    login(page, base, STAFF["operator"])
    page.goto(f"{base}/reports/ratings?{PERIOD}")
    _charts_drawn(page)
    assert "满意率" in page.inner_text(".kpis")
    screenshot(page, "reports-ratings")

    page.click(".kpis a[href*='status=open']")
    page.wait_for_selector("table.followups")
    first = page.locator("tr.followup").first
    row_id = first.get_attribute("id")
    assert row_id is not None
    screenshot(page, "reports-followups")
    first.locator("textarea").fill("已电话回访群众，并在高峰时段增派引导员。")
    first.locator("button.primary").click()
    page.wait_for_url("**done=closed**")
    assert "整改事项已办结" in page.inner_text(".notice")
    with psycopg.connect(seeded.db_url) as conn:
        row = conn.execute(
            "SELECT status, answer, closed_by FROM report_followups WHERE event_id = %s",
            (row_id.removeprefix("followup-"),),
        ).fetchone()
    assert row == ("closed", "已电话回访群众，并在高峰时段增派引导员。", STAFF["operator"])

    page.goto(f"{base}/reports/followups?{PERIOD}&status=closed")
    assert "增派引导员" in page.inner_text("table.followups")
    screenshot(page, "reports-followups-closed")

    with page.expect_download() as download_info:
        page.click("a[data-export='xlsx']")
    download = download_info.value
    assert download.suggested_filename == f"followups_{FIRST}_{TODAY}.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    sheet = openpyxl.load_workbook(io.BytesIO(saved.read_bytes())).worksheets[0]
    answers = [c.value for c in sheet["L"]]
    assert "已电话回访群众，并在高峰时段增派引导员。" in answers
    with page.expect_download() as download_info:
        page.click("a[data-export='csv']")
    csv_path = tmp_path / "followups.csv"
    download_info.value.save_as(csv_path)
    assert csv_path.read_bytes().startswith("\ufeff编号,".encode())


def test_report_pages_screenshots(seeded: ConsoleUnderTest, console_page: Any) -> None:
    """Usage (charts and heat map), health (classes, early warning), one centre, English."""
    page, base = console_page, seeded.url
    login(page, base, STAFF["operator"])
    page.goto(f"{base}/reports/usage?{PERIOD}")
    _charts_drawn(page)
    assert "nanshan-yh" in page.inner_text("#table-opening_check")
    screenshot(page, "reports-usage")
    page.goto(f"{base}/reports/health?{PERIOD}")
    _charts_drawn(page)
    assert page.locator("#table-warnings .pseudonym").count() >= 1
    screenshot(page, "reports-health")
    page.goto(f"{base}/reports/ratings?{PERIOD}&centre=440300/futian-xmh")
    _charts_drawn(page)
    screenshot(page, "reports-ratings-centre")
    page.goto(f"{base}/lang/en?next=/reports/ratings")
    page.goto(f"{base}/reports/ratings?{PERIOD}")
    _charts_drawn(page)
    assert "Satisfaction rate" in page.inner_text(".kpis")
    screenshot(page, "reports-ratings-en")
    page.goto(f"{base}/reports/usage?{PERIOD}")
    _charts_drawn(page)
    screenshot(page, "reports-usage-en")
