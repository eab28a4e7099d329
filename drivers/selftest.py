"""Running a device self-test: named checks in order, a driver error fails the check (data).

The result types live in common/selftest.py (the kiosk core and the agent read them too).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from common.selftest import MAX_DETAIL_CHARS, Check, DeviceKind, SelfTestReport
from drivers.errors import DriverError


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
