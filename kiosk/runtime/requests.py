"""Requests from the agent (restart, diagnostics, reload config) as files in DATA_DIR/requests.

The agent writes each request atomically; the kiosk takes it by renaming it away first, so a
request is acted on once even if the kiosk crashes while acting. The one answer going back is a
diagnostics run's per-device self-test reports: `run_diagnostics.result.json`, written
atomically by the kiosk and taken by the agent (edge_agent/actions.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

RequestKind = Literal["restart_kiosk", "run_diagnostics", "reload_config"]
KINDS: tuple[RequestKind, ...] = ("restart_kiosk", "run_diagnostics", "reload_config")
REQUESTS_DIR = "requests"
MAX_REQUEST_BYTES = 64 * 1024
DIAGNOSTICS_RESULT_FILE = "run_diagnostics.result.json"


def write_diagnostics_result(data_dir: Path, result: dict[str, Any]) -> None:
    """Hand a diagnostics run's result to the agent: temp file, fsync, rename (never half-read)."""
    directory = data_dir / REQUESTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / DIAGNOSTICS_RESULT_FILE
    temp = directory / f".{DIAGNOSTICS_RESULT_FILE}.tmp-{os.getpid()}"
    with temp.open("wb") as handle:
        handle.write(json.dumps(result).encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)


@dataclass(frozen=True)
class KioskRequest:
    """One request; `body` is what the agent wrote (command id, config kind and version, …)."""

    kind: RequestKind
    body: dict[str, Any] = field(default_factory=dict)


class RequestWatcher:
    """Polled from the UI clock about once a second; cheap when there is nothing."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / REQUESTS_DIR

    def take(self) -> list[KioskRequest]:
        """Every pending request, each returned once; malformed files are dropped with a log."""
        taken: list[KioskRequest] = []
        for kind in KINDS:
            path = self.directory / f"{kind}.json"
            claimed = path.with_suffix(".taken")
            try:
                os.replace(path, claimed)
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("cannot take request %s: %s", kind, type(exc).__name__)
                continue
            try:
                raw = claimed.read_bytes()[:MAX_REQUEST_BYTES]
                body = json.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except (OSError, ValueError):
                log.warning("request %s is malformed; ignored", kind)
                body = None
            finally:
                with contextlib.suppress(OSError):
                    claimed.unlink()
            if body is not None:
                taken.append(KioskRequest(kind, body))
        return taken
