"""Simulators cross-connected with the real session and decoder, in simulated time."""

from __future__ import annotations

import pytest

from drivers.bp.simulator import SCENARIOS, Omron9030Simulator, make_simulator
from drivers.simulation import make_simulator as make_any_simulator
from tests.drivers.bp.wire import run_measurement

VITALS = {
    "normal": (118, 76, 72),
    "high_normal": (134, 86, 76),
    "hypertensive": (165, 102, 88),
    "isolated_systolic": (152, 82, 70),
    "garbage_bursts": (118, 76, 72),
}


@pytest.mark.parametrize("protocol", ["suntech", "omron9030"])
@pytest.mark.parametrize("scenario", sorted(VITALS))
def test_reading_scenarios(protocol: str, scenario: str) -> None:
    """Each reading scenario delivers its vitals through the real session and decoder."""
    run = run_measurement(protocol, scenario)
    assert run.result is not None
    assert (run.result.systolic, run.result.diastolic, run.result.pulse) == VITALS[scenario]
    assert run.result.error_key is None
    assert (run.discarded > 0) == (scenario == "garbage_bursts")


def test_suntech_cuff_pressure_rises_then_falls() -> None:
    """SunTech cuff readings climb to ~180 mmHg, then fall."""
    cuff = run_measurement("suntech", "normal").cuff_mmhg
    peak = cuff.index(max(cuff))
    assert max(cuff) >= 170
    assert cuff[:peak] == sorted(cuff[:peak])
    assert cuff[peak:] == sorted(cuff[peak:], reverse=True)
    assert 0 < peak < len(cuff) - 1


@pytest.mark.parametrize(
    ("protocol", "code", "key"), [("suntech", 87, "cuff_leak"), ("omron9030", 1, "cuff_leak")]
)
def test_cuff_error(protocol: str, code: int, key: str) -> None:
    """A loose cuff ends in the protocol's leak code, mapped to `cuff_leak`, without vitals."""
    result = run_measurement(protocol, "cuff_error").result
    assert result is not None
    assert (result.error_code, result.error_key, result.systolic) == (code, key, None)


def test_movement() -> None:
    """SunTech reports movement as an error; Omron as a count on a valid reading."""
    suntech_result = run_measurement("suntech", "movement").result
    omron_result = run_measurement("omron9030", "movement").result
    assert suntech_result is not None
    assert omron_result is not None
    assert suntech_result.error_key == "movement"
    assert omron_result.ok
    assert omron_result.movement == 1
    assert type(omron_result.movement) is int


@pytest.mark.parametrize("protocol", ["suntech", "omron9030"])
def test_unplug_scenario_pulls_the_cable_mid_measurement(protocol: str) -> None:
    """The unplug scenario asks the host to close the pty during the first measurement."""
    assert run_measurement(protocol, "unplug").unplugged


def test_scenario_switching_and_errors() -> None:
    """`scenario NAME` switches; unknown names and commands are ValueErrors."""
    sim = make_simulator("normal", "omron9030")
    assert sim.control("scenario hypertensive", 0.0) == "scenario hypertensive"
    with pytest.raises(ValueError, match="unknown BP scenario"):
        sim.control("scenario nope", 0.0)
    with pytest.raises(ValueError, match="unknown command"):
        sim.control("frobnicate", 0.0)
    with pytest.raises(ValueError, match="started by the host"):
        make_simulator("normal", "suntech").control("measure", 0.0)
    with pytest.raises(ValueError, match="protocol"):
        make_simulator("normal", "maibobo")


def test_omron_line_timestamps_follow_the_simulated_clock() -> None:
    """Each simulated Omron reading carries the meter's own clock, a minute apart."""
    sim = Omron9030Simulator("normal", time_scale=0.1)
    sim.control("measure", 0.0)
    first = sim.poll(10.0).data
    sim.control("measure", 20.0)
    second = sim.poll(30.0).data
    assert first.startswith(b"2025,01,06,09,00,")
    assert second.startswith(b"2025,01,06,09,01,")
    assert b"SIM-0001" in first


def test_every_scenario_builds_through_the_shared_table() -> None:
    """Every scenario name works through drivers.simulation for both BP kinds."""
    for name in SCENARIOS:
        for kind in ("bp", "bp-suntech", "bp-omron9030"):
            assert make_any_simulator(kind, name) is not None
