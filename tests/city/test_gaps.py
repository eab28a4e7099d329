"""Seq gap tracking: late arrivals close gaps; the invariant holds for any arrival order."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from city.gaps import Gap, StreamState, apply_seqs
from testbed.city_events import T0

EMPTY = StreamState(0, ())


def test_skip_opens_a_gap_and_late_arrival_closes_it() -> None:
    """1, 2, 5 leaves 3..4 open; 4 then 3 close it."""
    state = apply_seqs(EMPTY, [1, 2, 5], T0)
    assert state == StreamState(5, (Gap(3, 4, T0),))
    later = T0 + timedelta(seconds=5)
    state = apply_seqs(state, [4], later)
    assert state == StreamState(5, (Gap(3, 3, T0),))
    assert apply_seqs(state, [3], later) == StreamState(5, ())


def test_first_seq_above_one_is_a_gap() -> None:
    """Seqs start at 1 per boot: arriving at 4 first means 1..3 are missing (maybe late)."""
    assert apply_seqs(EMPTY, [4], T0).gaps == (Gap(1, 3, T0),)


def test_middle_arrival_splits_a_gap_keeping_its_age() -> None:
    """A seq in the middle splits the gap; both halves keep when it opened."""
    state = apply_seqs(EMPTY, [10], T0)
    state = apply_seqs(state, [5], T0 + timedelta(hours=1))
    assert state.gaps == (Gap(1, 4, T0), Gap(6, 9, T0))


def test_duplicates_change_nothing() -> None:
    """Seeing a seq again is not news."""
    state = apply_seqs(EMPTY, [1, 2, 3], T0)
    assert apply_seqs(state, [2, 3, 3], T0) == state


@given(st.lists(st.lists(st.integers(1, 60), max_size=12), max_size=8))
def test_gaps_are_exactly_what_is_missing(deliveries: list[list[int]]) -> None:
    """For any deliveries, the gaps are {1..max} minus every seq seen, disjoint and sorted."""
    state = EMPTY
    seen: set[int] = set()
    for index, delivery in enumerate(deliveries):
        state = apply_seqs(state, delivery, T0 + timedelta(seconds=index))
        seen.update(delivery)
    assert state.max_seq == max(seen, default=0)
    missing = {s for gap in state.gaps for s in range(gap.first, gap.last + 1)}
    assert missing == set(range(1, state.max_seq + 1)) - seen
    assert sum(g.size for g in state.gaps) == len(missing)
    assert list(state.gaps) == sorted(state.gaps)
