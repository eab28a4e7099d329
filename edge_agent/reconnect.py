"""When the agent tries the broker again, and the link states it reports.

The schedule (docs/design.md §4): a kiosk cannot know when its broker comes back, so what can
be bounded is (a) how long after the return the last kiosk tries again and (b) how many
kiosks arrive at once. Every kiosk draws a phase once, uniformly in [0, window_s), and tries
only at the points of its own grid `phase + k * window_s`. Then, whatever happened before:

- a kiosk whose broker does not answer (TCP refused or reset, DNS, connect timeout) tries again
  at its next grid point: back at most `window_s` after the broker is;
- the fleet's arrival rate is at most fleet / window_s per second, because each kiosk's grid
  points are uniform over the window and it never tries between them: 1,000 kiosks and a
  10 s window make 10 connects per 100 ms (1%) on average, from the first moment on.

Why 10 s: random phases still bunch, so the busiest 100 ms of a return is well above the mean
(a scan statistic). Simulated with this class, broker down 3 s, 100 seeds each (median / worst
busiest 100 ms, 200 kiosks): window 8 s 4.0/6.0%, 10 s 3.5/5.5%, 12 s 3.5/5.0%; 1,000 kiosks
at 10 s: 2.1/2.6%. The tail is the window plus the time from attempt to CONNACK, which on
this shared machine under a 1,000-agent bench was p50 5 s at a load of 29 (12 s window: last
kiosk back after 16.9 s at a load of 12): 10 s keeps 5 s for that against the 15 s goal,
where 8 s would put the 200-kiosk peak at the 5% limit.

The exponential backoff this replaced kept widening while the broker was down (up to 120 s),
so after a 10 s outage the last of 1,000 kiosks was back after 110 s; and uniform full-jitter
draws make attempts that failed during the outage crowd in right after the return (the
density of the next attempt is highest at 0), which the old 16 s first window had to offset.

Waiting longer helps only when the broker answers and says no (a CONNACK refusal: bad
credentials, server busy, quota) or keeps dropping us (a connection lost before it was
stable): those are strikes, each adding a full-jitter delay that doubles from
backoff_initial_s up to backoff_max_s before the next grid point. A connection that lasted
stable_after_s clears them. The rate bound holds for strikes too: they only skip grid points.
For a fleet far larger than one broker absorbs per second, raise reconnect_window_s to
fleet size / connects per second the broker takes (the grid makes the rate scale with it).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from common.backoff import Backoff, Uniform

GRID_EPSILON_S = 1e-6


class Failure(Enum):
    """Why an attempt or a connection ended; it decides whether waiting longer helps."""

    UNREACHABLE = "no answer from the broker: retrying at the next grid point costs it nothing"
    REFUSED = "the broker answered no: a strike, since asking again soon will not change that"
    LOST = "an established connection ended: a strike unless it had been stable"


@dataclass
class ReconnectSchedule:
    """Monotonic times of the next connection attempt; see the module docstring."""

    window_s: float
    strikes: Backoff
    rng: Uniform = field(default_factory=random.Random)
    phase_s: float | None = None

    def __post_init__(self) -> None:
        if self.phase_s is None:
            self.phase_s = self.rng.uniform(0.0, self.window_s)

    @classmethod
    def from_settings(
        cls,
        *,
        window_s: float,
        initial_s: float,
        max_s: float,
        stable_after_s: float,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> ReconnectSchedule:
        """A schedule from the agent's config values; one rng drives phase and strikes."""
        rng = rng or random.Random()
        strikes = Backoff(initial_s, max_s, rng, stable_after_s, clock)
        return cls(window_s, strikes, rng)

    def next_grid_point(self, after: float) -> float:
        """The first point of this kiosk's grid strictly after `after`."""
        phase, window = self.phase_s, self.window_s
        assert phase is not None
        point = phase + (math.floor((after - phase) / window) + 1) * window
        # Float rounding near a point must not give a retry microseconds after a failure.
        return point + window if point - after < GRID_EPSILON_S else point

    def connected(self) -> None:
        """CONNACK success; strikes clear once the connection has lasted stable_after_s."""
        self.strikes.succeeded()

    def tick(self) -> None:
        """Call now and then while connected."""
        self.strikes.tick()

    def next_attempt_at(self, failure: Failure) -> float:
        """After `failure` now: when to try again (a grid point, later ones after strikes)."""
        now = self.strikes.clock()
        lost = failure is Failure.LOST
        strike = not self.strikes.ended() if lost else failure is Failure.REFUSED
        earliest = now + self.strikes.next_delay_s() if strike else now
        return self.next_grid_point(earliest)
