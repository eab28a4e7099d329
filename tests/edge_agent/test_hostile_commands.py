"""Any bytes on the commands topic: at most one valid command.result, and the agent carries on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.ratelimit import TokenBucket
from config import load_config
from edge_agent.agent import Agent
from edge_agent.boundedjson import MalformedJson, loads_bounded, nesting_depth_exceeds
from edge_agent.commands import (
    ECHO_ID_MAX_CHARS,
    MAX_COMMAND_BYTES,
    load_private_key,
    make_command,
    sign_command,
)
from edge_agent.contract import validate_event
from edge_agent.intake import REJECTED_RESULTS_BURST
from tests.edge_agent.conftest import DEV_KEY, TARGET, write_config

BIG_INT_ID = b'{"command":{"id":' + b"9" * 5000 + b'},"signature":"x"}'
DEEP = b'{"command":' + b"[" * 5000 + b"]" * 5000 + b',"signature":"x"}'
SURROGATES = b'{"command":{"id":"\\ud800","type":"\\udfff"},"signature":"x"}'
# Nine levels of nine aliases: 420 bytes that expand to 9**9 values when walked.
ALIAS_BOMB = (
    "version: '1'\na0: &a0 ["
    + ",".join(["lol"] * 9)
    + "]\n"
    + "".join(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 9))
)
# One example of each way today's main dies or echoes something it should not.
HOSTILE = {
    "big_int_id": BIG_INT_ID,
    "deep_nesting": DEEP,
    "lone_surrogates": SURROGATES,
    "big_float": b'{"command":{"id":1' + b"0" * 400 + b'.5e99999},"signature":"x"}',
    "nan": b'{"command":{"id":NaN},"signature":"x"}',
    "oversized": b'{"command":{},"signature":"' + b"A" * MAX_COMMAND_BYTES + b'"}',
    "not_utf8": b'{"command":{"id":"\xff\xfe"},"signature":"x"}',
    "unclosed": b'{"command":' + b"[" * 50_000,
    "closing_first": b"]]]]" + b"[" * 5000,
    "long_type": b'{"command":{"id":"ok","type":"' + b"t" * 100_000 + b'"},"signature":"x"}',
    "quotes_in_id": b'{"command":{"id":"\\"};drop","type":"ping"},"signature":"x"}',
}


def fresh_agent(directory: Path) -> Agent:
    """An agent with its own outbox; never connected (commands are handled without a broker)."""
    return Agent(load_config(write_config(directory, "mqtt://127.0.0.1:1"), env={}))


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    """A fresh agent; shut down afterwards."""
    made = fresh_agent(tmp_path / "kiosk")
    yield made
    made.shutdown()


def stored(agent: Agent) -> list[dict[str, Any]]:
    """Every event in the agent's outbox, oldest first."""
    return [json.loads(row.payload) for row in agent.outbox.peek(limit=1000)]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_payload_becomes_one_valid_rejection(agent: Agent, name: str) -> None:
    """Big ints, deep nesting, surrogates, NaN, oversize: one valid rejected result, no echo."""
    event = agent.handle_command(HOSTILE[name])
    assert event is not None
    validate_event(event)
    data = event["data"]
    assert data["status"] == "rejected"
    assert data["reason"] in {"malformed", "bad_signature"}
    assert data["command_id"] in {None, "ok"}
    assert data["command_type"] in {None, "ping", "t" * 40}
    assert len(stored(agent)) == 1


def test_unverified_id_and_type_are_echoed_only_as_safe_capped_ascii(agent: Agent) -> None:
    """A UUID-like id is echoed (capped); quotes, spaces or non-ASCII come back as null."""
    long_id = "a" * 500
    payload = json.dumps({"command": {"id": long_id, "type": "重启"}, "signature": "x"})
    event = agent.handle_command(payload.encode())
    assert event is not None
    assert event["data"]["command_id"] == "a" * ECHO_ID_MAX_CHARS
    assert event["data"]["command_type"] is None
    quoted = agent.handle_command(HOSTILE["quotes_in_id"])
    assert quoted is not None
    assert quoted["data"]["command_id"] is None


def test_rejections_past_the_burst_are_counted_into_the_next_heartbeat(agent: Agent) -> None:
    """Past the burst, rejections are only counted; the next heartbeat says how many."""
    extra = 7
    results = [agent.handle_command(b"garbage") for _ in range(REJECTED_RESULTS_BURST + extra)]
    assert sum(r is not None for r in results) == REJECTED_RESULTS_BURST
    agent.step()  # the connect is refused; the first heartbeat is due at once
    heartbeats = [e for e in stored(agent) if e["type"] == "heartbeat"]
    assert len(heartbeats) == 1
    validate_event(heartbeats[0])
    assert heartbeats[0]["data"]["commands_rejected_unreported"] == extra
    assert agent.intake.unreported == 0


def test_signed_commands_are_answered_even_when_rejections_are_rate_limited(agent: Agent) -> None:
    """The bucket limits rejections only: a verified ping after a flood is still answered."""
    for _ in range(REJECTED_RESULTS_BURST * 3):
        agent.handle_command(b"{}")
    key = load_private_key(DEV_KEY)
    ping = sign_command(key, make_command("ping", TARGET))
    event = agent.handle_command(json.dumps(ping).encode())
    assert event is not None
    assert event["data"]["status"] == "ok"


def test_token_bucket_refills_one_token_per_interval() -> None:
    """Capacity 2, one token per 10 s: two now, none at 5 s, one at 10 s, capped at capacity."""
    bucket = TokenBucket(2, 10.0)
    assert [bucket.take(0.0), bucket.take(0.0), bucket.take(0.0)] == [True, True, False]
    assert bucket.take(5.0) is False
    assert bucket.take(10.0) is True
    assert [bucket.take(1000.0), bucket.take(1000.0), bucket.take(1000.0)] == [True, True, False]


def test_bounded_json_caps_numbers_depth_and_size() -> None:
    """Numbers over 32 characters, nesting over the cap, oversize and NaN are MalformedJson."""
    assert loads_bounded(b'{"a": [1, 2.5, "[[["]}', max_bytes=100, max_depth=2) == {
        "a": [1, 2.5, "[[["]
    }
    for payload, depth in ((b"[" * 3 + b"]" * 3, 2), (b"1" * 33, 5), (b"NaN", 5), (b"[]" * 60, 5)):
        with pytest.raises(MalformedJson):
            loads_bounded(payload, max_bytes=100, max_depth=depth)
    assert not nesting_depth_exceeds(b'["\\"[[[[", {"k": "]]]]"}]', 2)
    assert nesting_depth_exceeds(b'[[["\\\\"]]]', 2)


def _json_values(codec: str | None = None) -> st.SearchStrategy[Any]:
    """JSON values; with codec=None strings may hold lone surrogates (\\ud800 once dumped)."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(alphabet=st.characters(codec=codec), max_size=20)
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=12,
    )


def _raw_messages() -> st.SearchStrategy[bytes]:
    body = st.fixed_dictionaries(
        {},
        optional={
            "id": _json_values() | st.uuids().map(str),
            "type": st.sampled_from(["ping", "set_config", "restart_kiosk", "nope"]) | st.text(),
            "target": st.just(TARGET) | st.text(),
            "nonce": st.text(max_size=70),
            "args": _json_values(),
        },
    )
    envelope = st.fixed_dictionaries(
        {"command": body | _json_values(), "signature": st.text(max_size=100) | _json_values()}
    )
    surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
    return st.one_of(
        st.binary(max_size=300),
        envelope.map(lambda m: json.dumps(m).encode()),
        _json_values().map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda s, n: json.dumps({"command": {"id": s * n, "type": s}, "signature": "x"}),
            surrogate,
            st.integers(1, 3),
        ).map(str.encode),
        st.sampled_from(sorted(HOSTILE)).map(HOSTILE.__getitem__),
        st.integers(1, 3000).map(lambda n: b'{"command":' + b"[" * n + b"]" * n + b"}"),
    )


def _signed_messages() -> st.SearchStrategy[bytes]:
    key = load_private_key(DEV_KEY)
    signable = _json_values("utf-8")  # the city signs UTF-8: no lone surrogates
    args = st.one_of(
        st.fixed_dictionaries(
            {
                "kind": st.sampled_from(["catalogue", "ui_texts", "other"]) | signable,
                "version": st.text(max_size=70) | signable,
                "content": st.text(max_size=200) | st.just(ALIAS_BOMB) | signable,
            }
        ),
        signable.filter(lambda v: isinstance(v, dict)),
    )
    return st.builds(
        lambda kind, a: json.dumps(sign_command(key, make_command(kind, TARGET, a))).encode(),
        st.sampled_from(["ping", "set_config", "run_diagnostics", "restart_kiosk"]),
        args,
    )


@pytest.fixture(scope="module")
def fuzz_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """One agent for every fuzz example, with a bucket that never runs out."""
    made = fresh_agent(tmp_path_factory.mktemp("fuzz") / "kiosk")
    made.intake.rejections = TokenBucket(10**9, 1.0)
    yield made
    made.shutdown()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_raw_messages() | _signed_messages())
def test_fuzz_any_bytes_give_exactly_one_valid_result(fuzz_agent: Agent, payload: bytes) -> None:
    """Through Verifier, actions and outbox: each message stores exactly one valid event.

    A verified run_diagnostics is the one exception: its result waits for the kiosk's
    self-tests (test_commands.py pins that it comes later, exactly once).
    """
    before = fuzz_agent.outbox.depth()
    event = fuzz_agent.handle_command(payload)
    if event is None:
        assert json.loads(payload)["command"]["type"] == "run_diagnostics"
        assert fuzz_agent.outbox.depth() == before
        return
    validate_event(event)
    assert event["type"] == "command.result"
    assert fuzz_agent.outbox.depth() == before + 1


def test_set_config_of_any_kind_refuses_a_yaml_alias_bomb(agent: Agent) -> None:
    """A signed ui_texts document of YAML aliases hits the catalogue's node limit: rejected."""
    assert len(ALIAS_BOMB) < 500
    key = load_private_key(DEV_KEY)
    args = {"kind": "ui_texts", "version": "1", "content": ALIAS_BOMB}
    command = sign_command(key, make_command("set_config", TARGET, args))
    event = agent.handle_command(json.dumps(command).encode())
    assert event is not None
    assert event["data"]["status"] == "rejected"
    assert event["data"]["reason"] == "invalid_payload"
    assert "values" in event["data"]["detail"]["problem"]
    assert not (agent.config.paths.data_dir / "ui-texts.yaml").exists()


def test_set_config_with_a_non_string_kind_is_an_invalid_payload(agent: Agent) -> None:
    """A signed set_config whose kind is a list (unhashable) is rejected, not a TypeError."""
    key = load_private_key(DEV_KEY)
    args = {"kind": ["ui_texts"], "version": "1", "content": "version: '1'\n"}
    command = sign_command(key, make_command("set_config", TARGET, args))
    event = agent.handle_command(json.dumps(command).encode())
    assert event is not None
    assert event["data"]["reason"] == "invalid_payload"
