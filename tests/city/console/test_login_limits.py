"""Login rate limits per account and per client address, kept across a restart."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from city.config import CityConfig, LoginLimitConfig
from city.console.app import create_app
from testbed.console import PASSWORD, STAFF
from tests.fixtures.console import console_login, csrf_from

pytestmark = pytest.mark.postgres


def _limited(config: CityConfig, per_account: int, per_address: int) -> CityConfig:
    limits = LoginLimitConfig(window_s=600, per_account=per_account, per_address=per_address)
    return dataclasses.replace(
        config, console=dataclasses.replace(config.console, login_limits=limits)
    )


def _client(config: CityConfig) -> TestClient:
    path = config.console.session_secret_file
    assert path is not None
    return TestClient(create_app(config, path.read_bytes().strip()), base_url="http://testserver")


def _try(client: TestClient, name: str, password: str) -> int:
    token = csrf_from(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"csrf": token, "name": name, "password": password},
        follow_redirects=False,
    )
    return answer.status_code


def test_an_account_is_blocked_after_failures_even_across_a_restart(
    console_config: CityConfig,
) -> None:
    """3 failures: the right password is refused with 429, also by a fresh console process."""
    config = _limited(console_config, per_account=3, per_address=100)
    name = STAFF["operator"]
    with _client(config) as client:
        assert [_try(client, name, "wrong password!") for _ in range(3)] == [401, 401, 401]
        assert _try(client, name, PASSWORD) == 429
    with _client(config) as restarted:
        assert _try(restarted, name, PASSWORD) == 429
        assert _try(restarted, STAFF["viewer"], PASSWORD) == 303  # other accounts are fine


def test_an_address_is_blocked_across_account_names(console_config: CityConfig) -> None:
    """Guessing many names from one address hits the address limit."""
    config = _limited(console_config, per_account=100, per_address=4)
    with _client(config) as client:
        codes = [_try(client, f"guess{i}", "wrong password!") for i in range(4)]
        assert codes == [401] * 4
        assert _try(client, STAFF["admin"], PASSWORD) == 429


def test_a_success_forgives_the_accounts_failures(console_config: CityConfig) -> None:
    """Failures below the limit are cleared by a successful login."""
    config = _limited(console_config, per_account=3, per_address=100)
    name = STAFF["viewer"]
    with _client(config) as client:
        assert [_try(client, name, "wrong password!") for _ in range(2)] == [401, 401]
        assert _try(client, name, PASSWORD) == 303
        client.cookies.clear()
        assert [_try(client, name, "wrong password!") for _ in range(2)] == [401, 401]
        assert _try(client, name, PASSWORD) == 303


def test_the_default_limits_block_the_sixth_attempt(console_client: TestClient) -> None:
    """Defaults: 5 failures per account within 15 minutes."""
    for _ in range(5):
        assert console_login(console_client, "admin", password="wrong password!").status_code == 401
    blocked = console_login(console_client, "admin")
    assert blocked.status_code == 429
    assert "15 分钟" in blocked.text
