"""Typed self-test results: what each device's `self_test(timeout_s)` checked and found.

A self-test asks the device something real (the SAM's status and id, the meter's cuff pressure,
the scanner's menu echo, a camera frame) and never raises for a device problem: a failed check
is data. Details are short, fixed or device-sent texts, never personal data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from drivers.errors import DriverError

DeviceKind = Literal["idcard", "bp", "qrscan", "camera"]
MAX_DETAIL_CHARS = 120


@dataclass(frozen=True)
class Check:
    """One thing checked: a short name (`sam_status`), whether it passed, a short detail."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class SelfTestReport:
    """A device's self-test: ok only if every check passed (and at least one ran)."""

    device: DeviceKind
    ok: bool
    checks: tuple[Check, ...]
    duration_s: float = 0.0

    @classmethod
    def of(cls, device: DeviceKind, checks: list[Check], duration_s: float) -> SelfTestReport:
        """A report whose `ok` follows from its checks."""
        return cls(device, bool(checks) and all(c.ok for c in checks), tuple(checks), duration_s)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (command.result detail, the kiosk ↔ agent exchange)."""
        return {
            "device": self.device,
            "ok": self.ok,
            "duration_s": round(self.duration_s, 3),
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


class CheckFailed(Exception):
    """Raised by a probe to fail its check with a detail (the device answered, but wrongly)."""


def error_detail(error: BaseException) -> str:
    """A short description of a driver error: its class and (capped) message."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return text[:MAX_DETAIL_CHARS]


class CheckRunner:
    """Runs named checks in order; a driver error fails that check and (optionally) the rest."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started_s = clock()
        self.checks: list[Check] = []

    @property
    def failed(self) -> bool:
        """True once any check failed."""
        return any(not c.ok for c in self.checks)

    def run(self, name: str, probe: Callable[[], str]) -> bool:
        """Run `probe` (returns the detail); CheckFailed, DriverError, OSError fail the check."""
        try:
            detail = probe()
        except CheckFailed as failed:
            self.checks.append(Check(name, False, str(failed)[:MAX_DETAIL_CHARS]))
            return False
        except (DriverError, OSError) as error:
            self.checks.append(Check(name, False, error_detail(error)))
            return False
        self.checks.append(Check(name, True, detail[:MAX_DETAIL_CHARS]))
        return True

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        """Record a check decided by the caller."""
        self.checks.append(Check(name, ok, detail[:MAX_DETAIL_CHARS]))

    def report(self, device: DeviceKind) -> SelfTestReport:
        """The report of everything run so far."""
        return SelfTestReport.of(device, self.checks, self._clock() - self._started_s)
