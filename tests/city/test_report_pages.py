"""The report pages on the console (TestClient over a real private PostgreSQL): every page in
both languages, filters refused with a 400, follow-ups answered and closed by operators only
(audited), exports as CSV and .xlsx (audited), the early-warning list for operators only."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from city.config import CityConfig
from testbed.report_seed import SUBJECTS, seed_district
from tests.fixtures.console import console_login, csrf_from

pytestmark = pytest.mark.postgres

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
FIRST = TODAY - timedelta(days=13)
PERIOD = f"from={FIRST}&to={TODAY}"
PAGES = ("/reports/ratings", "/reports/followups", "/reports/usage", "/reports/health")


@pytest.fixture
def seeded(console_config: CityConfig) -> CityConfig:
    """Two weeks of a small district's sessions, ratings and measurements."""
    seed_district(console_config.database.url, FIRST)
    return console_config


def _open_followups(config: CityConfig) -> list[str]:
    with psycopg.connect(config.database.url) as conn:
        rows = conn.execute(
            "SELECT event_id::text FROM report_followups WHERE status = 'open' ORDER BY due_day"
        ).fetchall()
    return [r[0] for r in rows]


def _audit(config: CityConfig, action: str) -> list[tuple[str, str]]:
    with psycopg.connect(config.database.url) as conn:
        return conn.execute(
            "SELECT actor, subject FROM audit_log WHERE action = %s ORDER BY id", (action,)
        ).fetchall()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_in_both_languages(
    console_client: TestClient, seeded: CityConfig, path: str
) -> None:
    """zh-CN by default, English after switching; charts and tables are there."""
    console_login(console_client, "operator")
    zh = console_client.get(f"{path}?{PERIOD}")
    assert zh.status_code == 200, zh.text[:500]
    assert "导出 Excel" in zh.text
    console_client.get(f"/lang/en?next={path}")
    en = console_client.get(f"{path}?{PERIOD}")
    assert en.status_code == 200
    assert "Export Excel" in en.text
    assert "导出" not in en.text


def test_ratings_page_shows_the_numbers(console_client: TestClient, seeded: CityConfig) -> None:
    """Totals, 满意率, the per-centre table and a centre's items."""
    console_login(console_client, "viewer")
    page = console_client.get(f"/reports/ratings?{PERIOD}")
    assert "满意率" in page.text
    assert "futian-xmh" in page.text
    assert 'class="report-chart' in page.text
    one = console_client.get(f"/reports/ratings?{PERIOD}&centre=440300/futian-xmh")
    tables = one.text.split("</datalist>", 1)[1]
    assert "futian-xmh" in tables
    assert "nanshan-yh" not in tables


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-02-30",
        "from=2026-12-05&to=2026-12-01",
        "centre=a/b/c",
        "to=yesterday",
        "from=2000-01-01&to=2026-12-01",
    ],
)
def test_bad_filters_are_a_400(console_client: TestClient, query: str) -> None:
    """The filter's message, never a 500."""
    console_login(console_client, "viewer")
    for path in PAGES:
        answer = console_client.get(f"{path}?{query}")
        assert answer.status_code == 400, (path, query)
        assert "筛选条件有误" in answer.text


def test_operator_answers_then_closes(console_client: TestClient, seeded: CityConfig) -> None:
    """open → answered → closed, each step audited with the operator's name."""
    event_id = _open_followups(seeded)[0]
    console_login(console_client, "operator")
    page = console_client.get(f"/reports/followups?{PERIOD}&status=open")
    assert f"followup-{event_id}" in page.text
    token = csrf_from(page.text)
    form = {"csrf": token, "from": str(FIRST), "to": str(TODAY), "status": "open"}
    answer = console_client.post(
        f"/reports/followups/{event_id}/answer",
        data=form | {"answer": "已回访群众，增加了高峰时段的引导员。"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert "done=answered" in answer.headers["location"]
    closed = console_client.post(
        f"/reports/followups/{event_id}/close", data=form, follow_redirects=False
    )
    assert closed.status_code == 303
    with psycopg.connect(seeded.database.url) as conn:
        row = conn.execute(
            "SELECT status, answered_by, closed_by, answer FROM report_followups"
            " WHERE event_id = %s",
            (event_id,),
        ).fetchone()
    assert row == ("closed", "otto", "otto", "已回访群众，增加了高峰时段的引导员。")
    assert _audit(seeded, "followup.answer") == [("otto", event_id)]
    assert _audit(seeded, "followup.close") == [("otto", event_id)]
    listed = console_client.get(f"/reports/followups?{PERIOD}&status=closed")
    assert "增加了高峰时段的引导员" in listed.text


def test_closing_needs_an_answer_and_an_operator(
    console_client: TestClient, seeded: CityConfig
) -> None:
    """An open item without an answer stays open; a viewer cannot act at all."""
    event_id = _open_followups(seeded)[0]
    console_login(console_client, "operator")
    token = csrf_from(console_client.get("/reports/followups").text)
    refused = console_client.post(
        f"/reports/followups/{event_id}/close", data={"csrf": token, "answer": "  "}
    )
    assert refused.status_code == 400
    assert "办结前必须填写整改答复" in refused.text
    bad_id = console_client.post("/reports/followups/not-an-id/close", data={"csrf": token})
    assert bad_id.status_code == 400
    console_client.post("/logout", data={"csrf": token})
    console_login(console_client, "viewer")
    page = console_client.get("/reports/followups")
    assert "仅运维员可处理" in page.text
    viewer = console_client.post(
        f"/reports/followups/{event_id}/close",
        data={"csrf": csrf_from(page.text), "answer": "x"},
    )
    assert viewer.status_code == 403
    assert event_id in _open_followups(seeded)


@pytest.mark.parametrize("name", ["ratings", "usage", "followups"])
def test_exports_download_and_are_audited(
    console_client: TestClient, seeded: CityConfig, name: str
) -> None:
    """CSV with a BOM and Chinese headings; .xlsx that openpyxl reads; one audit entry each."""
    console_login(console_client, "viewer")
    csv = console_client.get(f"/reports/export/{name}.csv?{PERIOD}")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == (
        f'attachment; filename="{name}_{FIRST}_{TODAY}.csv"'
    )
    assert csv.content.startswith("\ufeff".encode())
    xlsx = console_client.get(f"/reports/export/{name}.xlsx?{PERIOD}")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.worksheets[0].max_row >= 2
    assert [s for _a, s in _audit(seeded, "report.export")] == [name, name]
    assert console_client.get(f"/reports/export/{name}.pdf").status_code == 404


def test_health_list_is_for_operators_and_audited(
    console_client: TestClient, seeded: CityConfig
) -> None:
    """Viewers see the classes, not the list; an operator's view of the list is audited."""
    console_login(console_client, "viewer")
    viewer = console_client.get(f"/reports/health?{PERIOD}")
    assert "随访名单仅对运维员和管理员开放" in viewer.text
    assert console_client.get(f"/reports/export/health.csv?{PERIOD}").status_code == 403
    token = csrf_from(viewer.text)
    console_client.post("/logout", data={"csrf": token})
    console_login(console_client, "operator")
    page = console_client.get(f"/reports/health?{PERIOD}")
    assert 'id="table-warnings"' in page.text
    assert any(subject in page.text for subject in SUBJECTS)
    assert _audit(seeded, "report.view") == [("otto", "health.early_warning")]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    first=st.text(max_size=20),
    last=st.text(max_size=20),
    centre=st.text(max_size=40),
    status=st.text(max_size=10),
)
def test_any_query_is_a_page_or_a_400(
    console_client: TestClient, first: str, last: str, centre: str, status: str
) -> None:
    """Whatever the query string holds: 200 or 400, never a server error."""
    if not console_client.cookies.get("console_session"):
        console_login(console_client, "viewer")
    params = {"from": first, "to": last, "centre": centre, "status": status}
    for path in ("/reports/ratings", "/reports/followups", "/reports/export/ratings.csv"):
        answer = console_client.get(path, params=params)
        assert answer.status_code in (200, 400), (path, params, answer.status_code)


def test_empty_database_pages(console_client: TestClient) -> None:
    """Every page renders with nothing stored yet."""
    console_login(console_client, "operator")
    for path in PAGES:
        assert console_client.get(path).status_code == 200, path
    assert date.today()  # the pages default to the last 30 days
