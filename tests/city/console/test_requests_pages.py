"""The requests pages through the real app: the inbox, a request, assign → answer → close,
the call-back number (masked; shown once, audited, operators only) and the exports."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import openpyxl
import psycopg
import pytest
from starlette.testclient import TestClient

from city.audit import entries
from city.config import CityConfig
from common.sealed_box import generate_key_pair
from testbed.console import STAFF
from testbed.request_events import file_request
from tests.fixtures.console import console_login, csrf_from

pytestmark = pytest.mark.postgres
PHONE = "13912345678"
MASKED = "139****5678"


def _file(config: CityConfig, **kwargs: Any) -> str:
    event = file_request(config.database.url, **kwargs)
    return str(event["data"]["request_id"])


def _state(config: CityConfig, request_id: str) -> tuple[str, str | None, str | None]:
    with psycopg.connect(config.database.url) as conn:
        row = conn.execute(
            "SELECT state, assignee, answer FROM requests WHERE request_id = %s", (request_id,)
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def _post(client: TestClient, path: str, page: str, **data: str) -> Any:
    return client.post(path, data={"csrf": csrf_from(page), **data}, follow_redirects=False)


def test_the_inbox_counts_filters_and_needs_a_login(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """Counts per state, the oldest waiting, filters (state, category, ticket, mine); viewers
    see it."""
    first = _file(console_config, category="repairs")
    second = _file(console_config, category="sanitation", text="垃圾没人清理")
    anonymous = console_client.get("/requests", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    console_login(console_client, "viewer")
    page = console_client.get("/requests").text
    assert f'id="request-{first}"' in page
    assert f'id="request-{second}"' in page
    assert "最久待答复" in page
    assert "维修报修" in page
    only = console_client.get("/requests", params={"category": "sanitation"}).text
    assert f'id="request-{first}"' not in only
    assert f'id="request-{second}"' in only
    with psycopg.connect(console_config.database.url) as conn:
        ticket_row = conn.execute(
            "SELECT ticket FROM requests WHERE request_id = %s", (first,)
        ).fetchone()
    assert ticket_row is not None
    typed = ticket_row[0].replace("-", "").lower()
    by_ticket = console_client.get("/requests", params={"ticket": typed}).text
    assert f'id="request-{first}"' in by_ticket
    assert f'id="request-{second}"' not in by_ticket
    mine = console_client.get("/requests", params={"mine": "1"}).text
    assert "没有符合条件的诉求" in mine
    for bad in ({"state": "nope"}, {"category": "Bad!"}, {"ticket": "x" * 40}, {"centre": "a/b/c"}):
        assert console_client.get("/requests", params=bad).status_code == 400
    console_client.cookies.set("console_lang", "en")
    english = console_client.get("/requests").text
    assert "Resident requests" in english
    assert "Oldest waiting" in english


def test_assign_answer_close_through_the_pages_each_audited(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """An operator assigns to themselves, answers and closes; each step in the history and the
    audit log; refused steps (a phone number in the answer, closing early) change nothing."""
    request_id = _file(console_config, phone=PHONE)
    console_login(console_client, "operator")
    url = f"/requests/{request_id}"
    page = console_client.get(url).text
    assert "请先指派处理人" in page
    early = _post(console_client, f"{url}/close", page)
    assert early.status_code == 409
    assert _state(console_config, request_id) == ("received", None, None)

    done = _post(console_client, f"{url}/assign", page, assignee=STAFF["operator"], note="我来跟进")
    assert done.status_code == 303
    assert done.headers["location"] == f"{url}?done=assigned"
    assert _state(console_config, request_id) == ("assigned", STAFF["operator"], None)

    page = console_client.get(url).text
    refused = _post(
        console_client,
        f"{url}/answer",
        page,
        answer=f"请拨打 {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]} 联系",
    )
    assert refused.status_code == 400
    assert "不能有电话号码" in refused.text
    assert PHONE[3:7] not in refused.text
    too_long = _post(console_client, f"{url}/answer", page, answer="好" * 501)
    assert too_long.status_code == 400
    assert _state(console_config, request_id) == ("assigned", STAFF["operator"], None)

    answered = _post(console_client, f"{url}/answer", page, answer="已派电工今天下午维修。")
    assert answered.status_code == 303
    assert _state(console_config, request_id) == (
        "answered",
        STAFF["operator"],
        "已派电工今天下午维修。",
    )
    page = console_client.get(f"{url}?done=answered").text
    assert "答复已保存" in page
    closed = _post(console_client, f"{url}/close", page, note="居民已确认")
    assert closed.status_code == 303
    assert _state(console_config, request_id)[0] == "closed"
    page = console_client.get(url).text
    assert "此诉求已关闭" in page
    assert "居民已确认" in page
    again = _post(console_client, f"{url}/answer", page, answer="再改")
    assert again.status_code == 409

    with psycopg.connect(console_config.database.url) as conn:
        audit, _total = entries(conn, action="request.")
    actions = [(e.action, e.actor, e.subject, e.detail.get("to")) for e in reversed(audit)]
    assert actions == [
        ("request.assign", STAFF["operator"], request_id, "assigned"),
        ("request.answer", STAFF["operator"], request_id, "answered"),
        ("request.close", STAFF["operator"], request_id, "closed"),
    ]


def test_viewers_cannot_act_and_every_post_needs_its_csrf_token(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """A viewer gets 403 on every action; an operator's POST without the token is 403 too."""
    request_id = _file(console_config, phone=PHONE)
    url = f"/requests/{request_id}"
    console_login(console_client, "viewer")
    page = console_client.get(url).text
    assert MASKED in page
    assert 'id="reveal"' not in page
    assert "操作员及以上角色" in page
    for action in ("assign", "answer", "close", "callback"):
        assert _post(console_client, f"{url}/{action}", page, answer="好").status_code == 403
    console_client.post("/logout", data={"csrf": csrf_from(page)})
    console_login(console_client, "operator")
    for action in ("assign", "callback"):
        response = console_client.post(f"{url}/{action}", data={}, follow_redirects=False)
        assert response.status_code == 403
    assert _state(console_config, request_id) == ("received", None, None)
    assert console_client.get("/requests/not-a-uuid").status_code == 404
    missing = console_client.get("/requests/0190f1d2-3b4c-7d5e-8f60-718293a4b5c6")
    assert missing.status_code == 404


def test_the_call_back_number_is_masked_until_asked_for_then_shown_once_and_audited(
    console_client: TestClient, console_config: CityConfig, caplog: pytest.LogCaptureFixture
) -> None:
    """The page shows 139****5678; "show" opens it with the private key for that answer only
    and writes who saw which request's number; nothing else ever holds the number."""
    caplog.set_level(logging.DEBUG)
    request_id = _file(console_config, phone=PHONE, text="楼道灯坏了")
    console_login(console_client, "operator")
    url = f"/requests/{request_id}"
    page = console_client.get(url).text
    assert MASKED in page
    assert PHONE not in page
    assert 'id="reveal"' in page
    shown = _post(console_client, f"{url}/callback", page)
    assert shown.status_code == 200
    assert re.search(rf'id="callback-number">{PHONE}<', shown.text)
    assert shown.headers["cache-control"] == "no-store"
    with psycopg.connect(console_config.database.url) as conn:
        audit, total = entries(conn, action="request.callback_reveal")
    assert total == 1
    assert (audit[0].actor, audit[0].subject) == (STAFF["operator"], request_id)
    assert PHONE not in str(audit[0].detail)
    # shown once: the next view is masked again
    later = console_client.get(url).text
    assert PHONE not in later
    assert MASKED in later
    everywhere = [
        console_client.get("/requests").text,
        console_client.get("/requests", params={"state": "all"}).text,
        console_client.get("/audit").text,
        console_client.get("/requests/export.csv").content.decode("utf-8-sig"),
    ]
    for text in everywhere:
        assert PHONE not in text
        assert MASKED not in text
    assert PHONE not in caplog.text
    with psycopg.connect(console_config.database.url) as conn:
        dump = conn.execute(
            "SELECT string_agg(t::text, '') FROM (SELECT row_to_json(r) t FROM requests r"
            " UNION ALL SELECT row_to_json(h) FROM request_history h"
            " UNION ALL SELECT row_to_json(a) FROM audit_log a) x"
        ).fetchone()
    assert dump is not None
    assert PHONE not in dump[0]


def test_a_number_sealed_to_another_key_is_not_opened(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """Sealed to a key this city does not hold: the page says so; "show" opens nothing, audits
    nothing."""
    _private, public = generate_key_pair()
    request_id = _file(console_config, phone=PHONE, key_id="k-old", public_key=public)
    console_login(console_client, "operator")
    page = console_client.get(f"/requests/{request_id}").text
    assert "使用另一把密钥（k-old）" in page
    assert 'id="reveal"' not in page
    assert _post(console_client, f"/requests/{request_id}/callback", page).status_code == 409
    with psycopg.connect(console_config.database.url) as conn:
        assert entries(conn, action="request.callback_reveal")[1] == 0


def test_exports_hold_no_phone_number_and_are_audited(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """CSV and .xlsx of the filtered inbox: the call back as yes/no, a number in the text
    masked, formulas neutralised; every export in the audit log."""
    _file(console_config, phone=PHONE, text="灯坏了，电话13800138000")
    _file(console_config, text='=HYPERLINK("http://x")', category="other")
    console_login(console_client, "viewer")
    csv_answer = console_client.get("/requests/export.csv", params={"state": "all"})
    assert csv_answer.status_code == 200
    assert csv_answer.headers["content-disposition"].startswith('attachment; filename="requests_')
    text = csv_answer.content.decode("utf-8-sig")
    assert "受理号" in text.splitlines()[0]
    for secret in (PHONE, MASKED, "13800138000"):
        assert secret not in text
    assert "138****8000" in text
    assert "'=HYPERLINK" in text
    xlsx = console_client.get("/requests/export.xlsx", params={"state": "all"})
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    cells = [str(c) for row in book.active.iter_rows(values_only=True) for c in row]
    assert not [c for c in cells if PHONE in c or "13800138000" in c]
    assert "是" in cells
    assert len(list(book.active.iter_rows())) == 3
    assert console_client.get("/requests/export.pdf").status_code == 404
    with psycopg.connect(console_config.database.url) as conn:
        audit, total = entries(conn, action="request.export")
    assert total == 2
    assert {e.detail["format"] for e in audit} == {"csv", "xlsx"}


def test_a_request_locked_by_someone_else_is_busy_not_an_error(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """Another transaction holds the row past the lock timeout: 409 in plain words, no change."""
    request_id = _file(console_config)
    console_login(console_client, "operator")
    page = console_client.get(f"/requests/{request_id}").text
    with psycopg.connect(console_config.database.url) as holder:
        holder.execute("SELECT 1 FROM requests WHERE request_id = %s FOR UPDATE", (request_id,))
        busy = _post(console_client, f"/requests/{request_id}/assign", page)
        holder.rollback()
    assert busy.status_code == 409
    assert "有人正在处理" in busy.text
    assert _state(console_config, request_id) == ("received", None, None)
    with psycopg.connect(console_config.database.url) as conn:
        assert entries(conn, action="request.")[1] == 0
