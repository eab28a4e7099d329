"""Requests from the agent (restart, diagnostics, reload config) as files in DATA_DIR/requests.

The agent writes each request atomically; the kiosk takes it by renaming it away first, so a
request is acted on once even if the kiosk crashes while acting. The one answer going back is a
diagnostics run's per-device self-test reports, written atomically by the kiosk and taken by
the agent (edge_agent/actions.py). File names and shapes: common/kiosk_agent.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.kiosk_agent import (
    MAX_REQUEST_BYTES,
    REQUEST_KINDS,
    RequestKind,
    decode_request,
    diagnostics_result_path,
    request_path,
    requests_dir,
)

log = logging.getLogger(__name__)


def write_diagnostics_result(data_dir: Path, result: dict[str, Any]) -> None:
    """Hand a diagnostics run's result to the agent: temp file, fsync, rename (never half-read)."""
    target = diagnostics_result_path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
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
        self.data_dir = data_dir
        self.directory = requests_dir(data_dir)

    def take(self) -> list[KioskRequest]:
        """Every pending request, each returned once; malformed files are dropped with a log."""
        taken: list[KioskRequest] = []
        for kind in REQUEST_KINDS:
            path = request_path(self.data_dir, kind)
            claimed = path.with_suffix(".taken")
            try:
                os.replace(path, claimed)
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("cannot take request %s: %s", kind, type(exc).__name__)
                continue
            body: dict[str, Any] | None
            try:
                with claimed.open("rb") as handle:
                    body = decode_request(handle.read(MAX_REQUEST_BYTES + 1))
            except (OSError, ValueError):
                log.warning("request %s is malformed; ignored", kind)
                body = None
            finally:
                with contextlib.suppress(OSError):
                    claimed.unlink()
            if body is not None:
                taken.append(KioskRequest(kind, body))
        return taken
