"""The city reads docs/contract/schemas at run time; fastjsonschema agrees with jsonschema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from city.contract import ContractLoadError, load_contract
from testbed.city_events import KioskSim


def _reference(schema_dir: Path) -> dict[str, Draft202012Validator]:
    schemas = {f.name: json.loads(f.read_text()) for f in schema_dir.glob("*.schema.json")}
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )
    return {
        name.removesuffix(".schema.json"): Draft202012Validator(s, registry=registry)
        for name, s in schemas.items()
    }


def _samples() -> list[dict[str, Any]]:
    sim = KioskSim()
    good = [
        sim.test_event(),
        sim.heartbeat(),
        sim.presence("online"),
        sim.presence("offline"),
        sim.event("device.fault", {"device": "bp", "kind": "timeout", "message": "no answer"}),
        sim.event("agent.alert", {"kind": "disk_low", "message": "low"}),
    ]
    bad = []
    for event in good:
        bad.append({**event, "seq": 0})
        bad.append({**event, "extra": 1})
        bad.append({**event, "ts": "yesterday"})
        bad.append({**event, "data": {**event["data"], "surplus": True}})
        bad.append({k: v for k, v in event.items() if k != "boot_id"})
    bad.append({**good[1], "data": {**good[1]["data"], "devices": {"bp": "melted"}}})
    return good + bad


def test_verdicts_match_the_reference_validator(contract_dir: Path) -> None:
    """Every sample gets the same valid/invalid verdict from both libraries."""
    contract = load_contract(contract_dir)
    reference = _reference(contract_dir)
    for sample in _samples():
        ours = contract.check_event(sample) is None
        theirs = reference[sample["type"]].is_valid(sample)
        assert ours == theirs, (sample, contract.check_event(sample))


def test_reasons_never_carry_values(contract_dir: Path) -> None:
    """A reason names the field and the rule, never the offending value (it may be PII)."""
    contract = load_contract(contract_dir)
    event = KioskSim().event("agent.alert", {"kind": "disk_low", "message": "x" * 500})
    reason = contract.check_event(event)
    assert reason is not None
    assert "data.message" in reason
    assert "xxxx" not in reason


def test_real_contract_loads() -> None:
    """The repository's own docs/contract/schemas compile, every event type included."""
    from city.config import DEFAULT_CONTRACT_DIR

    contract = load_contract(DEFAULT_CONTRACT_DIR)
    assert {"heartbeat", "agent.online", "test", "bp.measured"} <= contract.event_types
    assert contract.batch_max_items == 10_000


def test_keywords_fastjsonschema_lacks_fall_back_to_jsonschema(
    contract_dir: Path, tmp_path: Path
) -> None:
    """A type using a 2020-12 keyword fastjsonschema ignores is checked by jsonschema instead."""
    target = tmp_path / "schemas"
    target.mkdir()
    for file in contract_dir.glob("*.json"):
        (target / file.name).write_text(file.read_text())
    test_schema = json.loads((target / "test.schema.json").read_text())
    test_schema["properties"]["data"]["properties"]["tags"] = {
        "type": "array",
        "contains": {"const": "x"},
        "maxContains": 1,
    }
    (target / "test.schema.json").write_text(json.dumps(test_schema))
    contract = load_contract(target)
    assert "test" in contract.reference_types
    sim = KioskSim()
    assert contract.check_event(sim.event("test", {"tags": ["x", "y"]})) is None
    reason = contract.check_event(sim.event("test", {"tags": ["x", "x"]}))
    assert reason == "test schema: data.tags: fails maxContains"


def test_not_a_contract_dir(tmp_path: Path) -> None:
    """An empty directory is not a contract."""
    with pytest.raises(ContractLoadError):
        load_contract(tmp_path)
