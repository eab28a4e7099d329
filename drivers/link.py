"""The thin serial transport: the only module of the drivers that imports pyserial.

A port is named by a pyserial URL (`/dev/ttyUSB0`, `loop://`, `socket://host:port`) or by
`sim://KIND?scenario=NAME`, which starts that device's simulator in-process on a pseudo-terminal
and opens its slave end: the driver exercises the same bytes and tty as in the field.
"""

from __future__ import annotations

import contextlib
import errno
import termios
from urllib.parse import urlsplit

import serial

from drivers.errors import DeviceDisconnected, PortInUse
from drivers.simulation import PtySimulatorHost, is_sim_url, simulator_for_url

# What pyserial lets escape when the port vanishes: SerialException/OSError on read and write,
# termios.error from flush/drain on a dead pty, TypeError when its fd was already closed.
PORT_LOST = (serial.SerialException, OSError, TypeError, termios.error)
MAX_READ_BYTES = 4096
# What pyserial's SerialException carries when the exclusive lock is held by someone else.
PORT_LOCKED_ERRNOS = frozenset({errno.EAGAIN, errno.EWOULDBLOCK})


class SerialLink:
    """Blocking byte pipe with a timeout on every read; port loss raises `DeviceDisconnected`."""

    def __init__(self, url: str, *, baudrate: int, timeout_s: float = 0.1) -> None:
        self.url = url
        self._sim_host: PtySimulatorHost | None = None
        port_url = url
        if is_sim_url(url):
            self._sim_host = start_in_process_simulator(url)
            port_url = self._sim_host.port_path
        try:
            # Exclusive (an advisory flock, as pymodbus does): a technician tool opened on the
            # kiosk's port would otherwise steal half of every answer from both programs.
            self._serial = serial.serial_for_url(
                port_url,
                baudrate=baudrate,
                timeout=timeout_s,
                write_timeout=max(timeout_s, 1.0),
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            self._stop_sim()
            if getattr(exc, "errno", None) in PORT_LOCKED_ERRNOS:
                raise PortInUse(
                    f"{_describe(url)} is in use by another program (is the kiosk running?); "
                    "stop it before using this port"
                ) from exc
            raise DeviceDisconnected(f"cannot open {_describe(url)}: {type(exc).__name__}") from exc

    @property
    def simulator(self) -> PtySimulatorHost | None:
        """The in-process simulator behind a `sim://` URL, for dev panels and tests."""
        return self._sim_host

    def read(self, timeout_s: float | None = None) -> bytes:
        """Return what has arrived, waiting up to `timeout_s` for the first byte; b"" on timeout."""
        try:
            if timeout_s is not None:
                self._serial.timeout = timeout_s
            first = self._serial.read(1)
            if not first:
                return b""
            waiting = min(self._serial.in_waiting, MAX_READ_BYTES - 1)
            return first + (self._serial.read(waiting) if waiting else b"")
        except PORT_LOST as exc:
            raise DeviceDisconnected(f"{_describe(self.url)} lost during read") from exc

    def write(self, data: bytes) -> None:
        """Write all of `data` or raise `DeviceDisconnected`."""
        try:
            self._serial.write(data)
            self._serial.flush()
        except PORT_LOST as exc:
            raise DeviceDisconnected(f"{_describe(self.url)} lost during write") from exc

    def reset_input(self) -> None:
        """Drop unread input (stale bytes from before a request); DeviceDisconnected if lost."""
        try:
            self._serial.reset_input_buffer()
        except PORT_LOST as exc:
            raise DeviceDisconnected(f"{_describe(self.url)} lost") from exc

    def close(self) -> None:
        """Close the port and stop an in-process simulator; idempotent."""
        with contextlib.suppress(*PORT_LOST):
            self._serial.close()
        self._stop_sim()

    def _stop_sim(self) -> None:
        if self._sim_host is not None:
            self._sim_host.stop()

    def __enter__(self) -> SerialLink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start_in_process_simulator(url: str) -> PtySimulatorHost:
    """Start the simulator `sim://KIND?scenario=NAME&option=value` names; return its host."""
    host = PtySimulatorHost(simulator_for_url(url))
    host.start()
    return host


def _describe(url: str) -> str:
    """A port name fit for logs: scheme and path only, never query strings or credentials."""
    parts = urlsplit(url)
    if parts.scheme:
        return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
    return url
