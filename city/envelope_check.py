"""A quick check of the event envelope, built from envelope.schema.json at load time.

Every event type's schema is `allOf: [{$ref: envelope}]` plus its own rules, and the envelope
was half of the validation time (5.3 µs per `test` event here, docs/city-scale.md "Figures").
`envelope_precheck` turns the envelope's properties into plain Python tests, so a valid event
is checked as precheck + its type's own rules compiled without the `allOf`.

The precheck only ever says "surely valid" or "not sure": it accepts a subset of what the
schema accepts (exact types, no coercions), and anything it does not accept goes to the full
compiled schema, which gives the verdict and the reason. So the verdicts are the schema's own
by construction; tests/city/test_envelope_check.py cross-checks them. A keyword it does not
know in the envelope turns the precheck off (None) rather than skipping a rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Precheck = Callable[[Any], bool]
_IGNORED = frozenset({"description", "title", "$comment", "examples"})
_ENVELOPE_REF = [{"$ref": "envelope.schema.json"}]


def _property_test(schema: Mapping[str, Any], namespace: dict[str, Any]) -> str | None:  # noqa: PLR0911 - one shape per return
    """A Python expression true only for values `schema` accepts: `{first}` is where the value
    is read, `{v}` every later use (names it needs go into `namespace`); None for a shape
    not handled here."""
    keys = set(schema) - _IGNORED
    name = f"_n{len(namespace)}"
    if keys == {"type", "pattern"} and schema["type"] == "string":
        search = _pattern_search(schema["pattern"])
        if search is None:
            return None
        namespace[name] = search
        return f"type({{first}}) is str and {name}({{v}}) is not None"
    if keys == {"type"} and schema["type"] == "string":
        return "type({first}) is str"
    if keys == {"type", "minimum"} and schema["type"] == "integer":
        if type(schema["minimum"]) is not int:
            return None
        namespace[name] = schema["minimum"]
        return f"type({{first}}) is int and {{v}} >= {name}"
    if keys == {"type"} and schema["type"] == "object":
        return "type({first}) is dict"
    if keys == {"enum"} and all(type(v) is str for v in schema["enum"]):
        namespace[name] = frozenset(schema["enum"])
        return f"type({{first}}) is str and {{v}} in {name}"
    return None


def _pattern_search(pattern: Any) -> Callable[[str], Any] | None:
    """re.search for a JSON Schema pattern: unanchored, and `$` is the very end (ECMA-262, as
    fastjsonschema has it; Python's `$` would also match before a final newline). Only a `$`
    at the end is handled; any other `$` turns the precheck off."""
    if not isinstance(pattern, str) or "$" in pattern[:-1] or pattern.endswith("\\$"):
        return None
    if pattern.endswith("$"):
        pattern = pattern[:-1] + r"\Z"
    try:
        return re.compile(pattern).search
    except re.error:
        return None


def envelope_precheck(envelope: Mapping[str, Any]) -> Precheck | None:
    """The quick test for `envelope` (an object whose properties are all required, nothing
    else allowed), or None when its shape is not one this module can test exactly."""
    if set(envelope) - _IGNORED - {"$schema", "$id"} != {
        "type",
        "additionalProperties",
        "required",
        "properties",
    }:
        return None
    properties = envelope["properties"]
    if (
        envelope["type"] != "object"
        or envelope["additionalProperties"] is not False
        or not isinstance(properties, dict)
        or set(envelope["required"]) != set(properties)
    ):
        return None
    # One flat expression, compiled once: a loop over per-property closures cost as much as
    # the schema validator it is meant to spare.
    namespace: dict[str, Any] = {"_names": frozenset(properties)}
    terms = ["type(event) is dict", "event.keys() == _names"]
    for index, (name, schema) in enumerate(properties.items()):
        test = _property_test(schema, namespace) if isinstance(schema, dict) else None
        if test is None:
            return None
        terms.append(test.format(first=f"(_v{index} := event[{name!r}])", v=f"_v{index}"))
    source = "def precheck(event):\n    return bool(" + " and ".join(terms) + ")\n"
    exec(compile(source, "<envelope precheck>", "exec"), namespace)  # noqa: S102 - built above from checked parts
    precheck: Precheck = namespace["precheck"]
    return precheck


def without_envelope(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """`schema` minus its `allOf: [{$ref: envelope}]` (its own rules only), or None if it does
    not refer to the envelope exactly that way."""
    if schema.get("allOf") != _ENVELOPE_REF:
        return None
    return {key: value for key, value in schema.items() if key != "allOf"}
