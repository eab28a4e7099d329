"""The quick envelope check never changes a verdict: same answer and reason as the full schema."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from city.config import DEFAULT_CONTRACT_DIR
from city.contract import load_contract
from city.envelope_check import envelope_precheck, without_envelope
from testbed.city_events import KioskSim

QUICK = load_contract(DEFAULT_CONTRACT_DIR)
FULL = load_contract(DEFAULT_CONTRACT_DIR, quick_envelope=False)
ENVELOPE_KEYS = [
    "id", "type", "schema", "city", "centre", "kiosk", "ts", "boot_id", "stream", "seq", "data",
]  # fmt: skip


def _valid_events() -> list[dict[str, Any]]:
    sim = KioskSim()
    return [
        sim.test_event(),
        sim.heartbeat(),
        sim.presence("online"),
        sim.presence("offline"),
        sim.event("device.fault", {"device": "bp", "kind": "timeout", "message": "no answer"}),
        sim.event("agent.alert", {"kind": "disk_low", "message": "low"}),
    ]


VALID = _valid_events()
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _near(event: dict[str, Any], key: str) -> st.SearchStrategy[Any]:
    """Values close to the valid one: a character added, changed or cut, a newline at the end."""
    value = event[key]
    if isinstance(value, str):
        return st.sampled_from(
            [value + "\n", value[:-1], value + "0", value.upper(), " " + value, value[:-1] + "g"]
        )
    if isinstance(value, int):
        return st.sampled_from([0, -1, value + 1, float(value), True, str(value), 2**70])
    return JSON_VALUES


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with one envelope field changed, removed, or a field added."""
    event: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(VALID)))
    key = draw(st.sampled_from(ENVELOPE_KEYS))
    how = draw(st.sampled_from(["near", "any", "drop", "add"]))
    if how == "near":
        event[key] = draw(_near(event, key))
    elif how == "any":
        event[key] = draw(JSON_VALUES)
    elif how == "drop":
        del event[key]
    else:
        event[draw(st.text(min_size=1, max_size=8))] = draw(JSON_VALUES)
    return event


def test_valid_events_pass_both_ways() -> None:
    """Every sample is valid, quickly and fully."""
    for event in VALID:
        assert QUICK.check_event(event) is None
        assert FULL.check_event(event) is None


@settings(max_examples=400, deadline=None)
@given(mutated())
def test_quick_check_gives_the_full_schemas_verdict_and_reason(event: dict[str, Any]) -> None:
    """Whatever the envelope holds, the two contracts answer alike (None or the same reason)."""
    assert QUICK.check_event(event) == FULL.check_event(event)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(VALID), JSON_VALUES)
def test_type_rules_still_apply_after_a_quick_envelope(event: dict[str, Any], data: Any) -> None:
    """A good envelope with any `data`: the type's own rules decide, with the same reason."""
    changed = {**event, "data": data}
    assert QUICK.check_event(changed) == FULL.check_event(changed)


def test_unknown_envelope_shapes_turn_the_quick_check_off() -> None:
    """A keyword it cannot test exactly (or a `$` inside a pattern) means no quick check."""
    base = {
        "type": "object",
        "additionalProperties": False,
        "required": ["a"],
        "properties": {"a": {"type": "string", "pattern": "^x$"}},
    }
    assert envelope_precheck(base) is not None
    assert (
        envelope_precheck({**base, "properties": {"a": {"type": "string", "maxLength": 3}}}) is None
    )
    assert (
        envelope_precheck({**base, "properties": {"a": {"type": "string", "pattern": "^[$]x"}}})
        is None
    )
    assert envelope_precheck({**base, "additionalProperties": True}) is None
    assert envelope_precheck({**base, "required": []}) is None
    assert without_envelope({"allOf": [{"$ref": "other.schema.json"}]}) is None


def test_pattern_dollar_is_the_very_end() -> None:
    """`^x$` rejects "x\\n", as the schema does (Python's own `$` would accept it)."""
    check = envelope_precheck(
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["a"],
            "properties": {"a": {"type": "string", "pattern": "^x$"}},
        }
    )
    assert check is not None
    assert check({"a": "x"})
    assert not check({"a": "x\n"})
    assert not check({"a": "x", "b": 1})
    assert not check([])
