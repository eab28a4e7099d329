"""Typed self-test results: what each device's `self_test(timeout_s)` checked and found.

Values only (the kiosk core shows them, the agent reports them); drivers/selftest.py runs checks.

A self-test asks the device something real (the SAM's status and id, the meter's cuff pressure,
the scanner's menu echo, a camera frame) and never raises for a device problem: a failed check
is data. Details are short, fixed or device-sent texts, never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

DeviceKind = Literal["idcard", "bp", "qrscan", "camera", "printer"]
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
