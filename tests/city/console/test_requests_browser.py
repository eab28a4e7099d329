"""A request worked on in Debian's Chromium (Playwright) against the console under uvicorn:
inbox → request → assign to me → the call-back number shown once → answer → close, axe-core
on every page on the way. Screenshots in build/screenshots/console/requests-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from testbed.console import STAFF, VIEWPORT, login
from testbed.console_tour import serious_violations
from testbed.fleet_seed import kiosk_row
from testbed.request_events import file_request
from tests.fixtures.console import ConsoleUnderTest, screenshot

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PHONE = "13912345678"


@pytest.fixture
def axe_page(console_browser: Any) -> Iterator[Any]:
    """A page whose context lets axe-core in (the console's CSP would refuse its script)."""
    context = console_browser.new_context(viewport=VIEWPORT, locale="zh-CN", bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def _no_serious_violations(page: Any, where: str) -> None:
    found = [f"{v['id']}: {v['help']}" for v in serious_violations(page)]
    assert not found, f"{where}: {found}"


@pytest.mark.timeout(240)
def test_an_operator_works_a_request_from_the_inbox_to_closed(
    console_server: ConsoleUnderTest, axe_page: Any
) -> None:
    """Every step through the forms; the number is masked except in the one answer that
    shows it, and the audit log says who saw it."""
    with psycopg.connect(console_server.db_url) as conn:
        kiosk_row(conn, "440300/futian-xmh/k01", district="福田区")
    event = file_request(
        console_server.db_url,
        phone=PHONE,
        text="5栋楼道灯坏了好几天，晚上看不见台阶。",
        location={"building": "5栋", "unit": "2单元"},
    )
    file_request(console_server.db_url, category="sanitation", text="垃圾桶满了没人清理")
    request_id, ticket = event["data"]["request_id"], event["data"]["ticket"]
    page, base = axe_page, console_server.url
    login(page, base, STAFF["operator"])

    page.goto(f"{base}/requests")
    page.wait_for_selector("table.requests")
    assert "群众诉求" in page.title()
    assert page.inner_text(".request-counts .rstate-open .count") == "2"
    assert "最久待答复" in page.inner_text("#oldest-open")
    _no_serious_violations(page, "inbox")
    screenshot(page, "requests-inbox")

    page.select_option("#f-category", "repairs")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**category=repairs**")
    assert page.locator("table.requests tbody tr").count() == 1
    page.click(f"#request-{request_id} a.ticket")
    page.wait_for_url(f"**/requests/{request_id}")
    assert ticket in page.inner_text("h1")
    assert page.inner_text("#callback-masked") == "139****5678"
    assert PHONE not in page.content()
    _no_serious_violations(page, "request")
    screenshot(page, "requests-request")

    page.select_option("#assignee", STAFF["operator"])
    page.fill("#assign-note", "我来跟进")
    page.click("#assign-form button[type=submit]")
    page.wait_for_url("**done=assigned")
    assert page.inner_text("#request-state") == "处理中"
    assert page.inner_text("#request-assignee") == STAFF["operator"]

    page.click("#reveal")
    page.wait_for_selector("#callback-number")
    assert page.inner_text("#callback-number") == PHONE
    _no_serious_violations(page, "request with the number shown")
    screenshot(page, "requests-callback-shown")
    page.goto(f"{base}/requests/{request_id}")
    assert PHONE not in page.content()

    page.fill("#answer", "请拨打 13800138000 联系我们")
    page.click("#answer-form button[type=submit]")
    page.wait_for_selector(".notice.error")
    assert "不能有电话号码" in page.inner_text(".notice.error")
    assert "13800138000" not in page.content()
    page.fill("#answer", "已派电工今天下午到5栋维修，谢谢您的反映。")
    page.click("#answer-form button[type=submit]")
    page.wait_for_url("**done=answered")
    assert page.inner_text("#request-state") == "已答复"
    assert "已派电工" in page.inner_text("#request-answer")

    page.click("#close-form button[type=submit]")
    page.wait_for_url("**done=closed")
    assert page.inner_text("#request-state") == "已关闭"
    history = page.inner_text("#history")
    for step in ("终端提交", f"指派给 {STAFF['operator']}", "答复", "关闭", "我来跟进"):
        assert step in history
    _no_serious_violations(page, "closed request")
    screenshot(page, "requests-closed")

    page.goto(f"{base}/audit")
    audit = page.inner_text("main")
    for action in ("request.assign", "request.callback_reveal", "request.answer", "request.close"):
        assert action in audit
    assert PHONE not in page.content()

    page.click("a[lang=en]")
    page.goto(f"{base}/requests?state=all")
    assert "Resident requests" in page.title()
    _no_serious_violations(page, "inbox (en)")
    page.goto(f"{base}/requests/{request_id}")
    assert "Closed" in page.inner_text("#request-state")
    _no_serious_violations(page, "request (en)")
    screenshot(page, "requests-request-en")
