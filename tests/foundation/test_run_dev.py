"""`make run` starts what exists and stops cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.broker import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_run_dev_starts_its_own_broker_and_stops_cleanly(
    tmp_path: Path, kivy_env: dict[str, str]
) -> None:
    """With no broker listening, run_dev starts one, relays output, and exits 0 when told."""
    port = free_port()
    env = {
        **kivy_env,
        "KIOSK_BROKER_URL": f"mqtt://127.0.0.1:{port}",
        "KIOSK_DATA_DIR": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DISPLAY", None)
    result = subprocess.run(
        [sys.executable, "-m", "scripts.run_dev", "--for", "4"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "started broker" in result.stdout
    assert os.path.isdir(REPO / "config")
