"""The kiosk process never loads the agent's MQTT side (paho) or the agent module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What `python -m kiosk run` imports, plus the composition root it builds the kiosk with.
ENTRY_MODULES = ("kiosk.app_main", "kiosk.runtime.assembly", "kiosk.ui.host", "kiosk.ui.app")
FORBIDDEN = ("paho", "edge_agent.agent", "edge_agent.link")
PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.ui
def test_kiosk_entry_modules_load_neither_paho_nor_the_agent(kivy_env: dict[str, str]) -> None:
    """Importing the kiosk's entry modules in a fresh process leaves paho and the agent out."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *ENTRY_MODULES],
        cwd=REPO,
        env=kivy_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert set(ENTRY_MODULES) <= loaded
    leaked = sorted(m for m in loaded if m.split(".")[0] == "paho" or m in FORBIDDEN)
    assert leaked == []
