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
from datetime import UTC, datetime
from typing import Any

import fastjsonschema

from bench.runner import Figure
from edge_agent.contract import ContractError, Identity, new_event, validate_event
from edge_agent.fastcheck import event_is_valid, load_documents
from kiosk.core import events as ev
from kiosk.core.bp_classification import BpCategory

Check = Callable[[dict[str, Any]], bool]
Data = dict[str, Any]
IDENTITY = Identity("440300", "c1", "k1")
BOOT = "0192f3a4-5b6c-7d8e-9f01-23456789abcd"
SESSION = "0192f3a4-5b6c-7d8e-9f01-23456789abce"
TAKEN = datetime(2026, 11, 23, 8, 15, 30, tzinfo=UTC)
HEARTBEAT: Data = {
    "outbox_depth": 3,
    "oldest_unsent_age_s": 4.5,
    "free_disk_mb": 51200.0,
    "devices": {"idcard": "ok", "bp": "disconnected"},
    "clock": {"synchronised": True, "offset_ms": None},
    "versions": {"agent": "0.1.0"},
    "uptime_s": 3600.0,
}


def _bp(*, consent: bool, mean: int | None) -> Data:
    return ev.bp_measured(
        SESSION,
        subject="ab" * 32 if consent else None,
        consent=consent,
        key_id="2026a",
        taken_at=TAKEN,
        systolic=128,
        diastolic=84,
        pulse=72,
        mean=mean,
        category=BpCategory.HIGH_NORMAL,
        error_key=None,
        device_protocol="suntech",
    )


def _event(event_type: str, data: Data) -> Data:
    return new_event(event_type, data, identity=IDENTITY, boot_id=BOOT, seq=1)


def _valid() -> list[Data]:
    """What a kiosk sends most: heartbeats, visits, card reads, readings with and without mean."""
    return [
        _event("heartbeat", HEARTBEAT),
        _event("test", {"note": "bench", "index": 0, "count": 1}),
        _event(
            "session.started",
            ev.session_started(
                SESSION, "health", "zh", large_text=False, voice=False, high_contrast=False
            ),
        ),
        _event(
            "card.read",
            ev.card_read(
                SESSION,
                "resident",
                "ab" * 32,
                "2026a",
                id_number_valid=True,
                card_expired=False,
                read_ms=420.0,
            ),
        ),
        _event("bp.measured", _bp(consent=True, mean=99)),
        _event("bp.measured", _bp(consent=False, mean=None)),
    ]


def _broken(change: Callable[[Data], object]) -> Data:
    data = _bp(consent=False, mean=99)
    change(data["observation"])
    return _event("bp.measured", data)


def _second_systolic(observation: Data) -> None:
    observation["component"][2] = copy.deepcopy(observation["component"][0])


def _refusals() -> list[Data]:
    """bp.measured the contract refuses (issue 10 item 18)."""
    return [
        _broken(lambda o: o.update(effectiveDateTime="yesterday")),
        _broken(lambda o: o.update(category=[{"text": "whatever"}])),
        _broken(_second_systolic),
        _broken(lambda o: o.pop("subject")),
    ]


def _fastjsonschema_checks() -> dict[str, Check]:
    documents = load_documents()
    checks: dict[str, Check] = {}
    for event_type in {str(event["type"]) for event in _valid()}:
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


def figures(quick: bool) -> list[Figure]:
    """agent.validate.*: µs per valid event and refusals missed, per checker."""
    fjs = _fastjsonschema_checks()
    checkers: dict[str, Check] = {
        "jsonschema": _jsonschema,
        "fastcheck": event_is_valid,
        "fastjsonschema": lambda event: fjs[event["type"]](event),
    }
    valid = _valid()
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
                f"of {len(refusals)} bp.measured the contract refuses, it accepts",
            )
        )
    return out


if __name__ == "__main__":
    from bench.runner import print_table

    print_table(figures(quick=True))
