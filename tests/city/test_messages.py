"""The message handler: valid events become rows; everything else is quarantined, never raised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from city.config import DEFAULT_CONTRACT_DIR
from city.contract import Contract, load_contract
from city.messages import decode_message, parse_topic
from testbed.city_events import ROOT, KioskSim, batch

CAP = 64


@pytest.fixture(scope="module")
def contract(contract_dir: Path) -> Contract:
    """The kiosk's contract, compiled once."""
    return load_contract(contract_dir)


def _decode(contract: Contract, topic: str, payload: bytes, max_bytes: int = 100_000):  # type: ignore[no-untyped-def]  # helper
    return decode_message(
        topic,
        payload,
        topic_root=ROOT,
        contract=contract,
        max_payload_bytes=max_bytes,
        raw_cap_bytes=CAP,
    )


def test_topics_of_decision_1() -> None:
    """Exactly ROOT/{city}/{centre}/{kiosk}/{events|status}; anything else is not ours."""
    info = parse_topic("gov-kiosk/v1/440300/c/k/events", ROOT)
    assert info is not None
    assert (info.kiosk, info.source) == ("440300/c/k", "events")
    assert parse_topic("gov-kiosk/v1/440300/c/k/status", ROOT) is not None
    for topic in (
        "gov-kiosk/v1/440300/c/events",
        "gov-kiosk/v2/a/b/c/events",
        "gov-kiosk/v1/a/b/c/commands",
        "gov-kiosk/v1/a//c/events",
    ):
        assert parse_topic(topic, ROOT) is None


def test_valid_batch_becomes_rows(contract: Contract) -> None:
    """Every event of a good batch is a row with its stream and the full kiosk id."""
    sim = KioskSim()
    out = _decode(contract, sim.topic(), batch(sim.test_event(), sim.heartbeat()))
    assert out.quarantined == ()
    assert [(r.type, r.stream, r.seq) for r in out.events] == [
        ("test", "main", 1),
        ("heartbeat", "heartbeat", 1),
    ]
    assert out.events[0].kiosk == "440300/futian-xmh/k01"


def test_one_bad_event_does_not_sink_the_batch(contract: Contract) -> None:
    """The bad event is quarantined alone with its index; the good ones are kept."""
    sim = KioskSim()
    bad = {**sim.test_event(), "seq": 0}
    out = _decode(contract, sim.topic(), batch(sim.test_event(), bad, sim.test_event()))
    assert len(out.events) == 2
    (quarantined,) = out.quarantined
    assert quarantined.reason.startswith("events[1]: test schema: seq")


def test_missing_stream_is_main_unless_the_contract_requires_it(contract: Contract) -> None:
    """No `stream` (the older contract) means main; once the envelope requires it, refused."""
    sim = KioskSim()
    old = sim.heartbeat()
    del old["stream"]
    out = _decode(contract, sim.topic(), batch(old))
    envelope = json.loads((DEFAULT_CONTRACT_DIR / "envelope.schema.json").read_text())
    if "stream" in envelope["required"]:
        assert "stream" in out.quarantined[0].reason
    else:
        (row,) = out.events
        assert row.stream == "main"


def test_wrong_stream_is_refused(contract: Contract) -> None:
    """A heartbeat on 'main' or a test event on 'heartbeat' breaks decision 2."""
    sim = KioskSim()
    for event in (
        {**sim.test_event(), "stream": "heartbeat"},
        {**sim.heartbeat(), "stream": "main"},
    ):
        (quarantined,) = _decode(contract, sim.topic(), batch(event)).quarantined
        assert "stream" in quarantined.reason


def test_identity_must_match_the_topic(contract: Contract) -> None:
    """A kiosk cannot publish as another one."""
    sim, other = KioskSim(), KioskSim(kiosk="k99")
    out = _decode(contract, other.topic(), batch(sim.test_event()))
    assert out.quarantined[0].reason.endswith("do not match the topic")


def test_presence_on_status_topic(contract: Contract) -> None:
    """The status topic carries one presence event, not a batch."""
    sim = KioskSim()
    payload = json.dumps(sim.presence("online")).encode()
    (row,) = _decode(contract, sim.topic("status"), payload).events
    assert (row.type, row.source) == ("agent.online", "status")
    wrong = _decode(contract, sim.topic(), batch(sim.presence("offline")))
    assert "status topic" in wrong.quarantined[0].reason


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"{", "not JSON"),
        (b"[]", "a batch is"),
        (b'{"events": []}', "holds 1..10000"),
        (b"[" * 100_000 + b"]" * 100_000, "too"),
    ],
)
def test_unreadable_payloads_are_quarantined(
    contract: Contract, payload: bytes, reason: str
) -> None:
    """Garbage gets a reason and capped raw bytes."""
    out = _decode(contract, KioskSim().topic(), payload, max_bytes=10**6)
    (quarantined,) = out.quarantined
    assert reason in quarantined.reason
    assert len(quarantined.raw) <= CAP
    assert quarantined.raw_size == len(payload)


def test_oversized_payload(contract: Contract) -> None:
    """Past the bound the payload is not even parsed."""
    out = _decode(contract, KioskSim().topic(), b" " * 2000, max_bytes=1000)
    assert "exceeds 1000" in out.quarantined[0].reason


def test_unstorable_values_are_quarantined(contract: Contract) -> None:
    """NUL characters, impossible dates and huge seqs would make PostgreSQL refuse the batch."""
    sim = KioskSim()
    events = [
        {**sim.test_event(), "data": {"note": "a\x00b"}},
        {**sim.test_event(), "ts": "2026-13-45T99:00:00.000Z"},
        {**sim.test_event(), "seq": 2**64},
    ]
    out = _decode(contract, sim.topic(), batch(*events))
    assert out.events == ()
    assert len(out.quarantined) == 3


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    topic=st.sampled_from([KioskSim().topic(), KioskSim().topic("status"), "x/y"])
    | st.text(max_size=40),
    payload=st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.builds(
        lambda ev, key, value: batch({**ev, key: value}),
        st.builds(lambda: KioskSim().test_event()),
        st.sampled_from(["id", "seq", "ts", "data", "type", "stream", "kiosk", "schema"]),
        json_values,
    ),
)
def test_handler_never_raises_and_loses_nothing(
    contract: Contract, topic: str, payload: bytes
) -> None:
    """Any topic and payload: no exception, and something is stored or quarantined."""
    out = _decode(contract, topic, payload)
    assert out.events or out.quarantined
    for quarantined in out.quarantined:
        assert len(quarantined.raw) <= CAP
        assert quarantined.reason
