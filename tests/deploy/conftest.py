"""Shared helpers for the deployment tests: run deploy/install.sh into a directory root."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "deploy" / "install.sh"
EXAMPLE_CONFIG = REPO / "config" / "kiosk.example.yaml"
INSTALL_TIMEOUT_S = 60

Installer = Callable[..., subprocess.CompletedProcess[str]]


def run_install(root: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """deploy/install.sh --root ROOT --no-start ARGS, checking the config with this interpreter."""
    env = {**os.environ, "CHECK_PYTHON": sys.executable}
    env.pop("KIOSK_DATA_DIR", None)
    env.pop("KIOSK_BROKER_URL", None)
    return subprocess.run(
        ["bash", str(INSTALL), "--root", str(root), "--no-start", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )


@pytest.fixture(scope="module")
def installed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One install of the example config into a clean directory root, shared by a module."""
    root = tmp_path_factory.mktemp("root")
    result = run_install(root, "--config", EXAMPLE_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, result
