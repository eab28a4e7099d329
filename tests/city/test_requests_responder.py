"""`requests.status` as the responder reads and answers it: checked calls (hostile ones too),
then end to end: a kiosk's MQTT 5 or 3.1.1 call → real Mosquitto → `python -m city responder`
→ the requests tables in PostgreSQL → the answer on the kiosk's own topic."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from city.config import DEFAULT_CONTRACT_DIR
from city.points.calls import Call, Refusal, error_answer, load_schemas, parse_call
from city.requests import store
from common.ids import uuid7
from testbed.city_events import KioskSim, batch
from testbed.city_workers import Publisher, WorkerProcess, wait_for, write_city_config
from testbed.console import STAFF, add_staff
from testbed.points import ResponderProcess
from testbed.request_events import file_request, request_submitted
from tests.fixtures.broker import MosquittoBroker

SCHEMAS = load_schemas(DEFAULT_CONTRACT_DIR)
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
TOPIC = "gov-kiosk/v1/440300/futian-xmh/k01/calls"
ANSWERS = "gov-kiosk/v1/440300/futian-xmh/k01/answers"
SUBJECT = "ab" * 32
PHONE = "13912345678"


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _call(now: datetime = NOW, **params: Any) -> dict[str, Any]:
    return {
        "call_id": uuid7(),
        "method": "requests.status",
        "issued_at": _ts(now),
        "expires_at": _ts(now + timedelta(seconds=15)),
        "params": {"subject": SUBJECT, "key_id": "k2026", **params},
    }


def _parse(body: dict[str, Any], response_topic: str | None = None) -> object:
    return parse_call(
        json.dumps(body).encode(),
        TOPIC,
        schemas=SCHEMAS,
        now=NOW,
        max_bytes=8192,
        response_topic=response_topic,
    )


def test_a_status_call_parses_and_hostile_ones_are_refused_with_the_method_named() -> None:
    """Limits 1-20 only, the pseudonym's shape, no extra params, no misdirected answers."""
    for limit in (None, 1, 20):
        body = _call() if limit is None else _call(limit=limit)
        assert isinstance(_parse(body), Call)
    hostile = [
        _call(limit=0),
        _call(limit=21),
        _call(limit="5"),
        _call(limit=2**40),
        _call(subject="AB" * 32),
        _call(subject="' OR 1=1 --"),
        _call(ticket="7K2MQ-9XD3F"),
        {**_call(), "params": {"key_id": "k2026"}},
        {**_call(), "reply_to": "gov-kiosk/v1/440300/futian-xmh/k02/answers"},
    ]
    for body in hostile:
        refused = _parse(body)
        assert isinstance(refused, Refusal), body
        assert refused.answer_topic == ANSWERS
        answer = error_answer(body["call_id"], refused.method, "invalid_call", NOW)
        SCHEMAS.answer.validate(answer)
        assert answer["method"] == "requests.status"
    elsewhere = _parse(_call(), response_topic="gov-kiosk/v1/440300/futian-xmh/k02/answers")
    assert isinstance(elsewhere, Refusal)
    huge = _parse(_call(limit=2**70))  # past the number cap: not read, so not answered
    assert isinstance(huge, Refusal)
    assert huge.answer_topic is None


@given(
    st.dictionaries(
        st.sampled_from(["subject", "key_id", "limit", "ticket", "request_id"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=70), st.booleans()),
    )
)
def test_any_params_are_a_call_or_a_refusal(params: dict[str, Any]) -> None:
    """Whatever the params, parse_call answers with a Call or a Refusal, never an exception."""
    body = {**_call(), "params": params}
    assert isinstance(_parse(body), Call | Refusal)


# end to end ---------------------------------------------------------------------------------


@pytest.fixture
def city_config(
    tmp_path: Path, city_db: str, mosquitto: MosquittoBroker, contract_dir: Path
) -> Path:
    """A city config on this test's broker and database."""
    add_staff(city_db)
    return write_city_config(
        tmp_path / "city.yaml", db_url=city_db, broker=mosquitto, contract_dir=contract_dir
    )


@pytest.fixture
def responder(tmp_path: Path, city_config: Path) -> Iterator[ResponderProcess]:
    """One `python -m city responder`."""
    process = ResponderProcess(city_config, tmp_path / "responder.log", responder_id="r0")
    process.start()
    yield process
    process.stop()


class Kiosk:
    """A raw MQTT client standing in for a kiosk's agent (MQTT 5 or 3.1.1)."""

    def __init__(self, broker: MosquittoBroker, kiosk: str, protocol: MQTTProtocolVersion) -> None:
        self.calls = f"gov-kiosk/v1/440300/futian-xmh/{kiosk}/calls"
        self.answers = f"gov-kiosk/v1/440300/futian-xmh/{kiosk}/answers"
        self.protocol = protocol
        self.got: list[dict[str, Any]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
        self.client.on_message = lambda _c, _u, m: self.got.append(json.loads(m.payload))
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(self.answers, qos=1)
        self.client.loop_start()
        time.sleep(0.3)

    def call(self, body: dict[str, Any] | bytes) -> None:
        if isinstance(body, dict) and self.protocol == mqtt.MQTTv311:
            body = {**body, "reply_to": self.answers}
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        properties = None
        if self.protocol == mqtt.MQTTv5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.ResponseTopic = self.answers
        self.client.publish(self.calls, payload, qos=1, properties=properties).wait_for_publish(5)

    def answer_to(self, call_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for answer in self.got:
                if answer.get("call_id") == call_id:
                    return answer
            time.sleep(0.05)
        raise AssertionError(f"no answer to {call_id}")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _live_call(**params: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return _call(now, **params)


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.slow
def test_a_resident_sees_their_requests_states_at_any_kiosk_over_5_and_3_1_1(
    city_db: str, mosquitto: MosquittoBroker, responder: ResponderProcess
) -> None:
    """Filed at one kiosk, worked on at the city, asked from two others: newest first, the
    answer once answered, nothing of another resident, never the text or the phone."""
    filed = [file_request(city_db, phone=PHONE, subject=SUBJECT)["data"] for _ in range(3)]
    file_request(city_db, subject="cd" * 32)
    with psycopg.connect(city_db) as conn:
        store.assign(conn, filed[0]["request_id"], STAFF["operator"], actor="t", now=NOW)
        store.answer(conn, filed[0]["request_id"], "已修好，谢谢。", actor="t", now=NOW)
    five, old = Kiosk(mosquitto, "k02", mqtt.MQTTv5), Kiosk(mosquitto, "k03", mqtt.MQTTv311)
    try:
        for kiosk in (five, old):
            body = _live_call()
            kiosk.call(body)
            answer = kiosk.answer_to(body["call_id"])
            SCHEMAS.answer.validate(answer)
            assert answer["status"] == "ok"
            items = answer["data"]["requests"]
            assert [i["request_id"] for i in items] == [f["request_id"] for f in filed[::-1]]
            assert [i["ticket"] for i in items] == [f["ticket"] for f in filed[::-1]]
            assert items[-1]["state"] == "answered"
            assert items[-1]["answer"] == "已修好，谢谢。"
            assert all("answer" not in i for i in items[:-1])
            text = json.dumps(answer, ensure_ascii=False)
            for secret in (PHONE, "楼道灯坏了", "sealed", "cd" * 32):
                assert secret not in text
        limited = _live_call(limit=1)
        five.call(limited)
        assert len(five.answer_to(limited["call_id"])["data"]["requests"]) == 1
    finally:
        five.close()
        old.close()
    assert PHONE not in responder.log_path.read_text()


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.slow
def test_hostile_status_calls_get_invalid_call_and_the_responder_keeps_answering(
    city_db: str, mosquitto: MosquittoBroker, responder: ResponderProcess
) -> None:
    """Junk, a limit past 20, a misdirected reply_to, an injection in the subject: refused on
    the caller's own topic; the next good call is still answered."""
    file_request(city_db, subject=SUBJECT)
    kiosk = Kiosk(mosquitto, "k04", mqtt.MQTTv311)
    try:
        bad = [
            _live_call(limit=500),
            _live_call(subject="x' OR '1'='1"),
            {**_live_call(), "reply_to": "gov-kiosk/v1/440300/futian-xmh/k01/answers"},
        ]
        kiosk.client.publish(kiosk.calls, b"{" * 5000, qos=1).wait_for_publish(5)
        for body in bad:
            payload = json.dumps(body).encode()  # reply_to as given (the misdirected one stays)
            if "reply_to" not in body:
                payload = json.dumps({**body, "reply_to": kiosk.answers}).encode()
            kiosk.call(payload)
        for body in bad:
            answer = kiosk.answer_to(body["call_id"])
            SCHEMAS.answer.validate(answer)
            assert (answer["status"], answer["reason"], answer["method"]) == (
                "error",
                "invalid_call",
                "requests.status",
            )
        good = _live_call()
        kiosk.call(good)
        answer = kiosk.answer_to(good["call_id"])
        assert answer["status"] == "ok"
        assert len(answer["data"]["requests"]) == 1
        assert responder.process is not None
        assert responder.process.poll() is None
    finally:
        kiosk.close()


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.slow
def test_the_whole_loop_through_real_ingest_workers_and_the_responder(
    city_db: str,
    mosquitto: MosquittoBroker,
    city_config: Path,
    responder: ResponderProcess,
    tmp_path: Path,
) -> None:
    """Kiosks publish request.submitted (one twice) → two `python -m city ingest` workers →
    one row each → an operator answers → the resident asks at another kiosk and reads it."""
    workers = [
        WorkerProcess(city_config, tmp_path / f"ingest-{n}.log", worker_id=f"w{n}") for n in (0, 1)
    ]
    for worker in workers:
        worker.start()
    publisher = Publisher(mosquitto)
    try:
        sims = [KioskSim(centre="futian-xmh", kiosk=f"k1{i}") for i in range(3)]
        events = [request_submitted(sim, phone=PHONE, subject=SUBJECT) for sim in sims]
        for sim, event in zip(sims, events, strict=True):
            publisher.publish(sim.topic(), batch(event))
        publisher.publish(sims[0].topic(), batch(events[0]))  # redelivered
        wait_for(city_db, "SELECT count(*) FROM request_history", 3)
        wait_for(city_db, "SELECT count(*) FROM events WHERE type = 'request.submitted'", 3)
        first = events[0]["data"]["request_id"]
        with psycopg.connect(city_db) as conn:
            store.assign(conn, first, STAFF["operator"], actor="t", now=NOW)
            store.answer(conn, first, "已派人维修。", actor="t", now=NOW)
        kiosk = Kiosk(mosquitto, "k19", mqtt.MQTTv5)
        try:
            body = _live_call()
            kiosk.call(body)
            answer = kiosk.answer_to(body["call_id"])
        finally:
            kiosk.close()
        SCHEMAS.answer.validate(answer)
        states = {
            i["request_id"]: (i["state"], i.get("answer")) for i in answer["data"]["requests"]
        }
        assert states[first] == ("answered", "已派人维修。")
        assert sorted(states) == sorted(e["data"]["request_id"] for e in events)
    finally:
        publisher.close()
        for worker in workers:
            worker.stop()
    for log in [*tmp_path.glob("ingest-*.log"), responder.log_path]:
        assert PHONE not in log.read_text()


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.slow
def test_the_kiosks_own_client_reads_the_citys_answer(
    city_db: str, mosquitto: MosquittoBroker, responder: ResponderProcess, tmp_path: Path
) -> None:
    """The kiosk's `ask_status` (kiosk/runtime/resident_requests.py) through a real agent gets
    the city's states and answer, parsed by the kiosk's own reader."""
    from config import load_config
    from edge_agent.agent import Agent
    from kiosk.core.resident_requests import StatusCall
    from kiosk.runtime.points_client import PointsClient
    from kiosk.runtime.resident_requests import ask_status
    from testbed.points import AgentThread
    from tests.edge_agent.conftest import write_config

    filed = file_request(city_db, subject=SUBJECT)["data"]
    with psycopg.connect(city_db) as conn:
        store.assign(conn, filed["request_id"], STAFF["operator"], actor="t", now=NOW)
        store.answer(conn, filed["request_id"], "已派人维修。", actor="t", now=NOW)
    path = write_config(tmp_path / "kiosk", mosquitto.url, identity={"kiosk": "k20"})
    config = load_config(path, env={})
    agent = AgentThread(Agent(config, poll_s=0.01))
    agent.start()
    try:
        assert agent.wait_connected(), "the agent did not connect"
        client = PointsClient(config.paths.data_dir, timeout_s=20.0)
        answered = ask_status(client, StatusCall("session-token", SUBJECT, "k2026"))
    finally:
        agent.stop()
    assert answered.ok, answered.reason
    [mine] = answered.requests
    assert (mine.request_id, mine.ticket, mine.state, mine.answer) == (
        filed["request_id"],
        filed["ticket"],
        "answered",
        "已派人维修。",
    )
