"""Per-event schema checking: jsonschema, edge_agent.fastcheck and fastjsonschema side by side.

Issue 11 asks whether the maintained fastjsonschema can replace fastcheck. Two figures decide
it: the time per valid event (a batch of every type, as the outbox checks them) and how often
each one disagrees with jsonschema, the reference: valid events it refuses, and the contract's
bp.measured refusals it accepts (a checker that accepts two systolic components is no
replacement at any speed). fastjsonschema 2.22 implements draft-07 keywords for 2020-12
schemas, so it ignores minContains/maxContains.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import fastjsonschema

from bench.runner import Figure
from edge_agent.contract import ContractError, validate_event
from edge_agent.fastcheck import event_is_valid, load_documents
from tests.foundation.test_contract import SAMPLE_DATA, make
from tests.kiosk_core.test_fhir import BREAKAGES, _data, _event

Check = Callable[[dict[str, Any]], bool]


def _fastjsonschema_checks() -> dict[str, Check]:
    documents = load_documents()
    checks: dict[str, Check] = {}
    for event_type in SAMPLE_DATA:
        compiled = fastjsonschema.compile(
            documents[f"{event_type}.schema.json"], handlers={"": documents.__getitem__}
        )

        def check(event: dict[str, Any], run: Callable[[Any], Any] = compiled) -> bool:
            try:
                run(event)
            except fastjsonschema.JsonSchemaException:
                return False
            return True

        checks[event_type] = check
    return checks


def _jsonschema(event: dict[str, Any]) -> bool:
    try:
        validate_event(event)
    except ContractError:
        return False
    return True


def _per_event_us(check: Check, events: list[dict[str, Any]], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for event in events:
            check(event)
        best = min(best, time.perf_counter() - start)
    return best / len(events) * 1e6


def _refusals() -> list[dict[str, Any]]:
    events = []
    for breakage in BREAKAGES.values():
        data = _data(consent=False)
        breakage(data)
        events.append(_event(data))
    return events


def figures(quick: bool) -> list[Figure]:
    """agent.validate.*: µs per valid event and refusals missed, per checker."""
    fjs = _fastjsonschema_checks()
    checkers: dict[str, Check] = {
        "jsonschema": _jsonschema,
        "fastcheck": event_is_valid,
        "fastjsonschema": lambda event: fjs[event["type"]](event),
    }
    valid = [make(t) for t in SAMPLE_DATA] + [_event(_data(consent=c)) for c in (True, False)]
    events = [copy.deepcopy(e) for e in valid for _ in range(20)]
    refusals = _refusals()
    out = []
    for name, check in checkers.items():
        rounds = 3 if quick or name == "jsonschema" else 20
        per_event = _per_event_us(check, events, rounds)
        missed = sum(1 for event in refusals if check(event))
        refused = [str(event["type"]) for event in valid if not check(event)]
        out.append(Figure(f"agent.validate.{name}_us", per_event, "us", "per valid event, best"))
        out.append(
            Figure(
                f"agent.validate.{name}_refused_valid",
                len(refused),
                "",
                f"of {len(valid)} valid samples it refuses {sorted(set(refused))}"[:80],
            )
        )
        out.append(
            Figure(
                f"agent.validate.{name}_missed",
                missed,
                "",
                f"of {len(refusals)} bp.measured refusals (issue 10 item 18) it accepts",
            )
        )
    return out


if __name__ == "__main__":
    from bench.runner import print_table

    print_table(figures(quick=True))
