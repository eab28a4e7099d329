"""Real kiosk agents (edge_agent.agent.Agent) on threads, for the city's publishing tests and
screenshots: each with its own identity, data directory and catalogue file, stopped and
started again to go offline and come back, optionally trusting another city's key (so it
rejects the city's commands as `bad_signature`). `SelfTestStub` answers `run_diagnostics`
the way the kiosk process does (common/kiosk_agent.py), since no kiosk UI runs here."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.kiosk_agent import diagnostics_result_path, request_path
from config import load_config
from edge_agent.agent import Agent

REPO = Path(__file__).resolve().parents[1]
DEV_KEY = REPO / "config" / "dev-keys" / "city-signing-key.DEV-ONLY.pem"
DEV_PUBLIC_KEY = "uB0xNgf3p8Mu//3HLPsKzxa5T/ic78Fpoy6pRDwuq/g="
FAST_AGENT = {
    "heartbeat_interval_s": 2,
    "reconnect_window_s": 0.3,
    "backoff_initial_s": 0.05,
    "backoff_max_s": 1.0,
    "stable_after_s": 1,
}


def other_city_key() -> str:
    """A fresh Ed25519 public key (base64) that is not the city's."""
    raw = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return base64.b64encode(raw).decode()


class KioskAgent:
    """One kiosk's agent; `start()` / `stop()` (a clean offline) as often as needed."""

    def __init__(
        self,
        directory: Path,
        broker_url: str,
        kiosk_id: str,
        *,
        public_key: str = DEV_PUBLIC_KEY,
    ) -> None:
        city, centre, name = kiosk_id.split("/")
        directory.mkdir(parents=True, exist_ok=True)
        self.id = kiosk_id
        self.data_dir = directory / "data"
        self.catalogue = directory / "catalogue.yaml"
        document: dict[str, Any] = {
            "version": 1,
            "development": True,  # the repository's development city key
            "identity": {"city": city, "centre": centre, "kiosk": name},
            "mqtt": {"broker_url": broker_url, "topic_prefix": "gov-kiosk/v1", "keepalive_s": 5},
            "agent": FAST_AGENT,
            "commands": {"city_public_key": public_key},
            "paths": {"data_dir": str(self.data_dir), "catalogue": str(self.catalogue)},
        }
        self.config_path = directory / "kiosk.yaml"
        self.config_path.write_text(yaml.safe_dump(document), encoding="utf-8")
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        """Run the agent on a thread (it connects, births, takes commands)."""
        agent = Agent(load_config(self.config_path, env={}), poll_s=0.01)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=agent.run, args=(self._stop,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Go offline cleanly (agent.offline, retained)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None


def _device(name: str, ok: bool, duration_s: float, *checks: tuple[str, bool, str]) -> Any:
    return {
        "device": name,
        "ok": ok,
        "duration_s": duration_s,
        "checks": [{"name": n, "ok": o, "detail": d} for n, o, d in checks],
    }


SELF_TEST_DEVICES = [
    _device(
        "idcard", True, 1.42, ("sam_status", True, "90 00"), ("sam_id", True, "05.01-20231120")
    ),
    _device("bp", True, 2.05, ("port", True, "/dev/ttyUSB1"), ("device_status", True, "ready")),
    _device(
        "qrscan", False, 5.0, ("port", True, "/dev/ttyACM0"), ("status", False, "no answer in 5 s")
    ),
]


class SelfTestStub:
    """Answers the agent's run_diagnostics requests as a kiosk whose devices all pass."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        request = request_path(self.data_dir, "run_diagnostics")
        while not self._stop.wait(0.1):
            try:
                body = json.loads(request.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            request.unlink(missing_ok=True)
            answer = {
                "command_id": body["command_id"],
                "devices": SELF_TEST_DEVICES,
                "missing": ["camera"],
            }
            path = diagnostics_result_path(self.data_dir)
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_suffix(".tmp")
            temp.write_text(json.dumps(answer), encoding="utf-8")
            temp.replace(path)

    def stop(self) -> None:
        """Stop answering."""
        self._stop.set()
        self._thread.join(timeout=5)
