"""The presence band tiles its window with online / offline / unknown stretches."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from city.console.presence_band import presence_segments

SINCE = datetime(2026, 12, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=7)


def test_a_typical_week() -> None:
    """Online before the window, offline for a day, online again."""
    segments = presence_segments(
        [
            (SINCE - timedelta(days=2), "agent.online"),
            (SINCE + timedelta(days=3), "agent.offline"),
            (SINCE + timedelta(days=4), "agent.online"),
            (SINCE + timedelta(days=4, hours=1), "agent.online"),  # a reconnect: same state
        ],
        SINCE,
        UNTIL,
    )
    assert [(s.state, s.left, s.width) for s in segments] == [
        ("online", 0.0, round(300 / 7, 3)),
        ("offline", round(300 / 7, 3), round(100 / 7, 3)),
        ("online", round(400 / 7, 3), round(300 / 7, 3)),
    ]


def test_nothing_known() -> None:
    """No transition at all: one unknown stretch; an empty window: nothing."""
    (only,) = presence_segments([], SINCE, UNTIL)
    assert (only.state, only.left, only.width) == ("unknown", 0.0, 100.0)
    assert presence_segments([], UNTIL, SINCE) == []


MOMENTS = st.datetimes(
    min_value=datetime(2026, 11, 20), max_value=datetime(2026, 12, 12), timezones=st.just(UTC)
)
KINDS = st.sampled_from(["agent.online", "agent.offline", "heartbeat"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(MOMENTS, KINDS), max_size=30))
def test_segments_tile_the_window(transitions: list[tuple[datetime, str]]) -> None:
    """In order, touching, covering exactly [since, until], neighbours differ."""
    segments = presence_segments(transitions, SINCE, UNTIL)
    assert segments[0].start == SINCE
    assert segments[-1].end == UNTIL
    for before, after in itertools.pairwise(segments):
        assert before.end == after.start
        assert before.state != after.state
    assert abs(sum(s.width for s in segments) - 100) < 0.01
    assert all(s.state in ("online", "offline", "unknown") for s in segments)
