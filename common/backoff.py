"""Full-jitter exponential backoff, the one copy drivers and the edge agent share.

Full jitter (each delay drawn uniformly from [0, min(cap, base * 2**n)]) because a fixed
delay keeps every client that failed together in lock-step (docs/design.md §4).
`stable_after_s` makes a success count only once it has lasted: a serial port that opens and
dies at once, or a broker connection dropped seconds after CONNACK, keeps growing the delay.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

MAX_DOUBLINGS = 32  # 2**32 * any sane base is far past any cap; keeps the power finite


class Uniform(Protocol):
    """The part of `random.Random` a backoff needs (tests pass a fixed draw)."""

    def uniform(self, a: float, b: float) -> float:
        """A float in [a, b]."""
        ...


@dataclass
class Backoff:
    """Delays between attempts: `next_delay_s()` after each failure, `succeeded()` after a win."""

    base_s: float = 0.2
    cap_s: float = 10.0
    rng: Uniform | None = None
    stable_after_s: float = 0.0
    clock: Callable[[], float] = time.monotonic
    attempts: int = 0
    _up_since: float | None = None

    def window_s(self) -> float:
        """The upper bound of the next draw."""
        return min(self.cap_s, self.base_s * 2.0 ** min(self.attempts, MAX_DOUBLINGS))

    def next_delay_s(self) -> float:
        """The delay before the next attempt; each call widens the window up to `cap_s`."""
        window = self.window_s()
        self.attempts = min(self.attempts + 1, MAX_DOUBLINGS)
        return (self.rng or random).uniform(0.0, window)

    def reset(self) -> None:
        """Back to the shortest delay now."""
        self.attempts = 0
        self._up_since = None

    def succeeded(self) -> None:
        """An attempt worked; the count resets now, or once it has lasted `stable_after_s`."""
        if self.stable_after_s <= 0:
            self.reset()
        else:
            self._up_since = self.clock()

    def ended(self) -> bool:
        """What `succeeded()` started has ended; True if it had lasted (the count is reset)."""
        stable = self.stable
        if stable:
            self.attempts = 0
        self._up_since = None
        return stable

    @property
    def stable(self) -> bool:
        """True once the current success has lasted `stable_after_s`."""
        return self._up_since is not None and self.clock() - self._up_since >= self.stable_after_s

    def tick(self) -> None:
        """Call now and then while up: resets the count once the success is stable."""
        if self.stable:
            self.attempts = 0
