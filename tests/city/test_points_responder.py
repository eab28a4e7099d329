"""The responder's handling without a broker: database down, misdirected calls, its config."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from city.config import DEFAULT_CONTRACT_DIR, CityConfig, city_config_from_data
from city.points.responder import Responder, calls_filter, run_responder
from common.ids import uuid7
from testbed.broker import free_port

TOPIC = "gov-kiosk/v1/440300/c1/k1/calls"


def _ts(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + ".000Z"


def _config(**points: object) -> CityConfig:
    return city_config_from_data(
        {
            "database": {
                "url": f"postgresql://nobody@127.0.0.1:{free_port()}/city",
                "connect_timeout_s": 1,
            },
            "broker": {"url": "mqtt://127.0.0.1:1"},
            "contract_dir": str(DEFAULT_CONTRACT_DIR),
            "points": points,
        },
        source="test",
        base_dir=Path("."),
        env={},
    )


def _call() -> bytes:
    now = time.time()
    return json.dumps(
        {
            "call_id": uuid7(),
            "method": "points.balance",
            "issued_at": _ts(now),
            "expires_at": _ts(now + 30),
            "params": {"subject": "f" * 64, "key_id": "k2026"},
        }
    ).encode()


def test_a_database_that_is_down_is_an_unavailable_answer_not_a_crash() -> None:
    """The call is answered `unavailable` on the caller's topic; the next call tries again."""
    responder = Responder(_config(), "test-responder")
    for _ in range(2):
        result = responder.answer_for(TOPIC, _call(), None)
        assert result is not None
        topic, answer = result
        assert topic == "gov-kiosk/v1/440300/c1/k1/answers"
        assert (answer["status"], answer["reason"]) == ("error", "unavailable")


def test_misdirected_expired_and_unreadable_calls() -> None:
    """Another kiosk's Response Topic: invalid_call to the caller; expired or junk: no answer."""
    responder = Responder(_config(), "test-responder")
    result = responder.answer_for(TOPIC, _call(), "gov-kiosk/v1/440300/c1/k2/answers")
    assert result is not None
    assert result[0].endswith("/k1/answers")
    assert result[1]["reason"] == "invalid_call"
    old = json.loads(_call())
    old["expires_at"] = _ts(time.time() - 5)
    assert responder.answer_for(TOPIC, json.dumps(old).encode(), None) is None
    assert responder.answer_for(TOPIC, b"\x00" * 10, None) is None


def test_points_config_and_the_shared_filter() -> None:
    """`points:` settings are checked like every other section."""
    config = _config(share_group="pts", max_call_bytes=4096)
    assert calls_filter(config) == "$share/pts/gov-kiosk/v1/+/+/+/calls"
    with pytest.raises(ValueError, match="max_call_bytes"):
        _config(max_call_bytes=10)
    with pytest.raises(ValueError, match="share_grup"):
        _config(share_grup="x")


def test_without_an_mqtt_broker_the_responder_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """broker.kind amqp has no MQTT 5 broker URL for the calls: exit 2 with a reason."""
    config = city_config_from_data(
        {
            "database": {"url": "postgresql://nobody@127.0.0.1:1/city"},
            "broker": {"kind": "amqp", "amqp_urls": ["amqp://u:p@127.0.0.1:5672/v"]},
        },
        source="test",
        base_dir=Path("."),
        env={},
    )
    assert run_responder(config) == 2
    assert "broker.url" in caplog.text


def test_a_kiosk_flooding_calls_is_dropped_while_the_others_are_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Over its burst a kiosk's calls go unanswered (its agent asks again later); another
    kiosk's call is answered meanwhile, and the flooder is answered again once it refilled."""
    clock = [time.time()]
    responder = Responder(
        _config(calls_per_kiosk_burst=3, calls_per_kiosk_refill_s=10.0),
        "test-responder",
        clock=lambda: clock[0],
    )
    answered = [responder.answer_for(TOPIC, b"junk", None) for _ in range(3)]
    assert answered == [None, None, None]  # junk: no call_id, no answer, but tokens spent
    with caplog.at_level("WARNING"):
        assert responder.answer_for(TOPIC, _call(), None) is None
        assert responder.answer_for(TOPIC, _call(), None) is None
    assert responder.limited == 2
    assert sum("per-kiosk limit" in r.getMessage() for r in caplog.records) == 1  # logged once
    other = responder.answer_for("gov-kiosk/v1/440300/c1/k2/calls", _call(), None)
    assert other is not None
    assert other[0].endswith("/k2/answers")
    clock[0] += 10.0
    again = responder.answer_for(TOPIC, _call(), None)
    assert again is not None
    assert again[0].endswith("/k1/answers")


def test_the_per_kiosk_limits_are_config_with_path_errors() -> None:
    with pytest.raises(Exception, match="calls_per_kiosk_burst"):
        _config(calls_per_kiosk_burst=0)
