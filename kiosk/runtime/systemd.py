"""sd_notify without libsystemd: readiness, watchdog pings and status lines for systemd units.

systemd hands a service the address of a datagram socket in `NOTIFY_SOCKET` (a path, or an
abstract name written `@name`) and, with `WatchdogSec=`, the interval in `WATCHDOG_USEC` and the
process meant to ping in `WATCHDOG_PID`. Every function here is a no-op returning False when the
process is not under systemd, and never raises: a failed ping must not take the kiosk down.

The kiosk runs as the child of the `cage` compositor, which is the unit's main process, so
`WATCHDOG_PID` names our parent; the unit sets `NotifyAccess=all` so systemd accepts our pings.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)
_failing = False  # log the first failure of a streak only: pings come every few seconds

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"
STATUS_MAX_CHARS = 200
SEND_TIMEOUT_S = 1.0
USEC_PER_S = 1_000_000


def notify_socket_address(env: Mapping[str, str] | None = None) -> str | None:
    """The AF_UNIX address systemd named in NOTIFY_SOCKET (`@x` → abstract `\\0x`); None if none."""
    raw = (os.environ if env is None else env).get(NOTIFY_SOCKET_ENV, "")
    if raw.startswith("@") and len(raw) > 1:
        return "\0" + raw[1:]
    if raw.startswith("/"):
        return raw
    return None  # unset, empty, or a transport we do not speak (vsock:)


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one sd_notify datagram (`KEY=value` lines); True if it was handed to systemd."""
    global _failing  # noqa: PLW0603 — one flag per process, like the socket it describes
    address = notify_socket_address(env)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(SEND_TIMEOUT_S)
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError as exc:
        if not _failing:
            log.warning("sd_notify failed: %s", type(exc).__name__)
        _failing = True
        return False
    if _failing:
        log.info("sd_notify works again")
    _failing = False
    return True


def notify_ready() -> bool:
    """Tell systemd start-up is complete (Type=notify); call once the first frame is drawn."""
    return notify("READY=1")


def notify_watchdog() -> bool:
    """Ping the watchdog; call from the UI clock well within the unit's WatchdogSec."""
    return notify("WATCHDOG=1")


def notify_stopping() -> bool:
    """Tell systemd an orderly shutdown has begun."""
    return notify("STOPPING=1")


def notify_status(text: str) -> bool:
    """Set the one-line status `systemctl status` shows; never pass personal data here."""
    line = " ".join(text.split())[:STATUS_MAX_CHARS]
    return notify(f"STATUS={line}")


def watchdog_interval_s(
    env: Mapping[str, str] | None = None, pid: int | None = None, ppid: int | None = None
) -> float | None:
    """The unit's watchdog interval in seconds if it is meant for this process; else None.

    Like sd_watchdog_enabled(), but WATCHDOG_PID may also name our parent: under `cage` the
    compositor is the unit's main process and this program its direct child.
    """
    env = os.environ if env is None else env
    try:
        usec = int(env.get(WATCHDOG_USEC_ENV, ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    watchdog_pid = env.get(WATCHDOG_PID_ENV)
    if watchdog_pid is not None:
        try:
            target = int(watchdog_pid)
        except ValueError:
            return None
        own = os.getpid() if pid is None else pid
        parent = os.getppid() if ppid is None else ppid
        if target not in (own, parent):
            return None
    return usec / USEC_PER_S
