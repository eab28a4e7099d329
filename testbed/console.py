"""The city console for tests, screenshots and benches: a config file, staff accounts, the
console served by uvicorn (`python -m city console`) on a free loopback port, and Debian's
Chromium driven by Playwright (docs/console.md "Tests")."""

from __future__ import annotations

import functools
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from testbed.broker import free_port

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
VIEWPORT = {"width": 1920, "height": 1080}
START_TIMEOUT_S = 60
PASSWORD = "console-test-password"
STAFF: Mapping[str, str] = {"viewer": "vera", "operator": "otto", "admin": "ada"}
"""One account per role (name by role), all with PASSWORD."""


def write_secret(path: Path) -> Path:
    """A fresh session secret file (0600)."""
    path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def console_config_data(
    db_url: str, secret_file: Path, *, port: int = 8080, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A city config (as data) for the console against `db_url`; `extra` merges into it."""
    data: dict[str, Any] = {
        "database": {"url": db_url},
        "broker": {"url": "mqtt://127.0.0.1:1"},  # the console never connects to it
        "console": {
            "host": "127.0.0.1",
            "port": port,
            "session_secret_file": str(secret_file),
            # the development city key, so command buttons work (docs/publishing.md)
            "signing_key_file": str(REPO / "config" / "dev-keys" / "city-signing-key.DEV-ONLY.pem"),
        },
        # the development request key, so call-back numbers open (docs/requests-city.md)
        "requests": {
            "private_key_file": str(REPO / "config" / "dev-keys" / "city-request-key.DEV-ONLY.txt"),
            "key_id": "dev-req",
        },
    }
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


@functools.cache
def _password_hash(password: str) -> str:
    from city.console.passwords import hash_password

    return hash_password(password)


def add_staff(db_url: str, staff: Mapping[str, str] = STAFF, password: str = PASSWORD) -> None:
    """Create one account per role (names that exist are left alone). One argon2 hash for
    all of them, computed once per process: hashing is slow on purpose."""
    import psycopg

    encoded = _password_hash(password)
    with psycopg.connect(db_url) as conn:
        for role, name in staff.items():
            conn.execute(
                "INSERT INTO console_users (name, password_hash, role) VALUES (%s, %s, %s)"
                " ON CONFLICT (name) DO NOTHING",
                (name, encoded, role),
            )


@dataclass
class ConsoleServer:
    """`python -m city console` as a child process; `url` once started."""

    config_file: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None
    _log: Any = None

    @property
    def url(self) -> str:
        """The console's base URL (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start and wait until /healthz answers."""
        self.log_path = self.config_file.with_suffix(".log")
        self._log = log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "city",
                "console",
                "--config",
                str(self.config_file),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the console exited: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the console did not answer within {START_TIMEOUT_S} s")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and close its log."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def write_config(path: Path, data: Mapping[str, Any]) -> Path:
    """Write a config (data) as YAML."""
    path.write_text(yaml.safe_dump(dict(data), allow_unicode=True), encoding="utf-8")
    return path


@contextmanager
def chromium() -> Iterator[Any]:
    """Playwright's Chromium: Debian's /usr/bin/chromium, headless (browsers cannot be
    downloaded here); yields the Browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


def login(page: Any, base_url: str, name: str, password: str = PASSWORD) -> None:
    """Log in through the login form; waits for the fleet page."""
    page.goto(f"{base_url}/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/fleet**")
