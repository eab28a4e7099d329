"""Sans-I/O seq gap tracking for one (kiosk, boot, stream='main').

State: the highest seq seen and the missing ranges below it. New seqs above the maximum open
gaps for what they skipped; seqs inside a gap (late arrivals, docs/design.md decision 4: arrival
order is not guaranteed) split or close it. Invariant: the gaps are exactly {1..max} minus seen.
Heartbeat-stream seqs are never given here: a heartbeat gap is a shed heartbeat, not loss.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, order=True)
class Gap:
    """Missing seqs first..last (inclusive), missing since `opened_at`."""

    first: int
    last: int
    opened_at: datetime

    @property
    def size(self) -> int:
        """How many seqs are missing."""
        return self.last - self.first + 1


@dataclass(frozen=True)
class StreamState:
    """The highest seq seen (0: none yet) and the open gaps, sorted."""

    max_seq: int
    gaps: tuple[Gap, ...]


def apply_seqs(state: StreamState, seqs: Iterable[int], now: datetime) -> StreamState:
    """The state after seeing `seqs` (any order, duplicates allowed) at time `now`."""
    seen = sorted(set(seqs))
    if not seen:
        return state
    gaps: list[Gap] = []
    for gap in state.gaps:
        gaps.extend(_fill(gap, seen))
    expected = state.max_seq + 1
    for seq in seen:
        if seq < expected:
            continue
        if seq > expected:
            gaps.append(Gap(expected, seq - 1, now))
        expected = seq + 1
    return StreamState(max(state.max_seq, seen[-1]), tuple(sorted(gaps)))


def _fill(gap: Gap, seen: list[int]) -> list[Gap]:
    pieces: list[Gap] = []
    start = gap.first
    for seq in _within(seen, gap.first, gap.last):
        if seq > start:
            pieces.append(Gap(start, seq - 1, gap.opened_at))
        start = seq + 1
    if start <= gap.last:
        pieces.append(Gap(start, gap.last, gap.opened_at))
    return pieces


def _within(seen: list[int], low: int, high: int) -> list[int]:
    return seen[bisect_left(seen, low) : bisect_right(seen, high)]
