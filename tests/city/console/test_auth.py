"""Logging in and out: argon2 accounts, server-side sessions, cookie flags, safe redirects."""

from __future__ import annotations

import psycopg
import pytest
from starlette.testclient import TestClient

from city.config import CityConfig
from city.console.app import create_app
from testbed.console import PASSWORD, STAFF
from tests.fixtures.console import console_login, csrf_from

pytestmark = pytest.mark.postgres


def test_pages_need_a_login(console_client: TestClient) -> None:
    """Every page but the login redirects to it, keeping where it was going."""
    for path in ("/fleet", "/alerts", "/audit", "/kiosks/440300/c/k"):
        answer = console_client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=%2F")
    assert console_client.get("/login").status_code == 200
    assert console_client.get("/healthz").text == "ok"


def test_login_sets_a_secure_session_cookie(console_client: TestClient) -> None:
    """The right password gives an HttpOnly, SameSite=Lax session cookie and the fleet."""
    answer = console_login(console_client, "viewer")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/fleet"
    cookie = answer.headers["set-cookie"].lower()
    assert "console_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in this test
    fleet = console_client.get("/fleet")
    assert fleet.status_code == 200
    assert STAFF["viewer"] in fleet.text
    assert "default-src 'self'" in fleet.headers["content-security-policy"]


def test_cookies_are_secure_over_https(console_config: CityConfig) -> None:
    """Served over https, the session and login-form cookies carry Secure."""
    path = console_config.console.session_secret_file
    assert path is not None
    app = create_app(console_config, path.read_bytes().strip())
    with TestClient(app, base_url="https://console.example") as client:
        login_page = client.get("/login")
        assert "secure" in login_page.headers["set-cookie"].lower()
        answer = console_login(client, "viewer")
        assert answer.status_code == 303
        assert "secure" in answer.headers["set-cookie"].lower()


def test_wrong_password_or_unknown_name_is_refused(console_client: TestClient) -> None:
    """401 with the same message for a wrong password and an unknown name; no session."""
    wrong = console_login(console_client, "viewer", password="not the password")
    assert wrong.status_code == 401
    assert "console_session" not in wrong.headers.get("set-cookie", "")
    token = csrf_from(console_client.get("/login").text)
    unknown = console_client.post(
        "/login", data={"csrf": token, "name": "nobody", "password": PASSWORD}
    )
    assert unknown.status_code == 401
    assert "用户名或密码不正确" in wrong.text
    assert "用户名或密码不正确" in unknown.text


def test_the_database_holds_no_session_token_nor_password(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """Only argon2id hashes and keyed token hashes are stored."""
    answer = console_login(console_client, "admin")
    token = answer.cookies["console_session"]
    with psycopg.connect(console_config.database.url) as conn:
        hashes = [r[0] for r in conn.execute("SELECT password_hash FROM console_users")]
        sessions = conn.execute("SELECT token_hash FROM console_sessions").fetchall()
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert len(sessions) == 1
    assert token.encode() not in bytes(sessions[0][0])


def test_logout_ends_the_session_for_good(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """After logout the old cookie opens nothing: the row is gone."""
    console_login(console_client, "operator")
    token = console_client.cookies["console_session"]
    page = console_client.get("/fleet")
    answer = console_client.post(
        "/logout", data={"csrf": csrf_from(page.text)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    with psycopg.connect(console_config.database.url) as conn:
        assert conn.execute("SELECT count(*) FROM console_sessions").fetchone() == (0,)
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["login", "logout"]
    console_client.cookies.set("console_session", token)
    assert console_client.get("/fleet", follow_redirects=False).status_code == 303


def test_an_expired_or_disabled_session_is_refused(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """Sessions expire on the server; a disabled account's sessions stop working at once."""
    console_login(console_client, "viewer")
    assert console_client.get("/fleet").status_code == 200
    with psycopg.connect(console_config.database.url) as conn:
        conn.execute("UPDATE console_sessions SET expires_at = now() - interval '1 s'")
    assert console_client.get("/fleet", follow_redirects=False).status_code == 303
    console_login(console_client, "viewer")
    assert console_client.get("/fleet").status_code == 200
    with psycopg.connect(console_config.database.url) as conn:
        conn.execute("UPDATE console_users SET disabled = true WHERE name = %s", (STAFF["viewer"],))
    assert console_client.get("/fleet", follow_redirects=False).status_code == 303
    assert console_login(console_client, "viewer").status_code == 401


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_login_never_redirects_off_site(console_client: TestClient, target: str) -> None:
    """`next` is followed only when it is a local path."""
    token = csrf_from(console_client.get("/login").text)
    answer = console_client.post(
        "/login",
        data={"csrf": token, "name": STAFF["viewer"], "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/fleet"


def test_language_switch(console_client: TestClient) -> None:
    """zh-CN by default; /lang/en switches every text, and only known languages stick."""
    console_login(console_client, "viewer")
    assert "终端总览" in console_client.get("/fleet").text
    answer = console_client.get("/lang/en?next=/alerts", follow_redirects=False)
    assert answer.headers["location"] == "/alerts"
    page = console_client.get("/fleet").text
    assert "Fleet" in page
    assert "终端总览" not in page
    console_client.get("/lang/xx")
    assert "Fleet" in console_client.get("/fleet").text
