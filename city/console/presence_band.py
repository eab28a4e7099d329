"""The kiosk page's presence band: online / offline stretches over a window, as percentages.

Pure (tested with hypothesis in tests/city/console/test_presence_band.py): the segments tile the
window exactly, in order, whatever the transitions (unordered, duplicated, outside the window).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

ONLINE_TYPES = {"agent.online": "online", "agent.offline": "offline"}


@dataclass(frozen=True)
class Segment:
    """One stretch of one state: `left` and `width` in percent of the window."""

    state: str  # online | offline | unknown (before the first transition in the window)
    start: datetime
    end: datetime
    left: float
    width: float


def presence_segments(
    transitions: Iterable[tuple[datetime, str]], since: datetime, until: datetime
) -> list[Segment]:
    """Segments covering [since, until] from (ts, event type) pairs; the state before the
    first transition inside the window is the one before it outside, else unknown."""
    if until <= since:
        return []
    state = "unknown"
    inside: list[tuple[datetime, str]] = []
    for ts, kind in sorted(transitions):
        new = ONLINE_TYPES.get(kind)
        if new is None or ts > until:
            continue
        if ts <= since:
            state = new
        else:
            inside.append((ts, new))
    # (start, state) of each stretch: a change at the same instant as the next one lasts no
    # time and is dropped, and neighbours of one state merge.
    starts: list[tuple[datetime, str]] = [(since, state)]
    for ts, new in inside:
        if ts == starts[-1][0]:
            starts[-1] = (ts, new)
        else:
            starts.append((ts, new))
        if len(starts) > 1 and starts[-1][1] == starts[-2][1]:
            starts.pop()
    span = (until - since).total_seconds()
    ends = [start for start, _ in starts[1:]] + [until]
    return [
        _segment(state, start, end, since, span)
        for (start, state), end in zip(starts, ends, strict=True)
    ]


def _segment(state: str, start: datetime, end: datetime, since: datetime, span: float) -> Segment:
    left = (start - since).total_seconds() / span * 100
    width = (end - start).total_seconds() / span * 100
    return Segment(state, start, end, round(left, 3), round(width, 3))
