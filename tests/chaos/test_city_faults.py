"""The city's fault scenarios in short runs: real Mosquitto, PostgreSQL, workers and agent.

Each asserts what `make chaos` promises: every PUBACKed (or durable) event has exactly one row.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.report import Result
from chaos.scenarios.ingest import (
    PRESENCE_KEEPALIVE_S,
    kiosk_presence,
    postgres_restart,
    worker_sigkill,
)

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]


def assert_nothing_lost_nothing_twice(result: Result) -> None:
    """0 lost, 0 duplicate rows, no problem, and there was load to lose."""
    assert result.problems == []
    assert result.offered > 0
    assert (result.lost, result.extra["duplicate_rows"]) == (0, 0)
    assert result.delivered == result.offered
    assert result.ok


def test_worker_sigkilled_three_times_under_load(tmp_path: Path) -> None:
    """One of two workers SIGKILLed and restarted three times: every PUBACKed event, once."""
    result = worker_sigkill(tmp_path, quick=True, kills=3)
    assert_nothing_lost_nothing_twice(result)
    assert len(result.recovery_s) == 3


def test_postgres_fast_and_immediate_restart_under_load(tmp_path: Path) -> None:
    """`pg_ctl restart -m fast` then `-m immediate`: the workers reconnect and store all."""
    result = postgres_restart(tmp_path, quick=True, cycles=1)
    assert_nothing_lost_nothing_twice(result)
    assert len(result.recovery_s) == 2
    assert result.extra["workers_noticed"] >= 1


@pytest.mark.timeout(180)
def test_killed_kiosk_goes_offline_within_two_keepalives_and_comes_back(tmp_path: Path) -> None:
    """A real agent SIGKILLed (plainly, and behind a black hole): offline ≤ 2 keepalives."""
    result = kiosk_presence(tmp_path, quick=True, cycles=1)
    assert_nothing_lost_nothing_twice(result)
    bound = 2 * PRESENCE_KEEPALIVE_S
    assert 0 < result.extra["offline_killed_s"] <= bound
    # No close reached the broker: only its keepalive (1.5 x) can have noticed.
    assert result.extra["offline_killed_s"] < result.extra["offline_vanished_s"] <= bound
    assert result.extra["online_again_s"] > 0
