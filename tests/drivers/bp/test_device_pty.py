"""BloodPressureMeter against simulators over real pseudo-terminals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from common.backoff import Backoff
from drivers.bp.device import BloodPressureMeter
from drivers.bp.events import BpResult
from drivers.bp.simulator import make_simulator
from drivers.errors import DeviceDisconnected, DeviceTimeout
from drivers.simulation import PtySimulatorHost

EXPECTED = {
    "normal": (118, 76, 72, None),
    "hypertensive": (165, 102, 88, None),
    "cuff_error": (None, None, None, "cuff_leak"),
}
KINDS = {"suntech": "bp-suntech", "omron9030": "bp-omron9030"}


def measure_sim(protocol: str, scenario: str, cuff: list[int]) -> BpResult:
    url = f"sim://{KINDS[protocol]}?scenario={scenario}"
    with BloodPressureMeter(url, protocol=protocol) as meter:
        meter.connect()
        if protocol == "omron9030":
            simulator = meter.simulator
            assert simulator is not None
            simulator.control("measure")  # the resident presses START on the meter
        return meter.measure(cuff.append, timeout_s=15.0)


@pytest.mark.parametrize("protocol", ["suntech", "omron9030"])
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_measurement_over_pty(protocol: str, scenario: str) -> None:
    """A sim:// meter measures through a real pty with the scenario's vitals or error key."""
    cuff: list[int] = []
    result = measure_sim(protocol, scenario, cuff)
    assert (result.systolic, result.diastolic, result.pulse, result.error_key) == EXPECTED[scenario]
    assert (result.mean is not None) == (protocol == "suntech" and result.ok)
    assert (result.taken_at is not None) == (protocol == "omron9030")


@pytest.mark.parametrize(("protocol", "key", "movement"), [
    ("suntech", "movement", None), ("omron9030", None, 1),
])  # fmt: skip
def test_movement_over_pty(protocol: str, key: str | None, movement: int | None) -> None:
    """Movement arrives as SunTech's error key or as Omron's movement count."""
    result = measure_sim(protocol, "movement", [])
    assert (result.error_key, result.movement) == (key, movement)


def test_cuff_pressure_callbacks_rise_then_fall() -> None:
    """Live cuff readings reach the callback climbing to the peak, then falling."""
    cuff: list[int] = []
    measure_sim("suntech", "normal", cuff)
    peak = cuff.index(max(cuff))
    assert max(cuff) >= 150
    assert 0 < peak < len(cuff) - 1
    assert cuff[:peak] == sorted(cuff[:peak])
    assert cuff[peak:] == sorted(cuff[peak:], reverse=True)


@pytest.fixture
def suntech_host() -> Iterator[PtySimulatorHost]:
    host = PtySimulatorHost(make_simulator("normal", "suntech", time_scale=0.3))
    host.start()
    yield host
    host.stop()


def test_unplug_raises_then_replug_recovers(suntech_host: PtySimulatorHost) -> None:
    """Pulling the pty raises DeviceDisconnected; after replug the next call measures again."""
    changes: list[bool] = []
    meter = BloodPressureMeter(
        suntech_host.port_path,
        on_link_change=lambda connected, _reason: changes.append(connected),
        backoff=Backoff(base_s=0.0),
    )
    with meter:
        assert meter.measure(timeout_s=10.0).systolic == 118
        suntech_host.unplug()
        with pytest.raises(DeviceDisconnected):
            meter.measure(timeout_s=10.0)
        assert not meter.connected
        suntech_host.replug()
        assert meter.measure(timeout_s=10.0).systolic == 118
    assert changes == [True, False, True]


def test_unplug_scenario_mid_measurement() -> None:
    """The `unplug` scenario pulls the cable during inflation: DeviceDisconnected."""
    with (
        BloodPressureMeter("sim://bp-suntech?scenario=unplug") as meter,
        pytest.raises(DeviceDisconnected),
    ):
        meter.measure(timeout_s=10.0)


def test_push_only_meter_times_out_without_a_reading() -> None:
    """An Omron meter nobody starts gives DeviceTimeout at the requested timeout."""
    with (
        BloodPressureMeter("sim://bp-omron9030", protocol="omron9030") as meter,
        pytest.raises(DeviceTimeout),
    ):
        meter.measure(timeout_s=0.3)


def test_abandoning_a_measurement_aborts_it(suntech_host: PtySimulatorHost) -> None:
    """Closing the event stream early sends abort; abort() on an idle meter is acknowledged."""
    with BloodPressureMeter(suntech_host.port_path) as meter:
        events = meter.measure_events(timeout_s=10.0)
        next(events)
        assert suntech_host.control("status") == "measuring"
        events.close()
        meter.abort()
        assert suntech_host.control("status") == "idle"


def test_unknown_protocol_is_rejected() -> None:
    """A protocol name not in the registry is a ValueError naming the known ones."""
    with pytest.raises(ValueError, match="omron9030, suntech"):
        BloodPressureMeter("loop://", protocol="maibobo")
