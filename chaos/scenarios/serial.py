"""Garbage storms and unplug/replug loops on every simulated device, through the real drivers.

Each device runs its simulator's `garbage_bursts` scenario (noise before every answer) on a real
pty. A cycle: a few operations, unplug, one operation that must not succeed (DeviceDisconnected,
or None from a scanner that rides the loss out),
replug, operations until one succeeds. Pass: nothing but drivers.errors types ever escapes,
every cycle recovers, and the driver reports each loss and each recovery exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.report import Result
from drivers.bp.device import BloodPressureMeter
from drivers.bp.simulator import make_simulator as make_bp_simulator
from drivers.errors import DriverError
from drivers.idcard.device import IdCardReader
from drivers.qrscan.device import QrScanner
from drivers.simulation import PtySimulatorHost, make_simulator

SIM_TIME_SCALE = 0.05  # a simulated BP measurement in ~0.1 s instead of ~2 s
OP_TIMEOUT_S = 3.0
RECOVERY_TIMEOUT_S = 20.0
RETRY_PAUSE_S = 0.01
KINDS = ("idcard", "bp-suntech", "bp-omron9030", "qrscan")


@dataclass
class Tally:
    """Per device: operations, typed errors by class, untyped errors, link reports."""

    ok: int = 0
    typed: dict[str, int] = field(default_factory=dict)
    untyped: list[str] = field(default_factory=list)
    losses: int = 0
    recoveries: int = 0
    recovery_s: list[float] = field(default_factory=list)
    garbage_discarded: int = 0

    def on_link(self, connected: bool, _reason: str) -> None:
        """The driver's link-change listener."""
        if connected:
            self.recoveries += 1
        else:
            self.losses += 1


def _device(kind: str, host: PtySimulatorHost, tally: Tally) -> tuple[Any, Callable[[], bool]]:
    """The real driver for `kind` on the host's port, and one operation (True on success)."""
    port = host.port_path
    if kind == "idcard":
        reader = IdCardReader(port, on_link_change=tally.on_link)
        return reader, lambda: reader.read_card(OP_TIMEOUT_S) is not None
    if kind.startswith("bp-"):
        protocol = kind.removeprefix("bp-")
        meter = BloodPressureMeter(port, protocol=protocol, on_link_change=tally.on_link)

        def measure() -> bool:
            if protocol == "omron9030":
                meter.connect()
                host.control("measure")  # the resident presses START
            return meter.measure(timeout_s=OP_TIMEOUT_S).ok

        return meter, measure
    scanner = QrScanner(port, on_link_change=tally.on_link)

    def scan() -> bool:
        scanner.trigger()
        try:
            return scanner.scan(OP_TIMEOUT_S) is not None
        finally:
            scanner.untrigger()

    return scanner, scan


def _simulator(kind: str) -> PtySimulatorHost:
    if kind.startswith("bp-"):
        sim = make_bp_simulator(
            "garbage_bursts", protocol=kind.removeprefix("bp-"), time_scale=SIM_TIME_SCALE
        )
        return PtySimulatorHost(sim)
    return PtySimulatorHost(make_simulator(kind, "garbage_bursts"))


def _attempt(op: Callable[[], bool], tally: Tally) -> bool:
    try:
        done = op()
    except DriverError as exc:
        name = type(exc).__name__
        tally.typed[name] = tally.typed.get(name, 0) + 1
        return False
    except Exception as exc:  # noqa: BLE001 - the finding: an untyped error escaped a driver
        tally.untyped.append(f"{type(exc).__name__}: {str(exc)[:60]}")
        return False
    tally.ok += done
    return done


def exercise(kind: str, cycles: int, ops_per_cycle: int) -> Tally:
    """Run the cycles on one device kind and return its tally."""
    tally = Tally()
    host = _simulator(kind)
    host.start()
    device, op = _device(kind, host, tally)
    try:
        for _ in range(cycles):
            for _ in range(ops_per_cycle):
                _attempt(op, tally)
            host.unplug()
            if _attempt(op, tally):
                tally.untyped.append("an operation succeeded on an unplugged port")
            host.replug()
            replugged = time.monotonic()
            while not _attempt(op, tally):
                if time.monotonic() - replugged > RECOVERY_TIMEOUT_S:
                    break
                time.sleep(RETRY_PAUSE_S)  # a kiosk worker pauses too; the backoff decides
            else:
                tally.recovery_s.append(time.monotonic() - replugged)
    finally:
        tally.garbage_discarded = int(
            getattr(device, "discarded_frames", getattr(device, "frame_errors", 0))
        )
        device.close()
        host.stop()
    return tally


def serial_faults(workdir: Path, quick: bool) -> Result:
    """Every device kind through garbage storms and unplug/replug cycles."""
    del workdir
    result = Result("serial")
    cycles, ops = (3, 3) if quick else (10, 5)
    for kind in KINDS:
        tally = exercise(kind, cycles, ops)
        result.offered += cycles * (ops + 1)
        result.delivered += tally.ok
        result.recovery_s.extend(tally.recovery_s)
        typed = ",".join(f"{k}:{v}" for k, v in sorted(tally.typed.items())) or "none"
        result.extra[f"{kind}.ok"] = tally.ok
        result.extra[f"{kind}.typed_errors"] = typed
        result.extra[f"{kind}.garbage_discarded"] = tally.garbage_discarded
        result.extra[f"{kind}.loss/recovery_reports"] = f"{tally.losses}/{tally.recoveries}"
        if tally.untyped:
            result.problems.append(f"{kind}: {len(tally.untyped)} untyped: {tally.untyped[0]}")
        if len(tally.recovery_s) != cycles:
            result.problems.append(f"{kind}: recovered {len(tally.recovery_s)} of {cycles} times")
        # The first open is reported as connected too: one more than the replugs.
        if (tally.losses, tally.recoveries) != (cycles, cycles + 1):
            result.problems.append(
                f"{kind}: {tally.losses} loss / {tally.recoveries} recovery reports for {cycles}"
            )
    return result
