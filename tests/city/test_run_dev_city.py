"""`make run` starts the city platform: a private PostgreSQL, migrations, one ingest worker, the
console (its URL and development account printed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from city.db import migrations
from testbed.postgres import PostgresServer
from tests.fixtures.broker import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.postgres
def test_run_dev_shows_the_city_console(tmp_path: Path, kivy_env: dict[str, str]) -> None:
    """The `[city]` lines show the worker connected, the kiosk online and events stored."""
    pg_dir = Path(tempfile.mkdtemp(prefix="city-run-pg-"))  # reachable by the postgres user
    env = {
        **kivy_env,
        "KIOSK_BROKER_URL": f"mqtt://127.0.0.1:{free_port()}",
        "KIOSK_DATA_DIR": str(tmp_path / "data"),
        "CITY_PG_DIR": str(pg_dir),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DISPLAY", None)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "scripts.run_dev", "--for", "20"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        PostgresServer(workdir=pg_dir).stop("immediate")
        shutil.rmtree(pg_dir, ignore_errors=True)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert f"migrations applied: {len(migrations())}" in out
    assert "connected as city-ingest-0" in out
    assert "[city] fleet: 440300/dev-centre/dev-kiosk-01 is online" in out
    assert "[city] stored " in out
    assert "stopped the city's PostgreSQL" in out
    assert "[console] console: http://127.0.0.1:" in out
    assert "[console] console: development account dev / " in out
