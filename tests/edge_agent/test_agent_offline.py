"""The agent without a broker: heartbeats and alerts still land in the outbox, valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import load_config
from edge_agent.agent import Agent
from edge_agent.contract import validate_event
from edge_agent.outbox import Limits, OutboxFull
from edge_agent.outbox_config import open_outbox
from tests.edge_agent.conftest import write_config


def test_full_outbox_becomes_an_alert_and_heartbeat_reports_devices(tmp_path: Path) -> None:
    """A kiosk-side OutboxFull is reported by the agent as agent.alert; heartbeat data is valid."""
    path = write_config(tmp_path / "kiosk", "mqtt://127.0.0.1:1")
    config = load_config(path, env={})
    with open_outbox(config) as kiosk_box:
        kiosk_box.set_device_state("bp", "disconnected")
        kiosk_box.report_kiosk_alive()
        kiosk_box.limits = Limits(max_bytes=300, min_free_disk_bytes=0)
        kiosk_box.put("test", {})
        with pytest.raises(OutboxFull, match="size_cap"):
            kiosk_box.put("test", {})
    agent = Agent(config)
    agent.step()  # the connect is refused; timers still run
    rows = agent.outbox.peek(limit=10)
    events = [json.loads(r.payload) for r in rows]
    for event in events:
        validate_event(event)
    kinds = {e["type"]: e for e in events}
    assert kinds["agent.alert"]["data"]["kind"] == "outbox_full"
    heartbeat = kinds["heartbeat"]["data"]
    assert heartbeat["devices"] == {"bp": "disconnected"}
    assert heartbeat["kiosk_alive"] is True
    assert heartbeat["outbox_depth"] == 1
    assert agent.status.link == "disconnected"
    assert agent.status.last_error is not None
    agent.shutdown()
