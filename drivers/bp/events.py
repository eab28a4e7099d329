"""Typed events every blood-pressure protocol decodes to (frozen, protocol-neutral)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from drivers.errors import FrameError


@dataclass(frozen=True)
class CuffPressure:
    """Live cuff pressure while the meter inflates or deflates, in mmHg."""

    mmhg: int


@dataclass(frozen=True)
class BpResult:
    """One finished measurement; vitals are None when the meter reports an error.

    `error_code` is the device's own code (0 = success); `error_key` is a stable key for the
    kiosk's translations and `error` the plain-words English message from `messages.py`. A
    reading outside physiological ranges has error code 0 and an error (`plausibility.py`).
    `movement` (how many times the meter sensed the arm move: Omron format 5 sends a count) and
    `taken_at` are None where the protocol does not report them; `taken_at` is the meter's own
    clock (naive local time) and is not trusted as a wall clock.
    """

    systolic: int | None
    diastolic: int | None
    pulse: int | None
    mean: int | None
    error_code: int
    error_key: str | None
    error: str | None
    movement: int | None = None
    taken_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when the meter produced a (plausible) reading; `error_code` may be 0 without."""
        return self.error_key is None


@dataclass(frozen=True)
class DeviceAck:
    """A one-character device reply (SunTech `O`, `K`, `B`, `A`, …) with its meaning."""

    code: str
    meaning: str


@dataclass(frozen=True)
class HostRequest:
    """A host-to-device request seen on the line (two-direction captures, simulators)."""

    body: bytes


BpEvent = CuffPressure | BpResult | DeviceAck | HostRequest
"""What a decoder yields for valid frames."""

DecodedItem = BpEvent | FrameError
"""One decoder output: an event or a report of discarded bytes."""
