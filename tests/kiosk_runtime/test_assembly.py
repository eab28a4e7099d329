"""The composition root wires the kiosk from its config: key, PIN gate, outbox limits, history."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from config import config_from_data
from config.model import KioskConfig
from config.privacy import pseudonymise
from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.core.technician import hash_pin
from kiosk.runtime.assembly import HISTORY_FILE, assemble, history_path
from tests.kiosk_core.support import FakeClock

REPO = Path(__file__).resolve().parents[2]
KEY_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
ID_NUMBER = "11010519491231002X"
PIN = "2580"


def kiosk_config(data_dir: Path, **extra: Any) -> KioskConfig:
    """A minimal kiosk config with its own pseudonym key, a PIN and a small outbox."""
    raw: dict[str, Any] = {
        "development": True,  # the PIN is inline and short, as only a development kiosk allows
        "identity": {"city": "440300", "centre": "assembly", "kiosk": "k1"},
        "paths": {"data_dir": str(data_dir), "catalogue": str(REPO / "config" / "catalogue.yaml")},
        "privacy": {"pseudonym_key": KEY_HEX, "pseudonym_key_id": "k7"},
        "technician": {
            "pin_hash": hash_pin(PIN, salt=b"0123456789abcdef"),
            "max_failures": 3,
        },
        "agent": {"outbox_max_mb": 2, "min_free_disk_mb": 5, "heartbeat_ttl_s": 120},
        **extra,
    }
    return config_from_data(raw, source="test", base_dir=data_dir, env={})


def test_events_carry_the_pseudonym_of_the_configured_key(tmp_path: Path) -> None:
    """card.read's subject is the HMAC under the config's key, labelled with its key_id."""
    kiosk = assemble(kiosk_config(tmp_path / "data"), clock=FakeClock())
    kiosk.session.handle(i.StartServices())
    kiosk.session.handle(i.CardIdentity("resident", "张三丰", ID_NUMBER, True))
    events = [json.loads(row.payload) for row in kiosk.outbox.peek()]
    card = next(e["data"] for e in events if e["type"] == "card.read")
    assert card["subject"] == pseudonymise(ID_NUMBER, bytes.fromhex(KEY_HEX), "440300")
    assert card["key_id"] == "k7"
    kiosk.close()


def test_pin_gate_and_outbox_limits_come_from_the_config(tmp_path: Path) -> None:
    """The technician PIN opens diagnostics; the outbox limits are the agent section's."""
    kiosk = assemble(kiosk_config(tmp_path / "data"), clock=FakeClock())
    kiosk.session.handle(i.TechnicianGesture())
    assert kiosk.session.handle(i.PinEntered(PIN)).state is State.DIAGNOSTICS
    limits = kiosk.outbox.limits
    assert (limits.max_bytes, limits.min_free_disk_bytes) == (2 * 1024 * 1024, 5 * 1024 * 1024)
    assert limits.heartbeat_ttl_s == 120
    kiosk.close()


def test_history_lives_in_the_private_directory_mode_0700(tmp_path: Path) -> None:
    """bp-history.sqlite3 sits in paths.private_dir, created 0700, not in the shared DATA_DIR."""
    config = kiosk_config(tmp_path / "data")
    kiosk = assemble(config, clock=FakeClock())
    private = config.paths.kiosk_private_dir
    assert history_path(config) == private / HISTORY_FILE
    assert history_path(config).exists()
    assert not (config.paths.data_dir / HISTORY_FILE).exists()
    assert stat.S_IMODE(private.stat().st_mode) & 0o077 == 0
    kiosk.close()


def test_a_wide_private_directory_is_tightened(tmp_path: Path) -> None:
    """A private directory left group- or world-readable is set back to 0700."""
    private = tmp_path / "ui"
    private.mkdir(mode=0o755)
    private.chmod(0o755)
    config = kiosk_config(
        tmp_path / "data",
        paths={
            "data_dir": str(tmp_path / "data"),
            "catalogue": str(REPO / "config" / "catalogue.yaml"),
            "private_dir": str(private),
        },
    )
    assemble(config, clock=FakeClock()).close()
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


def test_history_left_in_the_data_directory_is_moved_in(tmp_path: Path) -> None:
    """A history an older release wrote to DATA_DIR moves into the private directory, intact."""
    config = kiosk_config(tmp_path / "data")
    config.paths.data_dir.mkdir(parents=True)
    old = config.paths.data_dir / HISTORY_FILE
    db = sqlite3.connect(old)
    db.executescript((Path(__file__).parent / "fixtures" / "bp_history_v1.sql").read_text())
    db.close()
    kiosk = assemble(config, clock=FakeClock())
    assert not old.exists()
    assert kiosk.history is not None
    assert kiosk.history.count() == 3
    kiosk.close()


def test_without_history_no_file_is_made(tmp_path: Path) -> None:
    """with_history=False: the session keeps no readings and no history file appears."""
    config = kiosk_config(tmp_path / "data")
    kiosk = assemble(config, clock=FakeClock(), with_history=False)
    assert kiosk.history is None
    assert not history_path(config).exists()
    kiosk.close()


def test_an_event_the_contract_refuses_never_escapes_the_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A ContractError from the outbox becomes one dropped event; the step completes."""
    kiosk = assemble(kiosk_config(tmp_path / "data"), clock=FakeClock())
    kiosk.session.handle(i.StartServices())
    unknown: Any = "martian"  # a card type the contract does not know, on purpose
    step = kiosk.session.handle(i.CardIdentity(unknown, "张三丰", ID_NUMBER, True))
    assert step.state is State.SERVICES
    types = [row.type for row in kiosk.outbox.peek()]
    assert "card.read" not in types
    assert "session.started" in types
    assert kiosk.session.views.diagnostics.dropped_events == 1
    assert "martian" not in caplog.text
    assert "data.card_type" in caplog.text
    kiosk.close()


def test_the_session_reaches_red_points_through_the_assembled_port(tmp_path: Path) -> None:
    """parts.points writes the call file the agent publishes (DATA_DIR/calls/), with the
    session's pseudonym and key id; without an agent the answer is a timeout in plain words."""
    from common.kiosk_agent import calls_dir
    from kiosk.core.ports import run_points_call
    from kiosk.runtime.points_client import PLAIN_WORDS, PointsClient, PointsPortAdapter

    config = kiosk_config(tmp_path / "data")
    kiosk = assemble(config, clock=FakeClock())
    assert isinstance(kiosk.points, PointsPortAdapter)
    kiosk.points.client = PointsClient(config.paths.data_dir, timeout_s=0.2)  # no agent runs
    kiosk.session.handle(i.StartPoints())
    kiosk.session.handle(i.CardIdentity("resident", "张三丰", ID_NUMBER, True))
    call = kiosk.session.take_points_call()
    assert call is not None
    assert call.subject == pseudonymise(ID_NUMBER, bytes.fromhex(KEY_HEX), "440300")
    assert call.key_id == "k7"
    answer = run_points_call(kiosk.points, call)
    assert (answer.ok, answer.reason) == (False, "timeout")
    assert answer.words == {lang: PLAIN_WORDS["timeout"][lang] for lang in ("zh", "en")}
    assert list(calls_dir(config.paths.data_dir).glob("*")) == []  # taken back: never sent late
    kiosk.session.handle(i.PointsAnswered(call.token, answer))
    assert kiosk.session.views.points.error_text == PLAIN_WORDS["timeout"]["zh"]
    assert kiosk.session.views.points.can_retry
    kiosk.close()
