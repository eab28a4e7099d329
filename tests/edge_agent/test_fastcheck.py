"""The compiled contract checks agree with jsonschema: never looser, and fast for valid events."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from edge_agent.contract import EVENT_TYPES, ContractError, validate_event
from edge_agent.fastcheck import check_event, compile_schema, event_is_valid
from tests.foundation.test_contract import SAMPLE_DATA, make

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=300),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from([0.0, 1.0, 2.5, -1.0]),
    st.text(max_size=70),
    st.text(alphabet="ab", max_size=5),
    st.text(alphabet="a", min_size=60, max_size=300),
    st.sampled_from(["test", "heartbeat", "ok", "resident", "camera", "8480-6", "ab" * 32]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _mutate(event: dict[str, Any], path: tuple[Any, ...], how: str, value: Any) -> Any:
    """A copy of `event` with the node at `path` replaced, deleted, or given an extra key."""
    mutated = copy.deepcopy(event)
    if not path:
        return value if how == "replace" else mutated
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete" and isinstance(parent, dict):
        del parent[last]
    elif how == "delete" and isinstance(parent, list):
        parent.pop(last)
    elif isinstance(parent[last], dict):
        parent[last]["extra_key"] = value
    elif isinstance(parent[last], list):
        parent[last].append(value)
    return mutated


def _jsonschema_accepts(event: Any) -> bool:
    try:
        validate_event(event)
    except (ContractError, KeyError, TypeError):
        return False
    return True


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_valid_samples_take_the_fast_path(event_type: str) -> None:
    """Every documented sample event is certainly valid without asking jsonschema."""
    assert event_is_valid(make(event_type))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(SAMPLE_DATA)),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(["replace", "delete", "extend"]),
    JSON_VALUES,
)
def test_fast_check_never_accepts_what_jsonschema_refuses(
    event_type: str, pick: int, how: str, value: Any
) -> None:
    """Any one-place change to a valid event: fast 'valid' implies jsonschema 'valid'."""
    event = make(event_type)
    paths = _paths(event)
    mutated = _mutate(event, paths[pick % len(paths)], how, value)
    accepted = _jsonschema_accepts(mutated)
    if event_is_valid(mutated):
        assert accepted
    if accepted:
        check_event(mutated)
    else:
        with pytest.raises(ContractError):
            check_event(mutated)


SCHEMAS: list[Any] = [
    {"type": "integer", "minimum": 1},
    {"type": ["number", "null"], "exclusiveMaximum": 5},
    {"const": 1},
    {"enum": ["a", 2, None, True]},
    {"type": "string", "pattern": "^[a-z]{2,3}$", "maxLength": 2},
    {"minLength": 2, "maxLength": 3},
    {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
    {"contains": {"const": "x"}},
    {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 2}]},
    {"anyOf": [{"type": "string"}, {"type": "boolean"}]},
    {"not": {"type": "string"}},
    {
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "integer"}},
        "additionalProperties": {"type": "string"},
    },
    {"type": "object", "properties": {"a": True, "b": False}, "additionalProperties": False},
]
UNSURE_SCHEMAS: list[Any] = [
    {"type": "string", "format": "date-time"},
    {"patternProperties": {"^x": {"type": "string"}}},
    {"const": {"a": 1}},
    {"$ref": "#/$defs/thing", "$defs": {"thing": {"type": "string"}}},
    {"oneOf": [{"format": "email"}, {"type": "string"}]},
    {"not": {"unevaluatedProperties": False}},
]


@pytest.mark.parametrize("schema", SCHEMAS)
@settings(max_examples=150, deadline=None)
@given(instance=JSON_VALUES)
def test_supported_keywords_compile_exactly(schema: Any, instance: Any) -> None:
    """For the keywords it knows, the compiled check gives jsonschema's verdict both ways."""
    check, exact = compile_schema(schema)
    assert exact
    assert check(instance) == Draft202012Validator(schema).is_valid(instance)


@pytest.mark.parametrize("schema", UNSURE_SCHEMAS)
def test_unknown_keywords_and_references_are_never_sure(schema: Any) -> None:
    """Keywords, refs or values the compiler does not handle make it answer 'not sure'."""
    check, exact = compile_schema(schema)
    assert not exact
    for instance in ("x", "xx@y.z", 1, {"x": "y"}, {"a": 1}, None):
        assert check(instance) is False


def test_integral_floats_and_booleans_follow_jsonschema() -> None:
    """3.0 is an integer and equals const 3; True is neither an integer nor equal to 1."""
    integer, _ = compile_schema({"type": "integer"})
    one, _ = compile_schema({"const": 1})
    assert integer(3.0)
    assert not integer(True)
    assert not integer(3.5)
    assert one(1.0)
    assert not one(True)
