"""The docs/contract JSON Schemas compiled once into Python functions, for the hot path.

`edge_agent.contract` (jsonschema) stays the source of truth. A compiled check answers only
"certainly valid" (True) or "not sure" (False); on "not sure" `check_event` runs
`contract.validate_event`, which raises the precise ContractError - or passes, when the fast
check was merely conservative. A keyword this compiler does not know, a `$ref` it cannot
resolve or a non-scalar `const`/`enum` compiles to "not sure", so a schema change can never make
the fast path accept what jsonschema refuses (tests/edge_agent/test_fastcheck.py pins this).

Why generated code: jsonschema takes ~140 us per event here and nested closures ~16 us; straight
-line generated code takes ~3 us, and validation was what capped a writer at ~6.5k events/s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from edge_agent.contract import EVENT_TYPES, SCHEMA_DIR, validate_event

Check = Callable[[Any], bool]
ENVELOPE_ID = "envelope.schema.json"

# Keywords that never constrain an instance. `format` is deliberately not among them: whether
# it asserts depends on how jsonschema is set up, so it is left to jsonschema.
_ANNOTATIONS = frozenset(
    [
        "$schema",
        "$id",
        "$comment",
        "$defs",  # only a container: what it holds constrains through a `$ref`
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
    ]
)
_SUPPORTED = _ANNOTATIONS | frozenset(
    [
        "type",
        "const",
        "enum",
        "properties",
        "required",
        "additionalProperties",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "items",
        "minItems",
        "maxItems",
        "contains",
        "minContains",
        "maxContains",
        "if",
        "then",
        "else",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "$ref",
    ]
)
_SCALARS = (str, int, float, bool, type(None))
# The same type tests as jsonschema's draft 2020-12 type checker (3.0 is an integer, True is not).
_TYPE_TESTS = {
    "string": "isinstance({x}, str)",
    "integer": (
        "(type({x}) is int or isinstance({x}, int) and not isinstance({x}, bool)"
        " or isinstance({x}, float) and {x}.is_integer())"
    ),
    "number": (
        "(type({x}) is int or type({x}) is float"
        " or isinstance({x}, (int, float)) and not isinstance({x}, bool))"
    ),
    "object": "isinstance({x}, dict)",
    "array": "isinstance({x}, list)",
    "boolean": "isinstance({x}, bool)",
    "null": "{x} is None",
}
_GUARDS = {"object": "dict", "array": "list", "string": "str"}
_DEFS = "#/$defs/"
_NUMBER_OPS = {
    "minimum": "<",
    "maximum": ">",
    "exclusiveMinimum": "<=",
    "exclusiveMaximum": ">=",
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _same(value: Any, expected: Any) -> bool:
    """jsonschema's equality for a scalar `expected`: 1 == 1.0, but True is neither."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(value) is type(expected) and value == expected
    if _is_number(expected):
        return _is_number(value) and value == expected
    return type(value) is type(expected) and value == expected


class _Unsure(Exception):
    """Internal: this schema node cannot be compiled exactly enough; it becomes 'not sure'."""


class _Generator:
    """Emits one Python function per schema document or sub-schema that needs its own."""

    def __init__(self, documents: Mapping[str, Any]) -> None:
        self.documents = documents
        self.namespace: dict[str, Any] = {"_same": _same}
        self.sources: list[str] = []
        self._doc_functions: dict[str, tuple[str, bool]] = {}
        self._in_progress: set[str] = set()
        self._current: list[str] = []  # the documents being compiled, innermost last
        self._counter = 0

    def load(self) -> dict[str, Any]:
        """Run the generated source; its functions are then in the returned namespace."""
        code = compile("\n\n".join(self.sources), "<edge_agent.fastcheck>", "exec")
        exec(code, self.namespace)  # noqa: S102 - our own code, generated from our own schemas
        return self.namespace

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def constant(self, value: Any) -> str:
        """A namespace name bound to `value`."""
        name = self._name("_k")
        self.namespace[name] = value
        return name

    def document(self, schema_id: str, fragment: str = "") -> tuple[str, bool]:
        """(function name, exact) for a document or one of its `$defs` (`fragment` "#/$defs/x").

        Cycles are allowed but not exact.
        """
        key = schema_id + fragment
        if key in self._doc_functions:
            name, exact = self._doc_functions[key]
            return name, exact and key not in self._in_progress
        schema = self.documents[schema_id]
        if fragment:
            schema = schema.get("$defs", {}).get(fragment.removeprefix(_DEFS))
            if schema is None:
                raise _Unsure
        name = self._name("_doc")
        self._doc_functions[key] = (name, False)
        self._in_progress.add(key)
        self._current.append(schema_id)
        try:
            exact = self._function(name, schema)
        finally:
            self._current.pop()
            self._in_progress.discard(key)
        self._doc_functions[key] = (name, exact)
        return name, exact

    def function(self, schema: Any) -> tuple[str, bool]:
        """(function name, exact) for a sub-schema used as a whole (anyOf branch, contains)."""
        name = self._name("_sub")
        return name, self._function(name, schema)

    def _function(self, name: str, schema: Any) -> bool:
        lines = [f"def {name}(v0):"]
        exact = self.emit(schema, "v0", lines, 1)
        lines.append("    return True")
        self.sources.append("\n".join(lines))
        return exact

    def emit(self, schema: Any, x: str, lines: list[str], depth: int) -> bool:
        """Append statements that `return False` unless `x` certainly matches; True if exact."""
        pad = "    " * depth
        mark = len(lines)
        try:
            return self._emit(schema, x, lines, depth)
        except _Unsure:
            del lines[mark:]
            lines.append(f"{pad}return False")
            return False

    def _emit(self, schema: Any, x: str, lines: list[str], depth: int) -> bool:
        pad = "    " * depth
        if schema is True:
            return True
        if schema is False:
            lines.append(f"{pad}return False")
            return True
        if not isinstance(schema, dict) or not set(schema) <= _SUPPORTED:
            raise _Unsure
        known = self._type(schema, x, lines, pad)
        self._values(schema, x, lines, pad)
        exact = self._object(schema, x, lines, depth, known)
        self._string(schema, x, lines, pad, known)
        self._number(schema, x, lines, pad, known)
        exact = self._array(schema, x, lines, depth, known) and exact
        exact = self._combinators(schema, x, lines, depth) and exact
        if "$ref" in schema:
            target = schema["$ref"]
            if not isinstance(target, str):
                raise _Unsure
            if target.startswith(_DEFS) and self._current and "/" not in target[len(_DEFS) :]:
                name, ref_exact = self.document(self._current[-1], target)
            elif target in self.documents:
                name, ref_exact = self.document(target)
            else:
                raise _Unsure  # other fragments and remote refs: left to jsonschema
            lines.append(f"{pad}if not {name}({x}): return False")
            exact = exact and ref_exact
        return exact

    def _type(self, schema: dict[str, Any], x: str, lines: list[str], pad: str) -> str | None:
        if "type" not in schema:
            return None
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not names or not all(isinstance(n, str) and n in _TYPE_TESTS for n in names):
            raise _Unsure
        test = " or ".join(_TYPE_TESTS[n].format(x=x) for n in names)
        lines.append(f"{pad}if not ({test}): return False")
        return names[0] if len(names) == 1 else None

    def _values(self, schema: dict[str, Any], x: str, lines: list[str], pad: str) -> None:
        if "const" in schema:
            expected = schema["const"]
            if not isinstance(expected, _SCALARS):
                raise _Unsure
            k = self.constant(expected)
            if isinstance(expected, str):
                lines.append(f"{pad}if not (isinstance({x}, str) and {x} == {k}): return False")
            elif expected is None or isinstance(expected, bool):
                lines.append(f"{pad}if {x} is not {k}: return False")
            else:
                number = _TYPE_TESTS["number"].format(x=x)
                lines.append(f"{pad}if not ({number} and {x} == {k}): return False")
        if "enum" in schema:
            options = schema["enum"]
            if not isinstance(options, list) or not all(isinstance(o, _SCALARS) for o in options):
                raise _Unsure
            if all(isinstance(o, str) for o in options):
                k = self.constant(frozenset(options))
                lines.append(f"{pad}if not (isinstance({x}, str) and {x} in {k}): return False")
            else:
                k = self.constant(tuple(options))
                lines.append(f"{pad}if not any(_same({x}, o) for o in {k}): return False")

    def _guard(self, kind: str, x: str, known: str | None, lines: list[str], depth: int) -> int:
        """Open `if isinstance(x, kind):` unless the type is already asserted; new depth."""
        if known == kind:
            return depth
        lines.append(f"{'    ' * depth}if isinstance({x}, {_GUARDS[kind]}):")
        lines.append(f"{'    ' * (depth + 1)}pass")
        return depth + 1

    def _object(
        self, schema: dict[str, Any], x: str, lines: list[str], depth: int, known: str | None
    ) -> bool:
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        extra = schema.get("additionalProperties", True)
        if not isinstance(properties, dict) or not isinstance(required, list):
            raise _Unsure
        if not all(isinstance(name, str) for name in required):
            raise _Unsure
        if not properties and not required and extra is True:
            return True
        depth = self._guard("object", x, known, lines, depth)
        pad = "    " * depth
        exact = True
        if required:
            k = self.constant(frozenset(required))
            lines.append(f"{pad}if not {k} <= {x}.keys(): return False")
        for name, sub in properties.items():
            y = self._name("v")
            k = self.constant(name)
            lines.append(f"{pad}if {k} in {x}:")
            lines.append(f"{pad}    {y} = {x}[{k}]")
            exact = self.emit(sub, y, lines, depth + 1) and exact
        if extra is False:
            k = self.constant(frozenset(properties))
            lines.append(f"{pad}if not {x}.keys() <= {k}: return False")
        elif extra is not True:
            key, y = self._name("k"), self._name("v")
            k = self.constant(frozenset(properties))
            lines.append(f"{pad}for {key}, {y} in {x}.items():")
            lines.append(f"{pad}    if {key} in {k}: continue")
            exact = self.emit(extra, y, lines, depth + 1) and exact
        return exact

    def _string(
        self, schema: dict[str, Any], x: str, lines: list[str], pad: str, known: str | None
    ) -> None:
        guard = "" if known == "string" else f"isinstance({x}, str) and "
        if "pattern" in schema:
            try:
                search = self.constant(re.compile(schema["pattern"]).search)
            except (re.error, TypeError):
                raise _Unsure from None
            # The last string object that matched here: the identity, boot id and timestamp of a
            # batch are the same objects event after event. Strings are immutable, so the same
            # object gives the same answer (and any value a racing thread leaves there matched).
            last = self.constant([None])
            lines.append(f"{pad}if {guard}{x} is not {last}[0]:")
            lines.append(f"{pad}    if {search}({x}) is None: return False")
            lines.append(f"{pad}    {last}[0] = {x}")
        low, high = _bounds(schema, "minLength", "maxLength")
        if (low, high) != (0, None):
            test = _range_test(f"len({x})", low, high)
            lines.append(f"{pad}if {guard}not ({test}): return False")

    def _number(
        self, schema: dict[str, Any], x: str, lines: list[str], pad: str, known: str | None
    ) -> None:
        for key, failing in _NUMBER_OPS.items():
            if key not in schema:
                continue
            bound = schema[key]
            if not _is_number(bound):
                raise _Unsure
            if known in ("integer", "number"):
                lines.append(f"{pad}if {x} {failing} {bound!r}: return False")
            else:
                guard = _TYPE_TESTS["number"].format(x=x)
                lines.append(f"{pad}if {guard} and {x} {failing} {bound!r}: return False")

    def _array(
        self, schema: dict[str, Any], x: str, lines: list[str], depth: int, known: str | None
    ) -> bool:
        low, high = _bounds(schema, "minItems", "maxItems")
        if (low, high) == (0, None) and "items" not in schema and "contains" not in schema:
            return True
        depth = self._guard("array", x, known, lines, depth)
        pad = "    " * depth
        exact = True
        if (low, high) != (0, None):
            lines.append(f"{pad}if not ({_range_test(f'len({x})', low, high)}): return False")
        if "items" in schema:
            y = self._name("v")
            lines.append(f"{pad}for {y} in {x}:")
            lines.append(f"{pad}    pass")
            exact = self.emit(schema["items"], y, lines, depth + 1) and exact
        if "contains" in schema:
            name, sub_exact = self.function(schema["contains"])
            low, high = schema.get("minContains", 1), schema.get("maxContains")
            if not _is_integer(low) or (high is not None and not _is_integer(high)):
                raise _Unsure
            if high is not None and not sub_exact:
                raise _Unsure  # a conservative match would undercount: "at most" is unsure
            if (low, high) == (1, None):
                lines.append(f"{pad}if not any({name}(i) for i in {x}): return False")
            elif (low, high) != (0, None):
                count = f"sum(1 for i in {x} if {name}(i))"
                test = _range_test(count, int(low), None if high is None else int(high))
                lines.append(f"{pad}if not ({test}): return False")
            exact = exact and sub_exact
        return exact

    def _combinators(self, schema: dict[str, Any], x: str, lines: list[str], depth: int) -> bool:
        pad = "    " * depth
        exact = True
        for key in ("allOf", "anyOf", "oneOf"):
            if key not in schema:
                continue
            parts = schema[key]
            if not isinstance(parts, list) or not parts:
                raise _Unsure
            if key == "allOf":
                for part in parts:
                    exact = self.emit(part, x, lines, depth) and exact
                continue
            branches = [self.function(part) for part in parts]
            calls = [f"{name}({x})" for name, _ in branches]
            branches_exact = all(e for _, e in branches)
            if key == "anyOf":
                lines.append(f"{pad}if not ({' or '.join(calls)}): return False")
                exact = exact and branches_exact
            elif not branches_exact:
                raise _Unsure  # a conservative branch could hide a second match
            else:
                lines.append(f"{pad}if ({' + '.join(calls)}) != 1: return False")
        if "if" in schema:
            condition, condition_exact = self.function(schema["if"])
            if not condition_exact:
                raise _Unsure  # a wrong guess would check the wrong branch
            lines.append(f"{pad}if {condition}({x}):")
            lines.append(f"{pad}    pass")
            exact = self.emit(schema.get("then", True), x, lines, depth + 1) and exact
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    pass")
            exact = self.emit(schema.get("else", True), x, lines, depth + 1) and exact
        if "not" in schema:
            name, negated_exact = self.function(schema["not"])
            if not negated_exact:
                raise _Unsure  # "not sure" would turn into "certainly valid"
            lines.append(f"{pad}if {name}({x}): return False")
        return exact


def _bounds(schema: dict[str, Any], low_key: str, high_key: str) -> tuple[int, int | None]:
    low, high = schema.get(low_key, 0), schema.get(high_key)
    if not _is_integer(low) or (high is not None and not _is_integer(high)):
        raise _Unsure
    return int(low), None if high is None else int(high)


def _range_test(expression: str, low: int, high: int | None) -> str:
    if high is None:
        return f"{expression} >= {low}"
    return f"{low} <= {expression} <= {high}"


def _implies_envelope(schema: Any) -> bool:
    """True when the type's schema includes the envelope itself (its `allOf` refers to it)."""
    parts = schema.get("allOf", []) if isinstance(schema, dict) else []
    return any(isinstance(p, dict) and p.get("$ref") == ENVELOPE_ID for p in parts)


def compile_schema(schema: Any, documents: Mapping[str, Any] | None = None) -> tuple[Check, bool]:
    """(check, exact) for one schema; `$ref`s resolve to `documents` by `$id`.

    check(x) True means jsonschema accepts x; when `exact`, False also means it refuses x.
    """
    generator = _Generator(documents or {})
    name, exact = generator.function(schema)
    check: Check = generator.load()[name]
    return check, exact


def compile_checks(documents: Mapping[str, Any]) -> dict[str, Check]:
    """Per event type: a function that is True only if an event certainly matches."""
    generator = _Generator(documents)
    envelope, _ = generator.document(ENVELOPE_ID)
    entries: dict[str, str] = {}
    for event_type in EVENT_TYPES:
        schema_id = f"{event_type}.schema.json"
        if schema_id not in documents:
            continue
        name, _ = generator.document(schema_id)
        if _implies_envelope(documents[schema_id]):
            entries[event_type] = name
        else:
            wrapper = generator._name("_event")
            generator.sources.append(
                f"def {wrapper}(v0):\n    return {envelope}(v0) and {name}(v0)"
            )
            entries[event_type] = wrapper
    namespace = generator.load()
    return {t: namespace[name] for t, name in entries.items()}


def load_documents() -> dict[str, Any]:
    """Every schema under docs/contract/schemas, keyed by its `$id` (as contract.py loads them)."""
    documents: dict[str, Any] = {}
    for file in sorted(SCHEMA_DIR.glob("*.schema.json")):
        contents = json.loads(file.read_text(encoding="utf-8"))
        documents[str(contents.get("$id", file.name))] = contents
    return documents


@cache
def _checks() -> dict[str, Check]:
    return compile_checks(load_documents())


def event_is_valid(event: Any) -> bool:
    """True only if `event` certainly matches the envelope and its type's schema."""
    if not isinstance(event, dict):
        return False
    event_type = event.get("type")
    check = _checks().get(event_type) if isinstance(event_type, str) else None
    return check is not None and check(event)


def check_event(event: Any) -> None:
    """As contract.validate_event (raises ContractError), fast for the events that are valid."""
    if not event_is_valid(event):
        validate_event(event)
