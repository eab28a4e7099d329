"""Roles (viewer < operator < admin) and CSRF: every POST needs the session's token."""

from __future__ import annotations

import psycopg
import pytest
from starlette.testclient import TestClient

from city.config import CityConfig
from testbed.console import PASSWORD, STAFF
from testbed.fleet_seed import kiosk_row, open_alert
from tests.fixtures.console import console_login, csrf_from

pytestmark = pytest.mark.postgres
KIOSK = "440300/centre-a/kiosk-01"


def _alert(config: CityConfig) -> int:
    with psycopg.connect(config.database.url) as conn:
        kiosk_row(conn, KIOSK, district="福田区")
        return open_alert(conn, KIOSK, "disk_low", "100 MB free")


def _state(config: CityConfig, alert_id: int) -> str:
    with psycopg.connect(config.database.url) as conn:
        row = conn.execute("SELECT state FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    assert row is not None
    return str(row[0])


def test_viewers_look_but_do_not_act(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """A viewer sees fleet and alerts, not the audit log, and cannot acknowledge."""
    alert_id = _alert(console_config)
    console_login(console_client, "viewer")
    assert console_client.get("/fleet").status_code == 200
    alerts = console_client.get("/alerts")
    assert alerts.status_code == 200
    assert "仅运维员可确认" in alerts.text
    assert 'href="/audit"' not in alerts.text
    assert console_client.get("/audit").status_code == 403
    answer = console_client.post(
        f"/alerts/{alert_id}/ack", data={"csrf": csrf_from(alerts.text), "note": "x"}
    )
    assert answer.status_code == 403
    assert _state(console_config, alert_id) == "open"


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_operators_and_admins_see_the_audit_log(console_client: TestClient, role: str) -> None:
    """The audit log is for operators and admins."""
    console_login(console_client, role)
    page = console_client.get("/audit")
    assert page.status_code == 200
    assert "login" in page.text


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_post_without_the_right_token_is_refused(
    console_client: TestClient, console_config: CityConfig, token: str | None
) -> None:
    """No token, an empty one or a wrong one: 403, and nothing changes."""
    alert_id = _alert(console_config)
    console_login(console_client, "operator")
    data = {"note": "x"} | ({} if token is None else {"csrf": token})
    answer = console_client.post(f"/alerts/{alert_id}/ack", data=data)
    assert answer.status_code == 403
    assert "安全令牌" in answer.text
    assert _state(console_config, alert_id) == "open"


def test_the_header_token_works_for_htmx(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """X-CSRF-Token (htmx requests) is accepted in place of the form field."""
    alert_id = _alert(console_config)
    console_login(console_client, "operator")
    token = csrf_from(console_client.get("/alerts").text)
    answer = console_client.post(
        f"/alerts/{alert_id}/ack",
        data={"note": "via htmx"},
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert _state(console_config, alert_id) == "acknowledged"


def test_another_sessions_token_is_refused(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """A token is per session: one from another login does not work."""
    alert_id = _alert(console_config)
    console_login(console_client, "operator")
    old_token = csrf_from(console_client.get("/alerts").text)
    console_client.cookies.clear()
    console_login(console_client, "operator")
    answer = console_client.post(f"/alerts/{alert_id}/ack", data={"csrf": old_token})
    assert answer.status_code == 403


def test_the_login_form_needs_its_token(console_client: TestClient) -> None:
    """Login CSRF: a POST without the signed pre-session token (cookie + field) is refused."""
    console_client.get("/login")
    no_field = console_client.post(
        "/login", data={"name": STAFF["viewer"], "password": PASSWORD}, follow_redirects=False
    )
    assert no_field.status_code == 403
    console_client.cookies.clear()
    forged = console_client.post(
        "/login",
        data={"csrf": "abc.def", "name": STAFF["viewer"], "password": PASSWORD},
        follow_redirects=False,
    )
    assert forged.status_code == 403
