"""The periodic heartbeat: outbox depth, oldest unsent age, free disk, devices, clock, uptime."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_agent.outbox import Outbox
from edge_agent.presence import AGENT_VERSION

TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
TIME_ERROR = 5  # adjtimex(2): the kernel clock is not synchronised
TIMEX_BUFFER_BYTES = 512  # larger than struct timex on every Linux ABI
KIOSK_ALIVE_WITHIN_S = 30.0
BYTES_PER_MB = 1024 * 1024


def clock_state() -> dict[str, Any]:
    """Whether the system clock is NTP-synchronised (None when it cannot be told)."""
    if TIMESYNCD_FLAG.exists():
        return {"synchronised": True, "offset_ms": None}
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return {"synchronised": None, "offset_ms": None}
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        buffer = ctypes.create_string_buffer(TIMEX_BUFFER_BYTES)  # modes = 0: read only
        state = int(libc.adjtimex(buffer))
    except (OSError, AttributeError):
        return {"synchronised": None, "offset_ms": None}
    if state < 0:
        return {"synchronised": None, "offset_ms": None}
    return {"synchronised": state != TIME_ERROR, "offset_ms": None}


def heartbeat_data(
    outbox: Outbox,
    *,
    free_disk_bytes: Callable[[], int],
    uptime_s: float,
    now: float,
    clock: Callable[[], dict[str, Any]] = clock_state,
    extra_versions: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The `data` of a heartbeat event (heartbeat.schema.json)."""
    alive_at = outbox.kiosk_alive_at()
    data: dict[str, Any] = {
        "outbox_depth": outbox.depth(),
        "oldest_unsent_age_s": _round(outbox.oldest_unsent_age_s()),
        "free_disk_mb": round(max(0, free_disk_bytes()) / BYTES_PER_MB, 1),
        "devices": outbox.device_states(),
        "clock": clock(),
        "versions": {
            "agent": AGENT_VERSION,
            "python": platform.python_version(),
            **(extra_versions or {}),
        },
        "uptime_s": round(max(0.0, uptime_s), 1),
    }
    if alive_at is not None:
        data["kiosk_alive"] = now - alive_at <= KIOSK_ALIVE_WITHIN_S
    return data


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
