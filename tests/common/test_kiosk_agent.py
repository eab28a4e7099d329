"""The kiosk ↔ agent files: one definition, read defensively, writer and reader agree."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from common.kiosk_agent import (
    MAX_REQUEST_BYTES,
    MAX_STATUS_BYTES,
    AgentStatus,
    LinkState,
    broker_connected,
    decode_request,
    read_status,
    request_path,
    status_path,
)


def test_broker_state_is_read_defensively(tmp_path: Path) -> None:
    """agent-status.json: `link == connected` (the field the agent writes); garbage means False.

    Changed on purpose (issue 11): a `connected` key, which the agent never writes, no longer
    overrides `link`.
    """
    status = tmp_path / "agent-status.json"
    assert broker_connected(tmp_path) is False
    status.write_text('{"link": "connected"}', encoding="utf-8")
    assert broker_connected(tmp_path) is True
    status.write_text('{"link": "disconnected", "connected": true}', encoding="utf-8")
    assert broker_connected(tmp_path) is False
    status.write_text("[1, 2", encoding="utf-8")
    assert broker_connected(tmp_path) is False
    status.write_text('["connected"]', encoding="utf-8")
    assert broker_connected(tmp_path) is False


def test_what_the_agent_writes_is_what_the_kiosk_reads(tmp_path: Path) -> None:
    """An AgentStatus serialised as the agent does it reads back as connected on the kiosk side."""
    written = AgentStatus(link=LinkState.CONNECTED, outbox_depth=3, pid=42)
    status_path(tmp_path).write_text(json.dumps(asdict(written)), encoding="utf-8")
    assert broker_connected(tmp_path) is True
    assert read_status(tmp_path) == json.loads(json.dumps(asdict(written)))


def test_oversized_status_and_unknown_keys_are_dropped(tmp_path: Path) -> None:
    """A status file over MAX_STATUS_BYTES reads as absent; keys not in AgentStatus are dropped."""
    status_path(tmp_path).write_text('{"link": "connected", "extra": 1}', encoding="utf-8")
    assert read_status(tmp_path) == {"link": "connected"}
    padding = " " * MAX_STATUS_BYTES
    status_path(tmp_path).write_text('{"link": "connected"}' + padding, encoding="utf-8")
    assert read_status(tmp_path) is None


def test_request_bodies_are_objects_within_the_cap(tmp_path: Path) -> None:
    """Requests live in DATA_DIR/requests/KIND.json; only a JSON object within the cap parses."""
    assert request_path(tmp_path, "restart_kiosk") == tmp_path / "requests" / "restart_kiosk.json"
    assert decode_request(b"") == {}
    assert decode_request(b'{"kind": "catalogue"}') == {"kind": "catalogue"}
    for bad in (b"[1]", b'"x"'):
        with pytest.raises(ValueError, match="not an object"):
            decode_request(bad)
    with pytest.raises(ValueError, match="Expecting"):
        decode_request(b"{")
    with pytest.raises(ValueError, match="too large"):
        decode_request(b"{}" + b" " * MAX_REQUEST_BYTES)
