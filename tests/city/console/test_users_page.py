"""The accounts page: admins only; add, disable (sessions end at once), enable; audited."""

from __future__ import annotations

import psycopg
import pytest
from starlette.testclient import TestClient

from city.config import CityConfig
from testbed.console import STAFF
from tests.fixtures.console import console_login, csrf_from

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_admins(console_client: TestClient, role: str) -> None:
    """Viewers and operators get 403 and no menu entry."""
    console_login(console_client, role)
    assert console_client.get("/users").status_code == 403
    assert 'href="/users"' not in console_client.get("/fleet").text


def test_add_disable_enable(console_client: TestClient, console_config: CityConfig) -> None:
    """An admin adds an account, disables one (its session ends), enables it again."""
    console_login(console_client, "admin")
    page = console_client.get("/users")
    assert page.status_code == 200
    token = csrf_from(page.text)
    added = console_client.post(
        "/users",
        data={"csrf": token, "name": "zhang.san", "role": "viewer", "password": "long password 1"},
        follow_redirects=False,
    )
    assert added.headers["location"] == "/users?done=added"
    assert 'id="user-zhang.san"' in console_client.get("/users").text
    short = console_client.post(
        "/users", data={"csrf": token, "name": "li", "role": "viewer", "password": "short"}
    )
    assert short.status_code == 400
    twice = console_client.post(
        "/users", data={"csrf": token, "name": "zhang.san", "role": "viewer", "password": "x" * 12}
    )
    assert twice.status_code == 400

    viewer = TestClient(console_client.app)  # no `with`: the lifespan (pool) is the other's
    console_login(viewer, "viewer")
    assert viewer.get("/fleet").status_code == 200
    off = console_client.post(
        f"/users/{STAFF['viewer']}/disabled",
        data={"csrf": token, "disabled": "1"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    assert viewer.get("/fleet", follow_redirects=False).status_code == 303
    assert console_login(viewer, "viewer").status_code == 401
    on = console_client.post(
        f"/users/{STAFF['viewer']}/disabled", data={"csrf": token, "disabled": "0"}
    )
    assert on.status_code == 200
    assert console_login(viewer, "viewer").status_code == 303
    self_off = console_client.post(
        f"/users/{STAFF['admin']}/disabled", data={"csrf": token, "disabled": "1"}
    )
    assert self_off.status_code == 400
    assert (
        console_client.post(
            "/users/nobody/disabled", data={"csrf": token, "disabled": "1"}
        ).status_code
        == 400
    )
    assert (
        console_client.post(
            "/users/bad%00name/disabled", data={"csrf": token, "disabled": "1"}
        ).status_code
        == 400
    )
    with psycopg.connect(console_config.database.url) as conn:
        actions = conn.execute(
            "SELECT action, subject FROM audit_log WHERE action LIKE 'user.%' ORDER BY id"
        ).fetchall()
    assert actions == [
        ("user.add", "zhang.san"),
        ("user.disable", STAFF["viewer"]),
        ("user.enable", STAFF["viewer"]),
    ]
