"""The sans-I/O allocation rule (city/activities/allocation.py): first come first served by the
residents' own time, capacity never exceeded, one place per pseudonym, cancellations free a
place, and the outcome does not depend on the order events arrive in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from city.activities.allocation import (
    REASONS,
    ActivityFacts,
    CancelEvent,
    Existing,
    SignupEvent,
    allocate,
    reason_text,
)

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
KIOSK = "440300/c1/k1"


def facts(capacity: int = 2, **overrides: object) -> ActivityFacts:
    values: dict[str, object] = {
        "id": "tai-chi",
        "city": "440300",
        "centre": "c1",
        "state": "published",
        "starts_at": NOW + timedelta(days=2),
        "ends_at": NOW + timedelta(days=2, hours=1),
        "capacity": capacity,
        "confirmed": 0,
    }
    values.update(overrides)
    return ActivityFacts(**values)  # type: ignore[arg-type]  # test helper


def signup(n: int, minutes: float, *, activity: str = "tai-chi", kiosk: str = KIOSK,
           resident: int | None = None) -> SignupEvent:  # fmt: skip
    at = NOW - timedelta(minutes=minutes)
    return SignupEvent(
        f"0193{n:04x}-0000-7000-8000-{n:012x}",
        str(uuid.UUID(int=n + (1 << 100))),
        activity,
        "k1",
        f"{resident if resident is not None else n:064x}",
        kiosk,
        at,
    )


def cancel_of(event: SignupEvent, minutes: float) -> CancelEvent:
    return CancelEvent(
        event.event_id[:-4] + "ffff",
        event.signup_id,
        event.activity_id,
        event.key_id,
        event.subject,
        event.kiosk,
        NOW - timedelta(minutes=minutes),
    )


def states(result_new: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {n.event.signup_id: n.state for n in result_new}


def test_the_earliest_residents_get_the_places_whatever_the_arrival_order() -> None:
    """Three sign-ups for two places: the two who signed up first are confirmed."""
    late, early, middle = signup(1, 5), signup(2, 30), signup(3, 20)
    result = allocate({"tai-chi": facts()}, {}, {}, [late, early, middle], NOW)
    got = states(result.new)
    assert got[early.signup_id] == got[middle.signup_id] == "confirmed"
    assert got[late.signup_id] == "refused"
    refused = next(n for n in result.new if n.state == "refused")
    assert refused.reason == "full"
    assert result.confirmed == {"tai-chi": 2}


def test_the_same_time_is_broken_by_the_event_id() -> None:
    """Two residents in the same millisecond: the smaller (earlier-minted) event id wins."""
    first, second = signup(1, 10), signup(2, 10)
    result = allocate({"tai-chi": facts(capacity=1)}, {}, {}, [second, first], NOW)
    assert states(result.new)[first.signup_id] == "confirmed"


def test_refusals_name_the_reason() -> None:
    """Unknown, draft, another centre, cancelled, started: each refused in plain words."""
    cases = {
        "unknown": ({}, signup(1, 5, activity="nope")),
        "not_here": ({"tai-chi": facts()}, signup(2, 5, kiosk="440300/c2/k1")),
        "cancelled": ({"tai-chi": facts(state="cancelled")}, signup(3, 5)),
        "over": ({"tai-chi": facts(starts_at=NOW - timedelta(minutes=1))}, signup(4, 5)),
    }
    for code, (activities, event) in cases.items():
        result = allocate(activities, {}, {}, [event], NOW)
        assert [(n.state, n.reason) for n in result.new] == [("refused", code)]
    draft = allocate({"tai-chi": facts(state="draft")}, {}, {}, [signup(5, 5)], NOW)
    assert draft.new[0].reason == "unknown"
    for code in REASONS:
        words = reason_text(code)
        assert 0 < len(words) <= 200
        assert words.isprintable()


def test_a_pseudonym_gets_one_place() -> None:
    """The same resident twice (two kiosks): the second sign-up is refused as a duplicate."""
    one, again = signup(1, 10, resident=7), signup(2, 5, resident=7, kiosk="440300/c1/k2")
    result = allocate({"tai-chi": facts()}, {}, {}, [again, one], NOW)
    decided = [(n.state, n.reason) for n in result.new]
    assert decided == [("confirmed", ""), ("refused", "duplicate")]
    held = {("tai-chi", "k1", f"{7:064x}"): "stored-signup"}
    later = allocate({"tai-chi": facts()}, {}, held, [signup(3, 1, resident=7)], NOW)
    assert later.new[0].reason == "duplicate"


def test_a_copy_of_a_stored_signup_changes_nothing() -> None:
    """A sign-up already stored (redelivered under another event id) is ignored."""
    event = signup(1, 10)
    stored = Existing(event.signup_id, "tai-chi", "k1", event.subject, "confirmed")
    result = allocate({"tai-chi": facts(confirmed=1)}, {event.signup_id: stored}, {}, [event], NOW)
    assert (result.new, result.ignored, result.confirmed) == ([], 1, {"tai-chi": 1})


def test_a_cancellation_frees_the_place_for_a_later_signup() -> None:
    """Full, one cancels, the next sign-up gets the place; a cancel first leaves a tombstone."""
    a, b, c = signup(1, 30), signup(2, 20), signup(3, 5)
    result = allocate({"tai-chi": facts(capacity=2)}, {}, {}, [a, b, cancel_of(a, 10), c], NOW)
    assert states(result.new)[c.signup_id] == "confirmed"
    assert result.cancelled[0].freed
    assert result.confirmed == {"tai-chi": 2}
    early_cancel = allocate({"tai-chi": facts()}, {}, {}, [cancel_of(b, 1)], NOW)
    assert len(early_cancel.tombstones) == 1
    stored = Existing(b.signup_id, "tai-chi", "k1", b.subject, "cancelled")
    after = allocate({"tai-chi": facts()}, {b.signup_id: stored}, {}, [b], NOW)
    assert after.new == []
    assert after.ignored == 1


def test_staff_approval_leaves_signups_requested() -> None:
    """With approval by staff the sign-up waits (no answer yet) and takes no place."""
    result = allocate({"tai-chi": facts(approval="staff")}, {}, {}, [signup(1, 5)], NOW)
    assert [(n.state, n.tell) for n in result.new] == [("requested", False)]
    assert result.confirmed == {"tai-chi": 0}


EVENTS = st.lists(
    st.tuples(
        st.integers(0, 40),  # minutes ago
        st.integers(0, 6),  # resident
        st.sampled_from(["tai-chi", "other", "nope"]),
        st.booleans(),  # also cancelled later
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(EVENTS, st.integers(1, 5), st.randoms(use_true_random=False))
def test_capacity_and_one_place_hold_for_any_batch_in_any_order(
    spec: list[tuple[int, int, str, bool]], capacity: int, rng: object
) -> None:
    """For any batch: confirmed ≤ capacity per activity; no pseudonym holds two places; the
    decisions are the same whatever order the events arrive in."""
    activities = {
        "tai-chi": facts(capacity=capacity),
        "other": facts(capacity=capacity, id="other"),
    }
    events: list[SignupEvent | CancelEvent] = []
    for n, (minutes, resident, activity, cancelled) in enumerate(spec):
        event = signup(n, minutes + 1, activity=activity, resident=resident)
        events.append(event)
        if cancelled:
            events.append(cancel_of(event, minutes))
    result = allocate(activities, {}, {}, events, NOW)
    shuffled = list(events)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]  # hypothesis Random
    again = allocate(activities, {}, {}, shuffled, NOW)
    assert [(n.event, n.state, n.reason) for n in again.new] == [
        (n.event, n.state, n.reason) for n in result.new
    ]
    gone = {c.event.signup_id for c in result.cancelled}
    for activity_id, fact in activities.items():
        live = [
            n for n in result.new
            if n.event.activity_id == activity_id and n.state == "confirmed"
            and n.event.signup_id not in gone
        ]  # fmt: skip
        assert len(live) == result.confirmed[activity_id] <= fact.capacity
        assert len({n.event.subject for n in live}) == len(live)
