"""Hosting device simulators on pseudo-terminals.

A simulator is sans-I/O (bytes in, bytes out, time passed in); `PtySimulatorHost` serves one on a
pty from a thread. The host keeps a stable symlink to the current slave so that a driver can
reconnect to the same path after `unplug()`/`replug()`, as a udev rule gives real devices.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import select
import tempfile
import threading
import time
import tty
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

SIM_SCHEME = "sim"
MAX_PENDING_OUTPUT_BYTES = 1 << 20
READ_CHUNK_BYTES = 4096


@dataclass(frozen=True)
class SimOutput:
    """What a simulator wants done now: bytes to send, when to be polled next, whether to unplug."""

    data: bytes = b""
    wake_at_s: float | None = None
    unplug: bool = False


class DeviceSimulator(Protocol):
    """The device side of a protocol, driven by the host; all times are monotonic seconds."""

    def feed(self, data: bytes, now_s: float) -> None:
        """Take bytes the host (driver) wrote."""

    def poll(self, now_s: float) -> SimOutput:
        """Return output due by `now_s` and the next time the simulator needs polling."""

    def control(self, command: str, now_s: float) -> str:
        """Apply an operator command (`insert resident`, `present …`); ValueError if unknown."""


# kind -> (module, keyword options for its make_simulator(scenario, **options))
SIMULATOR_KINDS: Mapping[str, tuple[str, Mapping[str, str]]] = {
    "idcard": ("drivers.idcard.simulator", {}),
    "bp": ("drivers.bp.simulator", {"protocol": "suntech"}),
    "bp-suntech": ("drivers.bp.simulator", {"protocol": "suntech"}),
    "bp-omron9030": ("drivers.bp.simulator", {"protocol": "omron9030"}),
    "qrscan": ("drivers.qrscan.simulator", {}),
    "printer": ("drivers.printer.simulator", {}),
}


def make_simulator(kind: str, scenario: str = "default", **options: str) -> DeviceSimulator:
    """Build the simulator for a device kind and scenario (ValueError if either is unknown)."""
    try:
        module_name, fixed_options = SIMULATOR_KINDS[kind]
    except KeyError:
        known = ", ".join(sorted(SIMULATOR_KINDS))
        raise ValueError(f"unknown simulator kind {kind!r}; known: {known}") from None
    factory: Callable[..., DeviceSimulator] = importlib.import_module(module_name).make_simulator
    try:
        return factory(scenario, **{**options, **fixed_options})
    except TypeError as exc:
        raise ValueError(f"bad options for the {kind} simulator: {exc}") from None


@dataclass(frozen=True)
class SimulatorUrl:
    """`sim://KIND?scenario=NAME&option=value`: which simulator, which scenario, its options."""

    kind: str
    scenario: str
    options: Mapping[str, str]


def is_sim_url(url: str) -> bool:
    """True for a `sim://` port name."""
    return urlsplit(url).scheme == SIM_SCHEME


def parse_sim_url(url: str) -> SimulatorUrl:
    """The one parser of `sim://` URLs (the serial link and the kiosk runtime use it)."""
    parts = urlsplit(url)
    if parts.scheme != SIM_SCHEME:
        raise ValueError(f"not a {SIM_SCHEME}:// URL")
    kind = parts.netloc or parts.path.lstrip("/")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    scenario = query.pop("scenario", "default")
    return SimulatorUrl(kind, scenario, query)


def simulator_for_url(url: str) -> DeviceSimulator:
    """The simulator a `sim://` URL names (ValueError if the URL, kind or options are wrong)."""
    address = parse_sim_url(url)
    return make_simulator(address.kind, address.scenario, **address.options)


class PtySimulatorHost:
    """Serves one simulator on a pseudo-terminal from a daemon thread."""

    def __init__(self, simulator: DeviceSimulator, *, link_path: Path | None = None) -> None:
        self.simulator = simulator
        self._own_dir: tempfile.TemporaryDirectory[str] | None = None
        if link_path is None:
            self._own_dir = tempfile.TemporaryDirectory(prefix="kiosk-sim-")
            link_path = Path(self._own_dir.name) / "tty"
        self.link_path = link_path
        self._lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self._outgoing = bytearray()
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def port_path(self) -> str:
        """The stable path a driver opens (a symlink to the current pty slave)."""
        return str(self.link_path)

    @property
    def plugged(self) -> bool:
        """True while a pty is attached."""
        return self._master is not None

    def start(self) -> None:
        """Create the pty and start serving."""
        self._plug()
        self._thread = threading.Thread(target=self._serve, name="pty-simulator", daemon=True)
        self._thread.start()

    def control(self, command: str) -> str:
        """Forward an operator command to the simulator (thread-safe)."""
        with self._lock:
            reply = self.simulator.control(command, time.monotonic())
        self._wake()
        return reply

    def unplug(self) -> None:
        """Close the pty master: the driver's reads fail as with a pulled USB cable.

        The path goes too, as udev removes a pulled adapter's name: a dangling link to the freed
        /dev/pts/N could otherwise open whatever pty another program is given that number.
        """
        with self._lock:
            self._close_pty()
            with contextlib.suppress(FileNotFoundError):
                self.link_path.unlink()
        self._wake()

    def replug(self) -> None:
        """Attach a fresh pty behind the same path."""
        with self._lock:
            if self._master is None:
                self._plug_locked()
        self._wake()

    def stop(self) -> None:
        """Stop serving, close everything and remove the symlink; idempotent."""
        self._stopping = True
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        with self._lock:
            self._close_pty()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            self.link_path.unlink()
        if self._own_dir is not None:
            self._own_dir.cleanup()
            self._own_dir = None

    def _plug(self) -> None:
        with self._lock:
            self._plug_locked()

    def _plug_locked(self) -> None:
        master, slave = os.openpty()
        # Raw mode at once, or 0x03 is taken as Ctrl-C and bytes are echoed (docs/design.md §2.4).
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._outgoing.clear()
        temporary = self.link_path.with_name(self.link_path.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        temporary.symlink_to(os.ttyname(slave))
        temporary.replace(self.link_path)

    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self._outgoing.clear()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _serve(self) -> None:
        # Poll once before waiting: a push-only device may have something to say unprompted.
        wake_at: float | None = time.monotonic()
        while not self._stopping:
            master = self._master
            timeout = None if wake_at is None else max(0.0, wake_at - time.monotonic())
            readers = [self._wake_r] + ([master] if master is not None else [])
            writers = [master] if master is not None and self._outgoing else []
            try:
                readable, writable, _ = select.select(readers, writers, [], timeout)
            except (OSError, ValueError):
                readable, writable = [], []  # the pty was closed under us by unplug()
            if self._wake_r in readable:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 1024)
            with self._lock:
                if self._master is None or self._master != master:
                    wake_at = None
                    continue
                if master in readable:
                    self._read_from_driver(master)
                wake_at = self._collect_output()
                if master in writable or self._outgoing:
                    self._write_to_driver(master)

    def _read_from_driver(self, master: int) -> None:
        try:
            data = os.read(master, READ_CHUNK_BYTES)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EIO:  # nobody has the slave open right now
                return
            raise
        if data:
            self.simulator.feed(data, time.monotonic())

    def _collect_output(self) -> float | None:
        out = self.simulator.poll(time.monotonic())
        if out.data and len(self._outgoing) + len(out.data) <= MAX_PENDING_OUTPUT_BYTES:
            self._outgoing.extend(out.data)
        if out.unplug:
            # Say what was due first (best effort, as a device sends before its cable goes).
            if self._master is not None and self._outgoing:
                self._write_to_driver(self._master)
            self._close_pty()
            return None
        return out.wake_at_s

    def _write_to_driver(self, master: int) -> None:
        if self._master is None:
            return
        try:
            written = os.write(master, self._outgoing)
        except (BlockingIOError, InterruptedError):
            return
        del self._outgoing[:written]
