"""Alert rules and lifecycle, pure, with an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from city.config import RulesConfig
from city.inventory import parse_hours
from city.rules import Alert, KioskSnapshot, conditions, step
from testbed.city_events import T0

RULES = RulesConfig(
    offline_after_s=600, heartbeat_interval_s=60, heartbeat_missed_intervals=3, clear_after_s=120
)
K = "440300/c/k1"


def _snapshot(**fields: object) -> KioskSnapshot:
    base: dict[str, object] = {
        "kiosk": K,
        "presence": "online",
        "presence_since": T0,
        "last_heartbeat_at": T0,
        "oldest_unsent_age_s": None,
        "free_disk_mb": 10_000.0,
        "clock_synchronised": True,
    }
    base.update(fields)
    return KioskSnapshot(**base)  # type: ignore[arg-type]  # test data


def _rules_at(snapshot: KioskSnapshot, now: datetime, local: datetime | None = None) -> set[str]:
    return {rule for (_k, rule, _s) in conditions(snapshot, now, local or now, RULES, 300)}


def test_offline_counts_only_in_opening_hours() -> None:
    """Offline for 11 minutes alerts on a weekday at 10:00, not on Sunday or at night."""
    snapshot = _snapshot(presence="offline", opening_hours="Mon-Fri 09:00-18:00")
    now = T0 + timedelta(minutes=11)
    wednesday_10 = datetime(2026, 12, 2, 10, 0)
    assert _rules_at(snapshot, now, wednesday_10) == {"offline"}
    assert _rules_at(snapshot, now, datetime(2026, 12, 6, 10, 0)) == set()
    assert _rules_at(snapshot, now, datetime(2026, 12, 2, 20, 0)) == set()
    assert _rules_at(snapshot, T0 + timedelta(minutes=9), wednesday_10) == set()


def test_three_missed_heartbeats() -> None:
    """Silent for more than 3 intervals while online is an alert."""
    snapshot = _snapshot()
    assert _rules_at(snapshot, T0 + timedelta(seconds=179)) == set()
    assert _rules_at(snapshot, T0 + timedelta(seconds=181)) == {"heartbeat_missing"}


def test_health_thresholds() -> None:
    """Backlog age, disk, clock and agent alerts each hold their own condition."""
    snapshot = _snapshot(
        oldest_unsent_age_s=4000.0,
        free_disk_mb=10.0,
        clock_synchronised=False,
        agent_alerts={"outbox_full": ("outbox is full", T0)},
        device_faults={"bp": T0 - timedelta(minutes=10)},
    )
    assert _rules_at(snapshot, T0) == {
        "backlog",
        "disk_low",
        "clock_unsynchronised",
        "agent_alert",
        "device_fault",
    }


def test_lifecycle_with_hysteresis() -> None:
    """Open on first sight; a short clear keeps it; only a clear past clear_after_s resolves it."""
    condition = {(K, "disk_low", ""): "low"}
    changed, transitions = step([], condition, T0, 120)
    assert [t.kind for t in transitions] == ["opened"]
    alert = Alert(1, *(changed[0].condition), "acknowledged", "low", T0)
    flap = T0 + timedelta(seconds=30)
    changed, transitions = step([alert], {}, flap, 120)
    assert transitions == []
    assert changed[0].clear_since == flap
    back, transitions = step(changed, condition, flap + timedelta(seconds=10), 120)
    assert transitions == []
    assert back[0].clear_since is None
    assert back[0].state == "acknowledged"
    cleared, _ = step(back, {}, T0 + timedelta(seconds=100), 120)
    changed, transitions = step(cleared, {}, T0 + timedelta(seconds=221), 120)
    assert [t.kind for t in transitions] == ["resolved"]
    assert changed[0].state == "resolved"


def test_opening_hours_parse() -> None:
    """Day ranges, lists and wrap-around; malformed text is refused."""
    hours = parse_hours("Mon,Wed,Sat-Sun 08:30-12:00")
    assert hours is not None
    assert hours.days == {0, 2, 5, 6}
    assert parse_hours("") is None
    for bad in ("Mon-Fri 9-18", "Funday 09:00-10:00", "Mon 18:00-09:00"):
        with pytest.raises(ValueError, match=r"expected|unknown day|closing"):
            parse_hours(bad)
