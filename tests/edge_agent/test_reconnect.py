"""Reconnect schedule: a lost connection's first attempt is spread widely; a fleet stays calm."""

from __future__ import annotations

import bisect
import random
import statistics

from edge_agent.reconnect import LOSS_ATTEMPT, Backoff

STORM_FLEET = 200
BROKER_DOWN_S = 3.0
WINDOW_S = 0.1


def test_first_attempt_after_a_loss_uses_the_wide_window() -> None:
    """Cold start: window initial_s; after a lost connection: initial_s * 2**LOSS_ATTEMPT."""
    now = [0.0]
    cold = Backoff(1.0, 120.0, 60.0, lambda: now[0], random.Random(1))
    assert cold.next_delay_s() <= 1.0
    delays = []
    for seed in range(200):
        backoff = Backoff(1.0, 120.0, 60.0, lambda: now[0], random.Random(seed))
        backoff.connected()
        now[0] += 3600  # long stable: the count resets, then resumes at LOSS_ATTEMPT
        backoff.disconnected()
        assert backoff.attempt == LOSS_ATTEMPT
        delays.append(backoff.next_delay_s())
        now[0] = 0.0
    assert max(delays) <= 2.0**LOSS_ATTEMPT
    assert max(delays) > 2.0 ** (LOSS_ATTEMPT - 1)  # really spread, not just jittered


def test_failed_attempts_do_not_count_as_a_loss_and_cap_holds() -> None:
    """Attempts that never connected grow the window normally, up to max_s."""
    backoff = Backoff(0.05, 1.0, 1.0, lambda: 0.0, random.Random(3))
    for _ in range(3):
        backoff.disconnected()
        backoff.next_delay_s()
    assert backoff.attempt == 3
    assert all(backoff.next_delay_s() <= 1.0 for _ in range(10))


def _storm_peak_share(seed: int) -> float:
    """Peak connects in any 100 ms, as a share of the fleet, after a broker restart."""
    fleet = random.Random(seed)
    now = [0.0]
    connects = []
    for _ in range(STORM_FLEET):
        backoff = Backoff(1.0, 120.0, 60.0, lambda: now[0], random.Random(fleet.random()))
        now[0] = -30.0
        backoff.connected()
        now[0] = 0.0
        backoff.disconnected()  # the broker went away for everyone at once
        at = backoff.next_delay_s()
        while at < BROKER_DOWN_S:  # refused: try again later
            now[0] = at
            backoff.disconnected()
            at += backoff.next_delay_s()
        connects.append(at)
    connects.sort()
    return max(
        bisect.bisect_left(connects, start + WINDOW_S) - i for i, start in enumerate(connects)
    ) / len(connects)


def test_a_fleet_behind_a_restarted_broker_reconnects_spread_out() -> None:
    """200 agents, broker down 3 s: peak connects per 100 ms stays under 5% of the fleet."""
    shares = [_storm_peak_share(seed) for seed in range(20)]
    assert max(shares) <= 0.05
    assert statistics.median(shares) <= 0.035
