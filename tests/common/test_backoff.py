"""The shared backoff: full jitter within a doubling window, a cap, reset only once stable."""

from __future__ import annotations

import random

from common.backoff import Backoff


def test_backoff_full_jitter_grows_caps_and_resets_only_when_stable() -> None:
    """Delays stay within [0, min(max, initial*2^n)]; a short-lived connection does not reset."""
    now = [0.0]
    backoff = Backoff(0.5, 4.0, stable_after_s=10.0, clock=lambda: now[0])
    windows = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    for window in windows:
        assert 0.0 <= backoff.next_delay_s() <= window
    backoff.succeeded()
    now[0] += 3
    backoff.ended()
    assert backoff.attempts == len(windows)
    backoff.succeeded()
    now[0] += 11
    backoff.tick()
    assert backoff.attempts == 0


def test_without_stable_after_a_success_resets_at_once() -> None:
    """The drivers' use: a port that opened resets the delay to the shortest window."""
    backoff = Backoff(0.2, 10.0, random.Random(1))
    for _ in range(5):
        backoff.next_delay_s()
    backoff.succeeded()
    assert backoff.attempts == 0
    assert backoff.window_s() == 0.2


def test_a_stable_connection_that_ends_reports_it_and_clears_the_count() -> None:
    """ended() says whether the success had lasted stable_after_s, and only then resets."""
    now = [0.0]
    backoff = Backoff(1.0, 60.0, random.Random(2), 30.0, lambda: now[0])
    backoff.next_delay_s()
    backoff.next_delay_s()
    backoff.succeeded()
    now[0] = 31.0
    assert backoff.ended() is True
    assert backoff.attempts == 0
    assert backoff.ended() is False  # nothing was up any more
