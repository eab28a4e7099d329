"""The fleet page's filter menus come from its grouped scan when that scan saw every kiosk
(no text filter): the same districts and centres, in the same order, as filter_choices; and
the heartbeat's device check (one jsonpath predicate) says what the Python reading says."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from city.config import RulesConfig
from city.console.filters import FleetFilter
from city.console.fleet_state import filter_choices, fleet_page
from testbed.fleet_seed import kiosk_row, seed_fleet

pytestmark = pytest.mark.postgres


def test_menus_from_the_grouped_scan(city_db: str) -> None:
    """Every district filter (none, one, an unknown one); a text filter asks the table."""
    now = datetime.now(UTC)
    with psycopg.connect(city_db) as conn:
        seed_fleet(conn, 400, seed=3)
        kiosk_row(conn, "440300/zz-centre/k1", district=None)
        kiosk_row(conn, "440300/Abc/k1", district="南山区")
        for district in (None, "南山区", "福田区", "无此区"):
            result = fleet_page(
                conn, FleetFilter(district, None, None, None), RulesConfig(), now, 100
            )
            assert result.choices == filter_choices(conn, district)
        searched = fleet_page(
            conn, FleetFilter(None, None, None, "kiosk-01"), RulesConfig(), now, 100
        )
        assert searched.choices is None


DEVICE_STATES = st.sampled_from(["ok", "fault", "disconnected", "busy", "Fault", ""])
# jsonb holds UTF-8 without \u0000
DEVICES = st.dictionaries(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=8),
    DEVICE_STATES,
    max_size=5,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(devices=DEVICES)
def test_device_check_matches_python(city_db: str, devices: dict[str, str]) -> None:
    """A kiosk is degraded for its heartbeat's devices exactly when one says fault or
    disconnected."""
    with psycopg.connect(city_db) as conn:
        conn.execute("TRUNCATE kiosks, device_states")
        kiosk_row(conn, "440300/c/k", district="南山区", devices=devices)
        result = fleet_page(
            conn, FleetFilter(None, None, None, None), RulesConfig(), datetime.now(UTC), 10
        )
    expected = any(v in ("fault", "disconnected") for v in devices.values())
    row = result.kiosks[0]
    assert ("device" in row["problems"]) is expected, json.dumps(devices)
