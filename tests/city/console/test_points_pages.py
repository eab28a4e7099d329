"""The red points pages over the real app (TestClient) and a real PostgreSQL: what each role
sees, CSRF, crediting a shift once, the catalogue's edits, the search, totals and exports
(docs/points.md "Console pages")."""

from __future__ import annotations

import csv
import io
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from starlette.testclient import TestClient

from city.config import CityConfig
from city.points import ledger, staff
from city.points.web.demo import DEMO_KEY, demo_subject, seed_points_demo
from common.ids import uuid7
from tests.fixtures.console import console_login, csrf_from

pytestmark = pytest.mark.postgres

SUBJECT = "ab" * 32
OTHER = "ac" * 32
ACCOUNT = f"/points/accounts/k1/{SUBJECT}"


def _db(config: CityConfig) -> psycopg.Connection:
    return psycopg.connect(config.database.url, autocommit=True)


def _demo(config: CityConfig) -> None:
    with psycopg.connect(config.database.url) as conn:
        seed_points_demo(conn)


def _audit(config: CityConfig, prefix: str = "points.") -> list[tuple[str, str, str]]:
    with _db(config) as conn:
        rows = conn.execute(
            "SELECT actor, action, subject FROM audit_log WHERE action LIKE %s ORDER BY id",
            (prefix + "%",),
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def _entries(config: CityConfig) -> list[tuple[int, str, str, str]]:
    with _db(config) as conn:
        rows = conn.execute(
            "SELECT points, source, reference, actor FROM points_entries ORDER BY id"
        ).fetchall()
    return [(int(p), str(s), str(r), str(a)) for p, s, r, a in rows]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_every_page_renders(
    console_client: TestClient, console_config: CityConfig, lang: str, role: str
) -> None:
    """Overview, account, catalogue render for both roles in both languages; notes and
    vouchers only for operators; pseudonyms only."""
    _demo(console_config)
    console_client.cookies.set("console_lang", lang)
    console_login(console_client, role)
    overview = console_client.get("/points")
    assert overview.status_code == 200, overview.text
    assert ("红色积分" if lang == "zh-CN" else "Red points") in overview.text
    assert f"{DEMO_KEY}·{demo_subject(0)[:12]}…" in overview.text
    assert ("被拒绝" if lang == "zh-CN" else "Refused") in overview.text
    account = console_client.get(f"/points/accounts/{DEMO_KEY}/{demo_subject(0)}")
    assert account.status_code == 200
    assert demo_subject(0) in account.text
    shown_to_operators = ("社区服务站登记", "points.voucher")
    with _db(console_config) as conn:
        voucher = conn.execute(
            "SELECT voucher FROM points_redemptions WHERE outcome = 'redeemed' LIMIT 1"
        ).fetchone()
    assert voucher is not None
    for page in (overview.text, account.text):
        assert ("社区服务站登记" in page) == (role == "operator"), shown_to_operators
        assert (voucher[0] in page) == (role == "operator")
    catalogue = console_client.get("/points/rewards")
    assert catalogue.status_code == 200
    assert "理发一次" in catalogue.text
    assert ('action="/points/rewards"' in catalogue.text) == (role == "operator")
    earn_page = console_client.get("/points/earn")
    assert earn_page.status_code == (200 if role == "operator" else 403)
    edit = console_client.get("/points/rewards/haircut")
    assert edit.status_code == (200 if role == "operator" else 403)
    assert console_client.get("/points/rewards/nothing-here").status_code == (
        404 if role == "operator" else 403
    )


def test_viewers_only_read(console_client: TestClient, console_config: CityConfig) -> None:
    """A viewer's POSTs (with a good token) are refused and change nothing."""
    console_login(console_client, "viewer")
    token = csrf_from(console_client.get("/points/rewards").text)
    earn = console_client.post(
        "/points/earn",
        data={"csrf": token, "key_id": "k1", "subject": SUBJECT, "points": "5", "reference": "s1"},
    )
    assert earn.status_code == 403
    create = console_client.post(
        "/points/rewards",
        data={"csrf": token, "reward_id": "tea", "title_zh": "茶", "points": "5", "active": "1"},
    )
    assert create.status_code == 403
    assert _entries(console_config) == []
    with _db(console_config) as conn:
        assert ledger.rewards(conn) == []


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_posts_need_the_session_token(
    console_client: TestClient, console_config: CityConfig, token: str | None
) -> None:
    """Without the right CSRF token an operator's credit and reward edit are refused."""
    console_login(console_client, "operator")
    data = {"key_id": "k1", "subject": SUBJECT, "points": "5", "reference": "s1"}
    if token is not None:
        data["csrf"] = token
    assert console_client.post("/points/earn", data=data).status_code == 403
    reward = {"reward_id": "tea", "title_zh": "茶", "points": "5"} | (
        {"csrf": token} if token is not None else {}
    )
    assert console_client.post("/points/rewards", data=reward).status_code == 403
    assert _entries(console_config) == []


def test_a_shift_is_credited_once(console_client: TestClient, console_config: CityConfig) -> None:
    """The same shift twice: credited, then "already credited"; one entry, both audited."""
    console_login(console_client, "operator")
    form = console_client.get(f"/points/earn?key_id=k1&subject={SUBJECT}")
    assert f'value="{SUBJECT}"' in form.text
    data = {
        "csrf": csrf_from(form.text),
        "key_id": "k1",
        "subject": SUBJECT.upper(),  # pasted in capitals: the same pseudonym
        "points": "30",
        "reference": "vol-2026-12-05-clinic",
        "note": "王阿姨 helped at the clinic",
    }
    first = console_client.post("/points/earn", data=data)
    assert first.status_code == 200
    assert str(first.url).startswith(f"http://testserver{ACCOUNT}?done=credited")
    assert "已记入积分" in first.text
    assert '<dd id="balance">30</dd>' in first.text
    again = console_client.post("/points/earn", data=data)
    assert "done=already" in str(again.url)
    assert "已经记过积分" in again.text
    assert '<dd id="balance">30</dd>' in again.text
    assert _entries(console_config) == [(30, "volunteering", "vol-2026-12-05-clinic", "otto")]
    assert [a[1] for a in _audit(console_config)] == ["points.earn", "points.earn_repeat"]
    assert all(a[0] == "otto" for a in _audit(console_config))
    with _db(console_config) as conn:
        assert ledger.balance(conn, ledger.Resident("k1", SUBJECT)) == 30


def test_a_bad_credit_is_shown_again_with_its_problems(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """Bad pseudonym, points and reference: 422, the form again with words, nothing credited."""
    console_login(console_client, "operator")
    token = csrf_from(console_client.get("/points/earn").text)
    answer = console_client.post(
        "/points/earn",
        data={"csrf": token, "key_id": "k1", "subject": "zz", "points": "0", "reference": ""},
    )
    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.text
    assert "假名是密钥编号加 64 位小写十六进制" in answer.text
    assert "积分是 1 至 100000 的整数" in answer.text
    assert _entries(console_config) == []


def test_the_catalogue_is_managed_through_the_ledger(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """Create, refuse a second create of the id, edit titles/price/stock, withdraw; audited;
    the kiosks' catalogue follows."""
    console_login(console_client, "operator")
    token = csrf_from(console_client.get("/points/rewards").text)
    new = {"csrf": token, "reward_id": "tea", "title_zh": "茶叶", "points": "40", "stock": "5"}
    created = console_client.post("/points/rewards", data=new | {"active": "1"})
    assert created.status_code == 200
    assert "已新增奖励 tea" in created.text
    twice = console_client.post("/points/rewards", data=new | {"title_zh": "别的"})
    assert twice.status_code == 409
    with _db(console_config) as conn:
        reward = ledger.get_reward(conn, "tea")
        assert reward is not None
        assert (reward.title_zh, reward.points, reward.stock, reward.active) == (
            "茶叶",
            40,
            5,
            True,
        )
    edit = console_client.get("/points/rewards/tea")
    assert 'value="茶叶"' in edit.text
    saved = console_client.post(
        "/points/rewards/tea",
        data={"csrf": token, "title_zh": "绿茶", "title_en": "Green tea", "points": "45"},
    )
    assert saved.status_code == 200
    assert "已保存奖励 tea" in saved.text
    with _db(console_config) as conn:
        reward = ledger.get_reward(conn, "tea")
        assert reward is not None
        assert (reward.title_zh, reward.title_en, reward.points) == ("绿茶", "Green tea", 45)
        assert (reward.stock, reward.active) == (None, False)  # empty stock: unlimited; withdrawn
        assert ledger.catalogue(conn) == []
    bad = console_client.post(
        "/points/rewards/tea", data={"csrf": token, "title_zh": "", "points": "x", "stock": "-1"}
    )
    assert bad.status_code == 422
    assert "请填写中文名称" in bad.text
    assert [a[1:] for a in _audit(console_config)] == [
        ("points.reward", "tea"),
        ("points.reward", "tea"),
    ]


def test_the_search_finds_pseudonyms_by_their_start(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """A hex prefix lists matching pseudonyms under every key id; a whole one opens its page."""
    with _db(console_config) as conn:
        for key, subject in (("k1", SUBJECT), ("k2", SUBJECT), ("k1", OTHER), ("k1", "ff" * 32)):
            ledger.earn(
                conn,
                ledger.Resident(key, subject),
                5,
                source="attendance",
                reference="a",
                actor="t",
            )
    console_login(console_client, "viewer")
    found = console_client.get("/points?q=AB AB")
    assert found.status_code == 200
    assert "找到 2 个假名" in found.text
    assert console_client.get("/points?q=a").text.count('class="pseudonym"') >= 3
    assert "没有以 0 开头的假名" in console_client.get("/points?q=0").text
    assert console_client.get("/points?q=xyz").status_code == 400
    whole = console_client.get(f"/points?q={OTHER}", follow_redirects=False)
    assert whole.status_code == 303
    assert whole.headers["location"] == f"/points/accounts/k1/{OTHER}"
    with _db(console_config) as conn:
        assert [r["subject"] for r in staff.search(conn, "ab")] == [SUBJECT, SUBJECT]


def _ledger_over_days(config: CityConfig) -> None:
    """Credits on three days (37 points), then three redemptions of 20 at a kiosk today."""
    now = datetime.now(UTC)
    resident = ledger.Resident("k1", SUBJECT)
    with _db(config) as conn:
        ledger.set_reward(
            conn,
            "rice",
            title_zh="大米",
            title_en=None,
            points=20,
            stock=None,
            active=True,
            actor="t",
        )
        for days, points in ((40, 7), (2, 10), (1, 20)):
            ledger.earn(
                conn,
                resident,
                points,
                source="volunteering",
                reference=f"s{days}",
                actor="t",
                now=now - timedelta(days=days),
            )
        for points in (20, 20, 20):
            ledger.redeem(
                conn,
                resident,
                redemption_id=uuid7(),
                reward_id="rice",
                points=points,
                kiosk="440300/c1/k1",
                call_id=uuid7(),
            )


def test_totals_per_period_and_centre(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """The last 30 days: 30 earned (not the 7 of 40 days ago), 20 redeemed at c1 out of a
    balance of 37, then two refused there."""
    _ledger_over_days(console_config)
    with _db(console_config) as conn:
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        period = staff.Period(today - timedelta(days=29), today, ZoneInfo("Asia/Shanghai"))
        sums = staff.totals(conn, period)
        assert sums["overall"] == {
            "earned": 30,
            "redeemed": 20,
            "earn_entries": 2,
            "redeem_entries": 1,
            "refused": 2,
            "accounts": 1,
        }
        assert dict(sums["by_centre"]) == {
            "440300/c1": {"earned": 0, "redeemed": 20, "refused": 2},
            None: {"earned": 30, "redeemed": 0, "refused": 0},
        }
        assert sum(s["earned"] for _day, s in sums["by_time"]) == 30
        assert staff.first_entry_from(conn, datetime.now(UTC) + timedelta(days=1)) == 5
        assert staff.first_entry_from(conn, datetime(2000, 1, 1, tzinfo=UTC)) == 1
    console_login(console_client, "viewer")
    page = console_client.get("/points")
    assert "440300/c1" in page.text
    assert "积分不足" in page.text


def test_exports_csv_and_xlsx(console_client: TestClient, console_config: CityConfig) -> None:
    """Entries and redemptions of the period; notes for operators only; audited."""
    _ledger_over_days(console_config)
    with _db(console_config) as conn:
        ledger.earn(
            conn,
            ledger.Resident("k1", OTHER),
            3,
            source="attendance",
            reference="=cmd",
            actor="t",
            note="张三",
        )
    console_login(console_client, "viewer")
    answer = console_client.get("/points/export/entries.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["时间", "密钥", "假名"]
    assert "备注" not in rows[0]
    assert "张三" not in answer.text
    assert [r[7] for r in rows[1:] if r[2] == OTHER] == ["'=cmd"]
    assert len(rows) == 1 + 4  # two credits in the period, one redemption, the new one
    redemptions = console_client.get("/points/export/redemptions.xlsx")
    assert redemptions.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(redemptions.content)).testzip() is None
    assert console_client.get("/points/export/other.csv").status_code == 404
    assert console_client.get("/points/export/entries.json").status_code == 404
    console_client.cookies.clear()
    console_login(console_client, "operator")
    year_ago = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
    operator = console_client.get(f"/points/export/entries.csv?from={year_ago}")
    assert "张三" in operator.content.decode("utf-8-sig")
    assert [a[1:] for a in _audit(console_config, "points.export")] == [
        ("points.export", "entries"),
        ("points.export", "redemptions"),
        ("points.export", "entries"),
    ]


def test_two_submits_of_one_shift_at_once_credit_it_once(console_config: CityConfig) -> None:
    """A double click: two requests' transactions (the console's: not autocommit, the ledger's
    work a savepoint in it) credit the same shift at once; the second waits for the first's
    account lock, then finds the entry."""
    resident = ledger.Resident("k1", SUBJECT)
    url = console_config.database.url
    started = threading.Event()
    results: list[tuple[int, bool]] = []

    def first() -> None:
        with psycopg.connect(url) as conn:
            conn.execute("SELECT 1")  # the request's session lookup opened its transaction
            results.append(
                ledger.earn(conn, resident, 9, source="volunteering", reference="s1", actor="otto")
            )
            started.set()
            time.sleep(0.5)  # the request is still rendering: its transaction is open

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(10)
    t0 = time.monotonic()
    with psycopg.connect(url) as conn:
        conn.execute("SET LOCAL lock_timeout = '5s'")
        results.append(
            ledger.earn(conn, resident, 9, source="volunteering", reference="s1", actor="otto")
        )
    waited = time.monotonic() - t0
    thread.join()
    assert results == [(9, True), (9, False)]
    assert waited > 0.3  # it waited for the first transaction to commit
    assert _entries(console_config) == [(9, "volunteering", "s1", "otto")]
