"""Reconnect schedule: back within one window of the broker, at a bounded fleet arrival rate."""

from __future__ import annotations

import bisect
import itertools
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from common.kiosk_agent import LinkState
from config import load_config
from edge_agent.agent import Agent
from edge_agent.reconnect import Failure, ReconnectSchedule
from tests.edge_agent.conftest import write_config

WINDOW_S = 10.0  # the shipped reconnect_window_s
INITIAL_S, MAX_S, STABLE_S = 1.0, 120.0, 60.0  # the shipped backoff_initial_s, _max_s, stable
SLOT_S = 0.1  # the bench's storm window: peak connects in any 100 ms


class FakeClock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def schedule(clock: FakeClock, seed: int, window_s: float = WINDOW_S) -> ReconnectSchedule:
    """A schedule with the shipped settings, seeded."""
    return ReconnectSchedule.from_settings(
        window_s=window_s,
        initial_s=INITIAL_S,
        max_s=MAX_S,
        stable_after_s=STABLE_S,
        clock=clock,
        rng=random.Random(seed),
    )


def on_grid(sched: ReconnectSchedule, at: float) -> bool:
    """True if `at` is one of the schedule's grid points."""
    assert sched.phase_s is not None
    offset = (at - sched.phase_s) % sched.window_s
    return min(offset, sched.window_s - offset) < 1e-6


def test_an_unreachable_broker_is_retried_once_per_window_without_growing() -> None:
    """Failures without an answer keep the cadence: attempts exactly one window apart, forever."""
    clock = FakeClock()
    sched = schedule(clock, seed=1)
    attempts = []
    for _ in range(50):
        at = sched.next_attempt_at(Failure.UNREACHABLE)
        attempts.append(at)
        clock.now = at + 0.003  # the refused connect takes a few ms
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert all(abs(gap - WINDOW_S) < 1e-6 for gap in gaps)
    assert all(on_grid(sched, at) for at in attempts)


def test_a_connect_timeout_keeps_the_grid() -> None:
    """An attempt that hangs for 5 s before failing is followed by the next grid point."""
    clock = FakeClock()
    sched = schedule(clock, seed=2)
    first = sched.next_attempt_at(Failure.UNREACHABLE)
    clock.now = first + 5.0
    assert abs(sched.next_attempt_at(Failure.UNREACHABLE) - (first + WINDOW_S)) < 1e-6


def test_first_attempt_after_a_stable_loss_is_spread_over_one_window() -> None:
    """Kiosks losing their broker together try again uniformly over the next window."""
    clock = FakeClock()
    delays = []
    for seed in range(400):
        clock.now = 0.0
        sched = schedule(clock, seed)
        sched.connected()
        clock.now = 3600.0
        delays.append(sched.next_attempt_at(Failure.LOST) - clock.now)
    assert min(delays) > 0.0
    assert max(delays) <= WINDOW_S
    quarter = WINDOW_S / 4
    quarters = [sum(1 for d in delays if q * quarter <= d < (q + 1) * quarter) for q in range(4)]
    assert min(quarters) > 70  # about 100 in each quarter of the window


def test_refusals_are_strikes_that_grow_up_to_the_cap_and_stay_on_the_grid() -> None:
    """A broker that answers no is asked less and less often; a stable connection clears it."""
    clock = FakeClock()
    sched = schedule(clock, seed=3)
    waits = []
    for _ in range(12):
        at = sched.next_attempt_at(Failure.REFUSED)
        assert on_grid(sched, at)
        waits.append(at - clock.now)
        clock.now = at
    assert max(waits) <= MAX_S + WINDOW_S
    assert sum(waits[-4:]) > 4 * WINDOW_S  # later strikes wait well beyond the cadence
    assert sched.strikes.window_s() == MAX_S  # 1 s doubling reaches the 120 s cap
    sched.connected()
    clock.now += STABLE_S
    sched.tick()
    assert sched.strikes.attempts == 0


def test_a_connection_lost_before_it_was_stable_is_a_strike() -> None:
    """A broker that drops us seconds after CONNACK (flapping) gets a growing delay."""
    clock = FakeClock()
    sched = schedule(clock, seed=4)
    for _ in range(5):
        sched.connected()
        clock.now += 2.0
        clock.now = sched.next_attempt_at(Failure.LOST)
    assert sched.strikes.attempts == 5


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    steps=st.lists(
        st.tuples(st.sampled_from(list(Failure)), st.floats(0.0, 200.0), st.booleans()),
        min_size=1,
        max_size=40,
    ),
)
def test_whatever_happens_one_kiosk_tries_at_most_once_per_window(
    seed: int, steps: list[tuple[Failure, float, bool]]
) -> None:
    """The rate bound: attempts only on the kiosk's own grid, so never two within a window."""
    clock = FakeClock()
    sched = schedule(clock, seed)
    attempts: list[float] = []
    for failure, busy_s, was_up in steps:
        at = sched.next_attempt_at(failure)
        assert at > clock.now
        assert on_grid(sched, at)
        attempts.append(at)
        clock.now = at
        if was_up:
            sched.connected()
        clock.now += min(busy_s, WINDOW_S * 0.99)  # an attempt ends before its next point
    assert all(b - a >= WINDOW_S - 1e-6 for a, b in itertools.pairwise(attempts))


def storm(fleet: int, down_s: float, seed: int, connected_for_s: float) -> tuple[float, float]:
    """(peak connects in any 100 ms as a fleet share, seconds from return to the last one)."""
    sizes = random.Random(seed)
    back = []
    clock = FakeClock()
    for _ in range(fleet):
        clock.now = -connected_for_s
        sched = schedule(clock, sizes.randrange(2**32))
        sched.connected()
        clock.now = 0.0  # the broker goes away for everyone at once
        at = sched.next_attempt_at(Failure.LOST)
        while at < down_s:  # the broker is still down: connection refused
            clock.now = at + 0.002
            at = sched.next_attempt_at(Failure.UNREACHABLE)
        back.append(at)
    back.sort()
    peak = max(bisect.bisect_left(back, start + SLOT_S) - i for i, start in enumerate(back))
    return peak / fleet, back[-1] - down_s


def test_a_thousand_kiosks_are_back_within_one_window_after_a_10_s_outage() -> None:
    """1,000 kiosks, broker down 10 s: all back within 15 s of its return, peak <= 5%/100 ms."""
    for seed in range(5):
        peak, last_s = storm(1000, 10.0, seed, connected_for_s=600.0)
        assert last_s <= WINDOW_S < 15.0
        assert peak <= 0.035


def test_a_200_fleet_with_young_connections_is_spread_and_back_soon() -> None:
    """The agent bench's case: connections younger than stable_after_s, broker down 3 s."""
    for seed in range(10):
        peak, last_s = storm(200, 3.0, seed, connected_for_s=5.0)
        assert peak <= 0.05
        assert last_s <= 15.0


def test_the_agent_retries_a_refused_port_on_its_grid(tmp_path: Path) -> None:
    """Agent wiring: TCP refused is UNREACHABLE, so retries keep one window apart, not growing."""
    path = write_config(tmp_path / "kiosk", "mqtt://127.0.0.1:1", agent={"reconnect_window_s": 7})
    clock = FakeClock()
    agent = Agent(load_config(path, env={}), monotonic=clock, rng=random.Random(5), poll_s=0)
    try:
        attempts = []
        for _ in range(6):
            agent.step()  # due: connect, refused at once
            assert agent.status.link is LinkState.DISCONNECTED
            attempts.append(agent._next_attempt)
            clock.now = agent._next_attempt
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        assert all(abs(gap - 7.0) < 1e-6 for gap in gaps)
    finally:
        agent.shutdown()
