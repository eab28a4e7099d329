"""`sim://` URLs have one parser, shared by the serial link and the kiosk runtime."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.simulation import SIMULATOR_KINDS, SimulatorUrl, is_sim_url, parse_sim_url


def test_kind_scenario_and_options_are_read() -> None:
    """Host or path form, the scenario defaults to `default`, the last repeated option wins."""
    assert parse_sim_url("sim://idcard") == SimulatorUrl("idcard", "default", {})
    assert parse_sim_url("sim:///bp-omron9030?scenario=error&x=1&x=2") == SimulatorUrl(
        "bp-omron9030", "error", {"x": "2"}
    )


def test_other_schemes_are_not_simulators() -> None:
    """A serial path or pyserial URL is not a sim:// URL; parsing one is refused."""
    for url in ("/dev/ttyUSB0", "loop://", "socket://127.0.0.1:7000", "simulator://idcard"):
        assert not is_sim_url(url)
    with pytest.raises(ValueError, match="sim://"):
        parse_sim_url("/dev/ttyUSB0")


@given(
    kind=st.sampled_from(sorted(SIMULATOR_KINDS)),
    scenario=st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1),
)
def test_any_kind_and_scenario_round_trip(kind: str, scenario: str) -> None:
    """What a config writes is what the simulator host is started with."""
    parsed = parse_sim_url(f"sim://{kind}?scenario={quote(scenario)}")
    assert (parsed.kind, parsed.scenario) == (kind, scenario)
