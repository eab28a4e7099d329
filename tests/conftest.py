"""Shared fixtures: raw ptys, a real Mosquitto broker, temp SQLite files, Kivy offscreen env."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.broker import MosquittoBroker
from testbed.kivy_env import offscreen_kivy_env
from testbed.postgres import PostgresServer
from tests.fixtures.pty import PtyPair, open_raw_pty

# Kivy reads these at import; set them before any test imports it (docs/design.md §3).
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")


@pytest.fixture
def raw_pty() -> Iterator[PtyPair]:
    """A raw pty pair; closed after the test."""
    pair = open_raw_pty()
    yield pair
    pair.close()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A running Mosquitto on a free loopback port; `.stop()`/`.start()` keep the port."""
    broker = MosquittoBroker(workdir=tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL cluster for the whole run (never the machine's own service)."""
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


_database_counter = iter(range(1_000_000))


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database in the private cluster; its libpq URL."""
    return postgres_server.create_database(f"t{os.getpid()}_{next(_database_counter)}")


@pytest.fixture
def tmp_sqlite(tmp_path: Path) -> Path:
    """A path for a fresh SQLite database file."""
    return tmp_path / "test.sqlite3"


@pytest.fixture
def kivy_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for a Kivy window in a subprocess: offscreen SDL, KIVY_HOME in a temp dir."""
    env = offscreen_kivy_env(tmp_path / "kivy-home")
    for key, value in env.items():
        if key.startswith(("KIVY", "SDL")):
            monkeypatch.setenv(key, value)
    return env
