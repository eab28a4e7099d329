"""The rollup's sans-I/O half: contract-valid events → counts per local day/hour and rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from city.config import DEFAULT_CONTRACT_DIR
from city.contract import load_contract
from city.reports.calendar import WorkCalendar
from city.reports.rollup import RollupPolicy, delta_of
from testbed import report_events as ev
from testbed.city_events import KioskSim

CONTRACT = load_contract(DEFAULT_CONTRACT_DIR)
POLICY = RollupPolicy("Asia/Shanghai", 5, WorkCalendar())
SUBJECT = "ab" * 32


@dataclass(frozen=True)
class Row:
    """What the rollup reads of a stored event."""

    id: str
    kiosk: str
    type: str
    ts: str
    data: dict[str, Any]


def rows(sim: KioskSim, *events: dict[str, Any]) -> list[Row]:
    """Events as stored rows, each checked against the contract first."""
    for event in events:
        assert CONTRACT.check_event(event) is None, event
    return [Row(e["id"], sim.full_id, e["type"], e["ts"], e["data"]) for e in events]


def test_local_day_and_hour_buckets() -> None:
    """23:30 UTC is 07:30 the next morning in Shanghai: day and hour are local."""
    sim = ev.at(KioskSim(), datetime(2026, 12, 2, 23, 30, tzinfo=UTC))
    session = ev.new_session()
    delta = delta_of(rows(sim, ev.session_started(sim, session)), POLICY)
    assert dict(delta.sessions_hourly) == {(datetime(2026, 12, 3, 7, 0), "440300", "futian-xmh"): 1}
    assert dict(delta.usage) == {
        (date(2026, 12, 3), "440300", "futian-xmh", "started", "services"): 1
    }


def test_every_poor_rating_opens_one_follow_up() -> None:
    """Levels 1 and 2 open a follow-up with reasons and a due day; 3-5 do not."""
    sim = ev.at(KioskSim(), datetime(2026, 12, 3, 2, 0, tzinfo=UTC))  # Thursday 10:00 local
    s = ev.new_session()
    events = rows(
        sim,
        ev.rating(sim, s, 5, item="a"),
        ev.rating(sim, s, 3, item="a"),
        ev.rating(sim, s, 2, ("waited_too_long",), item="a"),
        ev.rating(sim, s, 1, ("device_problem", "other")),
    )
    delta = delta_of(events, POLICY)
    assert [(f.level, f.item, f.reasons, f.due_day) for f in delta.followups] == [
        (2, "a", ("waited_too_long",), date(2026, 12, 10)),
        (1, "", ("device_problem", "other"), date(2026, 12, 10)),
    ]
    assert [f.event_id for f in delta.followups] == [events[2].id, events[3].id]
    assert delta.reasons[(date(2026, 12, 3), "440300", "futian-xmh", "", 1, "other")] == 1


def test_high_readings_need_consent_and_grade_two() -> None:
    """Only a pseudonymous grade 2-3 reading (or isolated systolic ≥ 160) is kept for warnings."""
    sim = KioskSim()
    s = ev.new_session()
    events = rows(
        sim,
        ev.bp_measured(sim, s, 165, 102, "grade_2", subject=SUBJECT),
        ev.bp_measured(sim, s, 185, 112, "grade_3"),  # anonymous
        ev.bp_measured(sim, s, 150, 95, "grade_1", subject=SUBJECT),
        ev.bp_measured(sim, s, 165, 85, "isolated_systolic", subject=SUBJECT, pulse=None),
        ev.bp_measured(sim, s, 145, 85, "isolated_systolic", subject=SUBJECT),
    )
    delta = delta_of(events, POLICY)
    assert [(r.systolic, r.diastolic, r.heart_rate, r.key_id) for r in delta.high_readings] == [
        (165.0, 102.0, 72.0, "k1"),
        (165.0, 85.0, None, "k1"),
    ]
    assert sum(delta.health.values()) == 5


def test_other_types_add_nothing() -> None:
    """Heartbeats, tests and presence are not counted."""
    sim = KioskSim()
    events = rows(sim, sim.heartbeat(), sim.test_event())
    assert not delta_of(events, POLICY)


@given(
    levels=st.lists(st.integers(1, 5), max_size=30),
    minutes=st.integers(0, 60 * 24 * 400),
)
def test_counts_add_up(levels: list[int], minutes: int) -> None:
    """Each rating counts once; follow-ups are exactly the 差评, in order."""
    sim = ev.at(KioskSim(), datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes))
    s = ev.new_session()
    delta = delta_of(rows(sim, *(ev.rating(sim, s, n) for n in levels)), POLICY)
    assert sum(delta.ratings.values()) == len(levels)
    assert [f.level for f in delta.followups] == [n for n in levels if n <= 2]
    assert all(f.due_day > f.rated_day for f in delta.followups)
