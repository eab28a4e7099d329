"""Technician access: the PIN gate (scrypt hash, persisted failures, escalating lockouts) and
the hidden gesture.

The hash format lives in config/pinhash.py (config check validates it too). The gate's state
(failures, lockout level, lock end) goes through a `PinStateStore`; the kiosk keeps it in a file
only the kiosk user reads (kiosk/runtime/pin_store.py), so a restart resets nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from config.pinhash import MAX_PIN_CHARS, PinHash, PinHashError, hash_pin, parse_pin_hash

__all__ = [
    "MAX_PIN_CHARS",
    "CornerTapGesture",
    "MemoryPinStore",
    "PinGate",
    "PinHash",
    "PinHashError",
    "PinResult",
    "PinState",
    "PinStateStore",
    "hash_pin",
    "parse_pin_hash",
]

MIN_PIN_DIGITS = 6  # outside a development kiosk (issue 10 item 3)
DEV_MIN_PIN_DIGITS = 4
DEFAULT_LOCKOUT_STEPS_S = (60.0, 300.0, 900.0, 3600.0)


@dataclass(frozen=True)
class PinState:
    """What survives a restart: failures since the last lockout, the lockout level, its end.

    `lockouts` only ever grows until a correct PIN; `locked_until_s` is wall-clock seconds.
    """

    failures: int = 0
    lockouts: int = 0
    locked_until_s: float = 0.0


class PinStateStore(Protocol):
    """Where the gate keeps its state."""

    def load(self) -> PinState | None:
        """The stored state; None if the stored state is unreadable (the gate then locks)."""
        ...

    def save(self, state: PinState) -> None:
        """Store durably before returning; OSError if it cannot."""
        ...


class MemoryPinStore:
    """A store in memory (tests, and a kiosk without a private directory)."""

    def __init__(self, state: PinState | None = None) -> None:
        self.state: PinState | None = PinState() if state is None else state

    def load(self) -> PinState | None:
        """The state last saved."""
        return self.state

    def save(self, state: PinState) -> None:
        """Keep `state`."""
        self.state = state


PinStatus = Literal["accepted", "rejected", "locked", "disabled"]


@dataclass(frozen=True)
class PinResult:
    """Outcome of one attempt: `remaining` attempts before lockout, `locked_for_s` if locked.

    `lockout_level` is set (1, 2, …) only on the attempt that started a lockout: the city is told.
    """

    status: PinStatus
    remaining: int = 0
    locked_for_s: float = 0.0
    lockout_level: int | None = None

    @property
    def accepted(self) -> bool:
        """True only for the right PIN outside a lockout."""
        return self.status == "accepted"


class PinGate:
    """After `max_failures` wrong PINs, refuses every attempt for the next lockout step.

    Lockout n lasts `lockout_steps_s[n-1]` (the last step repeats) and the level never drops when
    a lockout ends: only a correct PIN resets it. With the defaults that is 5 guesses per hour
    after the fourth lockout. During a lockout the PIN is not even checked. Each attempt is
    counted and saved *before* the hash is checked, so killing the kiosk mid-check gains nothing.
    PINs shorter than `min_digits` are failures without hashing. No hash: the gate is disabled.
    """

    def __init__(
        self,
        pin_hash: str | None,
        *,
        clock: Callable[[], float],
        max_failures: int = 5,
        lockout_steps_s: Sequence[float] = DEFAULT_LOCKOUT_STEPS_S,
        min_digits: int = MIN_PIN_DIGITS,
        store: PinStateStore | None = None,
    ) -> None:
        self._hash = None if pin_hash is None else parse_pin_hash(pin_hash)
        self._max_failures = max_failures
        self._steps = tuple(lockout_steps_s) or DEFAULT_LOCKOUT_STEPS_S
        self._min_digits = min_digits
        self._clock = clock
        self._store = store if store is not None else MemoryPinStore()
        loaded = self._store.load()
        if loaded is None:  # unreadable state: fail closed with the shortest lockout
            loaded = PinState(0, 1, clock() + self._steps[0])
            self._save(loaded)
        self._state = loaded

    @property
    def max_failures(self) -> int:
        """Wrong PINs before each lockout."""
        return self._max_failures

    @property
    def state(self) -> PinState:
        """The current (persisted) state."""
        return self._state

    def _step_s(self, level: int) -> float:
        return self._steps[min(level, len(self._steps)) - 1]

    def _save(self, state: PinState) -> None:
        self._state = state
        with contextlib.suppress(OSError):  # still enforced in memory; the store logs why
            self._store.save(state)

    def locked_for_s(self) -> float:
        """Seconds left in the current lockout (0 when not locked)."""
        state = self._state
        if state.lockouts == 0:
            return 0.0
        left = state.locked_until_s - self._clock()
        longest = self._step_s(state.lockouts)
        if left > longest:
            # the wall clock went back: never lock longer than this level's step from now
            self._save(dataclasses.replace(state, locked_until_s=self._clock() + longest))
            left = longest
        return max(left, 0.0)

    def _valid_form(self, pin: str) -> bool:
        return pin.isascii() and pin.isdigit() and self._min_digits <= len(pin) <= MAX_PIN_CHARS

    def verify(self, pin: str) -> PinResult:
        """Check one attempt."""
        if self._hash is None:
            return PinResult("disabled")
        locked = self.locked_for_s()
        if locked > 0:
            return PinResult("locked", locked_for_s=locked)
        counted = dataclasses.replace(self._state, failures=self._state.failures + 1)
        self._save(counted)
        if self._valid_form(pin) and self._hash.matches(pin):
            self._save(PinState())
            return PinResult("accepted", remaining=self._max_failures)
        if counted.failures < self._max_failures:
            return PinResult("rejected", remaining=self._max_failures - counted.failures)
        level = counted.lockouts + 1
        duration = self._step_s(level)
        self._save(PinState(0, level, self._clock() + duration))
        return PinResult("locked", locked_for_s=duration, lockout_level=level)


class CornerTapGesture:
    """Recognises `taps` taps in the top-left corner within `window_s` (the hidden entry).

    Coordinates are fractions of the screen with the origin top-left (the Kivy adapter flips y).
    A tap elsewhere starts over, so residents touching the screen never trigger it by accident.
    """

    def __init__(self, *, taps: int = 5, window_s: float = 3.0, corner: float = 0.08) -> None:
        self._taps = taps
        self._window_s = window_s
        self._corner = corner
        self._times: deque[float] = deque(maxlen=taps)

    def feed(self, x: float, y: float, now_s: float) -> bool:
        """Register a tap; True when it completes the gesture (and the count starts over)."""
        if not (0 <= x <= self._corner and 0 <= y <= self._corner):
            self._times.clear()
            return False
        self._times.append(now_s)
        if len(self._times) == self._taps and now_s - self._times[0] <= self._window_s:
            self._times.clear()
            return True
        return False
