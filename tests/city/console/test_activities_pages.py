"""The activities pages over the real app (TestClient) and a real PostgreSQL: roles, CSRF, the
form's problems in words, publish → set_config queued for the centre's kiosks, a sign-up from
the ingest on the roster (pseudonym only), staff decisions, attendance with points, the CSV
and .xlsx exports, the audit log, English."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import psycopg
import pytest
from starlette.testclient import TestClient

from city.config import DEFAULT_CONTRACT_DIR, CityConfig
from city.contract import load_contract
from city.ingest_core import after_insert_of
from city.messages import decode_message
from city.store import BatchWriter
from testbed.city_events import KioskSim, uuid7
from testbed.fleet_seed import kiosk_row
from tests.fixtures.console import console_login, csrf_from

pytestmark = [pytest.mark.postgres]

ZONE = ZoneInfo("Asia/Shanghai")
SUBJECT = "ab" * 32


def form(**overrides: str) -> dict[str, str]:
    starts = (datetime.now(ZONE) + timedelta(days=3)).replace(hour=8, minute=30)
    values = {
        "centre": "440300/c1",
        "title_zh": "太极拳晨练",
        "title_en": "Morning tai chi",
        "place_zh": "中心一楼活动室",
        "place_en": "Activity room",
        "organiser_zh": "社区老年协会",
        "organiser_en": "Seniors' association",
        "audience_zh": "60岁以上居民",
        "audience_en": "Residents aged 60 and over",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "capacity": "2",
        "points": "10",
        "approval": "auto",
    }
    return values | overrides


def kiosks(db: str, *names: str) -> None:
    with psycopg.connect(db) as conn:
        for name in names:
            kiosk_row(conn, name, district="福田区")
        conn.commit()


def audit(db: str) -> list[str]:
    with psycopg.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]


def sign_up(config: CityConfig, activity_id: str, subject: str = SUBJECT) -> str:
    """An activity.signup from kiosk 440300/c1/k1 through the ingest's writer; its signup_id."""
    sim = KioskSim(centre="c1", kiosk="k1", clock=datetime.now(UTC) - timedelta(minutes=5))
    signup_id = uuid7()
    data = {
        "signup_id": signup_id,
        "activity_id": activity_id,
        "activities_version": "v1",
        "subject": subject,
        "key_id": "k2026",
        "session_id": "0193f1c2-7a4b-7c3d-8e5f-0123456789ab",
    }
    decoded = decode_message(
        sim.topic(),
        json.dumps({"events": [sim.event("activity.signup", data)]}).encode(),
        topic_root="gov-kiosk/v1",
        contract=load_contract(DEFAULT_CONTRACT_DIR),
        max_payload_bytes=10**6,
        raw_cap_bytes=100,
    )
    with psycopg.connect(config.database.url) as conn:
        writer = BatchWriter(conn, after_insert=after_insert_of(config))
        writer.write([decoded], datetime.now(UTC))
    return signup_id


def create(client: TestClient, **overrides: str) -> Any:
    token = csrf_from(client.get("/activities/new").text)
    return client.post(
        "/activities", data=form(**overrides) | {"csrf": token}, follow_redirects=False
    )


def post(client: TestClient, path: str, **data: str) -> Any:
    token = csrf_from(client.get("/activities").text)
    return client.post(path, data=data | {"csrf": token}, follow_redirects=False)


def test_viewers_read_and_operators_act(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """A viewer sees the list but cannot open the form, create, or export; the menu links it."""
    kiosks(console_config.database.url, "440300/c1/k1")
    console_login(console_client, "viewer")
    page = console_client.get("/activities")
    assert page.status_code == 200
    assert "活动报名" in page.text
    assert 'href="/activities"' in page.text
    assert console_client.get("/activities/new").status_code == 403
    token = csrf_from(page.text)
    refused = console_client.post("/activities", data=form() | {"csrf": token})
    assert refused.status_code == 403


def test_create_publish_signup_decide_attend_export(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """The whole staff flow, each step audited; the roster shows pseudonyms, never more."""
    db = console_config.database.url
    kiosks(db, "440300/c1/k1", "440300/c1/k2", "440300/c2/k1")
    console_login(console_client, "operator")
    made = create(console_client)
    assert made.status_code == 303
    activity_id = re.fullmatch(r"/activities/([a-z0-9-]+)\?done=created", made.headers["location"])
    assert activity_id is not None
    aid = activity_id[1]
    page = console_client.get(f"/activities/{aid}")
    assert "太极拳晨练" in page.text
    assert "草稿" in page.text
    assert post(console_client, f"/activities/{aid}/publish").status_code == 303
    with psycopg.connect(db) as conn:
        pushed = conn.execute(
            "SELECT kiosk, args ->> 'kind' FROM commands WHERE type = 'set_config' ORDER BY kiosk"
        ).fetchall()
    assert pushed == [("440300/c1/k1", "activities"), ("440300/c1/k2", "activities")]

    first = sign_up(console_config, aid)
    second = sign_up(console_config, aid, "cd" * 32)
    third = sign_up(console_config, aid, "ef" * 32)  # capacity 2: refused, full
    page = console_client.get(f"/activities/{aid}")
    assert "k2026:abababababab…" in page.text
    assert SUBJECT not in page.text.replace(f'title="k2026:{SUBJECT}"', "")
    assert page.text.count("已确认") >= 2
    assert "名额已满" in page.text

    assert post(console_client, f"/activities/{aid}/signups/{first}/attend").status_code == 303
    again = post(console_client, f"/activities/{aid}/signups/{first}/attend")
    assert again.headers["location"].endswith("done=already_attended#roster")
    assert post(console_client, f"/activities/{aid}/signups/{third}/confirm").status_code == 409
    refused = post(
        console_client, f"/activities/{aid}/signups/{second}/refuse", reason="请到服务台"
    )
    assert refused.status_code == 303
    assert post(console_client, f"/activities/{aid}/signups/{third}/confirm").status_code == 303
    with psycopg.connect(db) as conn:
        account = conn.execute(
            "SELECT balance FROM points_accounts WHERE subject = %s", (SUBJECT,)
        ).fetchone()
        answers = conn.execute(
            "SELECT args ->> 'signup_id', args ->> 'outcome', state FROM commands"
            " WHERE type = 'activity_signup_result' ORDER BY created_at"
        ).fetchall()
    assert account == (10,)
    assert (second, "refused", "waiting") in answers
    assert (third, "confirmed", "waiting") in answers

    csv = console_client.get(f"/activities/{aid}/roster.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("序号,报名时间,密钥编号,居民假名")
    assert SUBJECT in text
    assert "请到服务台" in text
    xlsx = console_client.get(f"/activities/{aid}/roster.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:4] == ["序号", "报名时间", "密钥编号", "居民假名"]
    assert sheet.max_row == 4
    actions = audit(db)
    for action in (
        "activity.create", "activity.publish", "activity.push", "activity.attendance",
        "points.earn", "activity.signup.refuse", "activity.signup.confirm", "activity.export",
    ):  # fmt: skip
        assert action in actions, action


def test_the_form_says_what_is_wrong_in_words(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """English in the Chinese field, an end before the start, no places: 422 with each."""
    kiosks(console_config.database.url, "440300/c1/k1")
    console_login(console_client, "operator")
    bad = create(console_client, title_zh="Tai chi", capacity="0", ends_at="2020-01-01T00:00")
    assert bad.status_code == 422
    assert "中文内容需要包含汉字" in bad.text
    assert "结束时间须晚于开始时间" in bad.text
    assert "请填写 1 到 100000 之间的整数" in bad.text
    assert 'aria-invalid="true"' in bad.text


def test_csrf_edit_cancel_and_english(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """A POST without the token is 403; an edit below the confirmed count is refused; a
    cancellation tells the residents; the English page is English."""
    db = console_config.database.url
    kiosks(db, "440300/c1/k1")
    console_login(console_client, "operator")
    aid = create(console_client).headers["location"].split("/")[2].split("?")[0]
    assert console_client.post(f"/activities/{aid}/publish").status_code == 403
    post(console_client, f"/activities/{aid}/publish")
    sign_up(console_config, aid)
    sign_up(console_config, aid, "cd" * 32)
    token = csrf_from(console_client.get(f"/activities/{aid}").text)
    smaller = console_client.post(
        f"/activities/{aid}/edit", data=form(capacity="1") | {"csrf": token}
    )
    assert smaller.status_code == 409
    assert "名额不能少于此数" in smaller.text
    moved = console_client.post(
        f"/activities/{aid}/edit", data=form(centre="440300/c2") | {"csrf": token}
    )
    assert moved.status_code == 409
    renamed = console_client.post(
        f"/activities/{aid}/edit",
        data=form(title_zh="太极拳（提高班）", capacity="5") | {"csrf": token},
        follow_redirects=False,
    )
    assert renamed.status_code == 303
    assert post(console_client, f"/activities/{aid}/cancel").status_code == 303
    with psycopg.connect(db) as conn:
        told = conn.execute(
            "SELECT count(*) FROM commands WHERE type = 'activity_signup_result'"
            " AND args ->> 'outcome' = 'refused' AND args ->> 'reason' LIKE '活动已取消%%'"
        ).fetchone()
    assert told == (2,)
    assert "activity.cancel" in audit(db)
    console_client.cookies.set("console_lang", "en")
    page = console_client.get(f"/activities/{aid}")
    assert "Roster" in page.text
    assert "Cancelled" in page.text
    assert console_client.get("/activities/Not-An-Id").status_code == 400
    assert console_client.get("/activities/nothing-here").status_code == 404
