"""The kiosks' contract as the city reads it: docs/contract/schemas loaded at run time.

The JSON Schemas are the only source of truth the city has about kiosk data (the city imports
nothing of the kiosk side). They are compiled with fastjsonschema: measured here, 76 µs per
heartbeat against jsonschema's 239 µs (is_valid) and 422 µs (iter_errors) on a loaded 2-core
machine. fastjsonschema implements drafts 4/6/7 (its "2019" adds formats only); the contract
declares 2020-12. A type whose schema uses a keyword fastjsonschema would silently ignore
(`minContains`, `unevaluatedProperties`, …) is checked with jsonschema's 2020-12 validator
instead, so no rule is ever skipped; a test cross-checks verdicts between the two.
`$defs` is only a place to keep subschemas: `$ref` JSON pointers into it resolve either way.
A valid envelope is recognised by a quicker check first (city/envelope_check.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from city.envelope_check import Precheck, envelope_precheck, without_envelope

DRAFT_2020_ONLY = frozenset(
    {
        "$defs",
        "prefixItems",
        "unevaluatedProperties",
        "unevaluatedItems",
        "dependentRequired",
        "dependentSchemas",
        "$dynamicRef",
        "$dynamicAnchor",
        "$anchor",
        "minContains",
        "maxContains",
    }
)
PRESENCE_TYPES = frozenset({"agent.online", "agent.offline"})
ENVELOPE = "envelope.schema.json"
BATCH = "batch.schema.json"
# Not event types: the batch around them, signed commands, and the online calls and answers
# (docs/contract/README.md "Online calls"; city/points/calls.py reads those two).
NOT_EVENT_SCHEMAS = frozenset(
    {ENVELOPE, BATCH, "command.schema.json", "call.schema.json", "answer.schema.json"}
)
MAX_REASON_CHARS = 300


Validator = Callable[[Any], str | None]
"""None when the event is valid, else the reason (field path and rule, never the value)."""


class ContractLoadError(RuntimeError):
    """The contract directory cannot be compiled into validators."""


def _keywords(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key not in ("properties", "enum", "const"):
                yield from _keywords(value)
            elif key == "properties" and isinstance(value, dict):
                for sub in value.values():
                    yield from _keywords(sub)
    elif isinstance(node, list):
        for item in node:
            yield from _keywords(item)


@dataclass(frozen=True)
class Contract:
    """Compiled validators per event type, plus the batch's bounds."""

    validators: Mapping[str, Validator]
    batch_min_items: int
    batch_max_items: int

    reference_types: frozenset[str] = frozenset()

    @property
    def event_types(self) -> frozenset[str]:
        """Every event type the contract defines."""
        return frozenset(self.validators)

    def check_event(self, event: Any) -> str | None:
        """None if `event` matches its type's schema, else the reason (bounded, no values)."""
        if not isinstance(event, dict):
            return f"an event must be an object, got {type(event).__name__}"
        event_type = event.get("type")
        validator = self.validators.get(event_type) if isinstance(event_type, str) else None
        if validator is None:
            return "unknown event type" if isinstance(event_type, str) else "type is missing"
        reason = validator(event)
        return None if reason is None else f"{event_type} schema: {reason}"[:MAX_REASON_CHARS]


def _fast(compiled: Callable[[Any], Any]) -> Validator:
    def check(event: Any) -> str | None:
        try:
            compiled(event)
        except fastjsonschema.JsonSchemaValueException as exc:
            where = ".".join(str(p) for p in (exc.path or [])[1:]) or "(event)"
            return f"{where}: {_rule(exc)}"
        return None

    return check


def _layered(precheck: Precheck, own_rules: Validator, full: Validator) -> Validator:
    def check(event: Any) -> str | None:
        # Surely a valid envelope: only the type's own rules are left to check (same verdict
        # and reason as the full schema); otherwise the full schema says what is wrong.
        return own_rules(event) if precheck(event) else full(event)

    return check


def _reference(validator: Draft202012Validator) -> Validator:
    def check(event: Any) -> str | None:
        error = best_match(validator.iter_errors(event))
        if error is None:
            return None
        where = ".".join(str(p) for p in error.absolute_path) or "(event)"
        if error.validator == "required":
            return f"{where}: {error.message}"  # names the missing property, never a value
        return f"{where}: fails {error.validator}"

    return check


def _rule(exc: fastjsonschema.JsonSchemaValueException) -> str:
    # exc.message embeds the offending value for some rules; keep only the rule, never PII.
    rule = exc.rule or "invalid"
    definition = exc.rule_definition
    if rule == "required" and isinstance(definition, list):
        return f"fails required {sorted(str(name) for name in definition)}"
    if isinstance(definition, str | int | float | bool) and rule != "pattern":
        return f"fails {rule} {definition!r}"
    return f"fails {rule}"


def _needs_reference(schema: Any, schemas: Mapping[str, Any]) -> bool:
    # The envelope is referenced by every type: a 2020-only keyword there counts for all.
    own = DRAFT_2020_ONLY.intersection(_keywords(schema))
    shared = DRAFT_2020_ONLY.intersection(_keywords(schemas[ENVELOPE]))
    return bool(own or shared)


def load_contract(schema_dir: Path, *, quick_envelope: bool = True) -> Contract:
    """Compile every event schema under `schema_dir` (docs/contract/schemas); without
    `quick_envelope` every event goes through its full schema (what the tests compare with)."""
    try:
        schemas = {
            file.name: json.loads(file.read_text(encoding="utf-8"))
            for file in sorted(schema_dir.glob("*.schema.json"))
        }
    except (OSError, ValueError) as exc:
        raise ContractLoadError(f"{schema_dir}: {exc}") from None
    if ENVELOPE not in schemas or BATCH not in schemas:
        raise ContractLoadError(f"{schema_dir}: no envelope/batch schema: not a contract dir")
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )

    def resolve(uri: str) -> Any:
        return schemas[uri.rsplit("/", 1)[-1]]

    handlers = {"": resolve, "file": resolve, "http": resolve, "https": resolve}
    precheck = envelope_precheck(schemas[ENVELOPE]) if quick_envelope else None
    validators: dict[str, Validator] = {}
    for name, schema in schemas.items():
        if name in NOT_EVENT_SCHEMAS:
            continue
        event_type = name.removesuffix(".schema.json")
        try:
            if _needs_reference(schema, schemas):
                validators[event_type] = _reference(Draft202012Validator(schema, registry=registry))
                continue
            full = _fast(fastjsonschema.compile(schema, handlers=handlers))
            own = without_envelope(schema)
            if precheck is None or own is None:
                validators[event_type] = full
            else:
                own_rules = _fast(fastjsonschema.compile(own, handlers=handlers))
                validators[event_type] = _layered(precheck, own_rules, full)
        except (fastjsonschema.JsonSchemaDefinitionException, KeyError) as exc:
            raise ContractLoadError(f"{name}: {exc}") from None
    events = schemas[BATCH]["properties"]["events"]
    return Contract(
        validators=validators,
        reference_types=frozenset(
            name.removesuffix(".schema.json")
            for name, schema in schemas.items()
            if name not in NOT_EVENT_SCHEMAS and _needs_reference(schema, schemas)
        ),
        batch_min_items=int(events.get("minItems", 1)),
        batch_max_items=int(events.get("maxItems", 10_000)),
    )
