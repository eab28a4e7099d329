"""Self-test result shapes, defined here until the shared `drivers/selftest.py` lands.

The same frozen shapes as that module (`Check(name, ok, detail)`, `SelfTestReport(device, ok,
checks)`), so merging is a one-line import change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    """One thing the self-test looked at."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class SelfTestReport:
    """All checks of one device; `ok` only if every check passed."""

    device: str
    ok: bool
    checks: tuple[Check, ...]

    @classmethod
    def of(cls, device: str, checks: tuple[Check, ...]) -> SelfTestReport:
        """A report whose `ok` is the conjunction of its checks."""
        return cls(device, all(c.ok for c in checks), checks)

    def summary(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "device": self.device,
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }
