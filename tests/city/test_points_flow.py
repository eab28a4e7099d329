"""Red points end to end: kiosk client → agent → real Mosquitto → responder → PostgreSQL → back.

Real agents (threads), real `python -m city responder` processes, a private broker and database.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from city.db import connect
from city.points import ledger
from common.ids import uuid7
from config import load_config
from edge_agent.agent import Agent
from kiosk.runtime.points_client import Answer, PointsClient, Resident, new_redemption_id
from testbed.city_workers import write_city_config
from testbed.points import AgentThread, ResponderProcess
from tests.edge_agent.conftest import write_config
from tests.fixtures.broker import MosquittoBroker

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]

ALICE = Resident(subject="c" * 64, key_id="k2026")
CALL_TIMEOUT_S = 20.0


@pytest.fixture
def city_config(
    tmp_path: Path, city_db: str, mosquitto: MosquittoBroker, contract_dir: Path
) -> Path:
    """A city config on this test's broker and database, with a two-reward catalogue."""
    with connect(city_db, autocommit=True) as conn:
        ledger.set_reward(
            conn,
            "haircut",
            title_zh="理发",
            title_en="Haircut",
            points=50,
            stock=None,
            active=True,
            actor="test",
        )
        ledger.set_reward(
            conn,
            "rice",
            title_zh="大米",
            title_en=None,
            points=30,
            stock=5,
            active=True,
            actor="test",
        )
    return write_city_config(
        tmp_path / "city.yaml", db_url=city_db, broker=mosquitto, contract_dir=contract_dir
    )


@pytest.fixture
def responders(tmp_path: Path, city_config: Path) -> Iterator[Callable[[str], ResponderProcess]]:
    """Start responders by id; all stopped afterwards."""
    started: list[ResponderProcess] = []

    def start(responder_id: str) -> ResponderProcess:
        responder = ResponderProcess(
            city_config, tmp_path / f"responder-{responder_id}.log", responder_id=responder_id
        )
        responder.start()
        started.append(responder)
        return responder

    yield start
    for responder in started:
        responder.stop()


@pytest.fixture
def kiosks(tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[Callable[..., PointsClient]]:
    """Start a kiosk's agent (MQTT 5 or 3.1.1); its points client. Agents stopped after."""
    agents: list[AgentThread] = []

    def start(kiosk: str, protocol: str = "5", timeout_s: float = CALL_TIMEOUT_S) -> PointsClient:
        path = write_config(
            tmp_path / kiosk, mosquitto.url, identity={"kiosk": kiosk}, mqtt={"protocol": protocol}
        )
        config = load_config(path, env={})
        running = AgentThread(Agent(config, poll_s=0.01))
        running.start()
        agents.append(running)
        assert running.wait_connected(), f"agent {kiosk} did not connect"
        return PointsClient(config.paths.data_dir, timeout_s=timeout_s)

    yield start
    for running in agents:
        running.stop()


def _earn(city_db: str, points: int, reference: str = "act-1") -> None:
    with connect(city_db, autocommit=True) as conn:
        ledger.earn(
            conn,
            ledger.Resident(ALICE.key_id, ALICE.subject),
            points,
            source="attendance",
            reference=reference,
            actor="test",
        )


def _balance(city_db: str) -> int:
    with connect(city_db, autocommit=True) as conn:
        return ledger.balance(conn, ledger.Resident(ALICE.key_id, ALICE.subject))


def _at_once(*calls: Callable[[], Answer]) -> list[Answer]:
    barrier = threading.Barrier(len(calls))
    results: list[Answer | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], Answer]) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=CALL_TIMEOUT_S * 3)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def test_balance_history_catalogue_and_a_voucher_through_the_agent(
    city_db: str, responders: Callable[[str], ResponderProcess], kiosks: Callable[..., PointsClient]
) -> None:
    """The four calls over MQTT 5, answered from the ledger."""
    responders("r0")
    client = kiosks("k1")
    _earn(city_db, 80)
    balance = client.balance(ALICE)
    assert balance.ok, balance
    assert balance.data == {"balance": 80}
    rewards = client.catalogue()
    assert [r["reward_id"] for r in rewards.data["rewards"]] == ["rice", "haircut"]
    redeemed = client.redeem(ALICE, "haircut", 50, new_redemption_id())
    assert redeemed.ok, redeemed
    assert redeemed.data["balance"] == 30
    history = client.history(ALICE, limit=5)
    assert [(e["kind"], e["points"]) for e in history.data["entries"]] == [
        ("redeem", -50),
        ("earn", 80),
    ]
    refused = client.redeem(ALICE, "haircut", 50, new_redemption_id())
    assert (refused.ok, refused.reason) == (False, "insufficient_points")
    assert "积分不够" in refused.words("zh")


def test_two_kiosks_redeeming_the_same_points_at_once_spend_them_once(
    city_db: str, responders: Callable[[str], ResponderProcess], kiosks: Callable[..., PointsClient]
) -> None:
    """Same card, two kiosks, two responders, a balance that covers one: exactly one succeeds."""
    responders("r0")
    responders("r1")
    k1, k2 = kiosks("k1"), kiosks("k2")
    for round_no in range(3):
        _earn(city_db, 60, reference=f"act-{round_no}")
        answers = _at_once(
            lambda: k1.redeem(ALICE, "haircut", 50, new_redemption_id()),
            lambda: k2.redeem(ALICE, "haircut", 50, new_redemption_id()),
        )
        assert sorted(a.ok for a in answers) == [False, True], answers
        assert [a.reason for a in answers if not a.ok] == ["insufficient_points"]
    assert _balance(city_db) == 3 * 60 - 3 * 50


def test_a_retried_or_duplicated_redemption_spends_once(
    city_db: str, responders: Callable[[str], ResponderProcess], kiosks: Callable[..., PointsClient]
) -> None:
    """One redemption_id retried at one kiosk, duplicated across two: one spend, one voucher."""
    responders("r0")
    responders("r1")
    k1, k2 = kiosks("k1"), kiosks("k2")
    _earn(city_db, 200)
    rid = new_redemption_id()
    first = k1.redeem(ALICE, "haircut", 50, rid)
    retry = k1.redeem(ALICE, "haircut", 50, rid)
    assert first.ok, first
    assert retry.data == first.data
    duplicated = _at_once(*[lambda c=c: c.redeem(ALICE, "rice", 30, rid) for c in (k1, k2, k1)])
    assert {a.reason for a in duplicated} == {"redemption_conflict"}  # same id, other reward
    rid3 = new_redemption_id()
    copies = _at_once(*[lambda c=c: c.redeem(ALICE, "rice", 30, rid3) for c in (k1, k2, k1, k2)])
    assert all(a.ok for a in copies), copies
    assert len({a.data["voucher"] for a in copies}) == 1
    assert _balance(city_db) == 200 - 50 - 30


def test_a_3_1_1_agent_gets_its_answers_too(
    city_db: str, responders: Callable[[str], ResponderProcess], kiosks: Callable[..., PointsClient]
) -> None:
    """mqtt.protocol 3.1.1: reply_to in the payload instead of the MQTT 5 properties."""
    responders("r0")
    old = kiosks("k9", protocol="3.1.1")
    _earn(city_db, 40)
    assert old.balance(ALICE).data == {"balance": 40}
    assert old.redeem(ALICE, "rice", 30, new_redemption_id()).ok


def _waiting_on_a_lock(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND query LIKE '%%FOR UPDATE%%' AND pid <> pg_backend_pid()"
    ).fetchone()
    return bool(row and row[0])


def test_a_responder_killed_mid_call_answers_after_its_restart_and_spends_once(
    city_db: str, responders: Callable[[str], ResponderProcess], kiosks: Callable[..., PointsClient]
) -> None:
    """SIGKILL while the redemption waits on the account's lock; the restart answers the call."""
    responder = responders("r0")
    client = kiosks("k1", timeout_s=45.0)
    _earn(city_db, 100)
    holder = connect(city_db)
    try:
        holder.execute(
            "SELECT 1 FROM points_accounts WHERE subject = %s FOR UPDATE", (ALICE.subject,)
        )
        result: list[Answer] = []
        rid = new_redemption_id()
        caller = threading.Thread(
            target=lambda: result.append(client.redeem(ALICE, "haircut", 50, rid))
        )
        caller.start()
        with connect(city_db, autocommit=True) as watch:
            deadline = time.monotonic() + 20
            while not _waiting_on_a_lock(watch) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _waiting_on_a_lock(watch), responder.output[-2000:]
        responder.kill()
    finally:
        holder.rollback()
        holder.close()
    responder.start()  # the same client id: its session hands the unacknowledged call back
    caller.join(timeout=60)
    assert result, "no answer"
    assert result[0].ok, (result[0], responder.output[-2000:])
    assert _balance(city_db) == 50


def test_no_responder_is_a_timeout_in_plain_words_and_no_broker_is_offline(
    city_db: str, mosquitto: MosquittoBroker, kiosks: Callable[..., PointsClient]
) -> None:
    """Nobody answers: `timeout` at expires_at; the broker gone: `offline`; never an exception."""
    client = kiosks("k1", timeout_s=1.5)
    started = time.monotonic()
    answer = client.balance(ALICE)
    assert (answer.ok, answer.reason) == (False, "timeout")
    assert time.monotonic() - started < 1.5 + 3.5
    assert "稍后再试" in answer.words("zh")
    assert "try again" in answer.words("en")
    mosquitto.stop()
    time.sleep(0.5)
    offline = client.balance(ALICE)
    assert (offline.ok, offline.reason) == (False, "offline")
    mosquitto.start()


def test_hostile_calls_never_stop_the_responder_and_answers_stay_on_the_callers_topic(
    city_db: str,
    mosquitto: MosquittoBroker,
    responders: Callable[[str], ResponderProcess],
    kiosks: Callable[..., PointsClient],
) -> None:
    """Garbage, huge, wrong-shape and misdirected calls; then a normal call is still answered."""
    responder = responders("r0")
    received: list[tuple[str, Any]] = []
    spy = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    spy.on_message = lambda _c, _u, m: received.append((m.topic, json.loads(m.payload)))
    spy.connect(mosquitto.host, mosquitto.port)
    spy.subscribe("gov-kiosk/v1/+/+/+/answers", qos=1)
    spy.loop_start()
    try:
        time.sleep(0.3)
        topic = "gov-kiosk/v1/440300/c1/evil/calls"
        now = time.time()
        good = {
            "call_id": uuid7(),
            "method": "points.balance",
            "issued_at": _ts(now),
            "expires_at": _ts(now + 10),
            "params": {"subject": ALICE.subject, "key_id": ALICE.key_id},
        }
        misdirected = {**good, "call_id": uuid7(), "reply_to": "gov-kiosk/v1/440300/c1/k1/answers"}
        for payload in (
            b"\x00\xff",
            b"[" * 10000,
            b"{}" * 10000,
            b"x" * 100_000,
            b'{"call_id": 1}',
            json.dumps({**good, "call_id": uuid7(), "params": {"subject": 5}}).encode(),
            json.dumps(misdirected).encode(),
        ):
            spy.publish(topic, payload, qos=1).wait_for_publish(5)
        spy.publish("gov-kiosk/v1/x/y/calls", b"{}", qos=1).wait_for_publish(5)
        client = kiosks("k1")
        assert client.balance(ALICE).data == {"balance": 0}
        deadline = time.monotonic() + 10
        while len(received) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        evil = [body for t, body in received if t.endswith("/evil/answers")]
        assert sorted(b["reason"] for b in evil) == ["invalid_call", "invalid_call"]
        assert all(
            t != "gov-kiosk/v1/440300/c1/k1/answers" or b["status"] == "ok" for t, b in received
        )
        assert responder.process is not None
        assert responder.process.poll() is None
    finally:
        spy.loop_stop()
        spy.disconnect()


def _ts(moment: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment))
        + f".{int(moment * 1000) % 1000:03d}Z"
    )


def test_mqtt_5_correlation_data_comes_back_on_the_answer(
    mosquitto: MosquittoBroker, responders: Callable[[str], ResponderProcess]
) -> None:
    """A call with Response Topic and Correlation Data only (no reply_to): the answer copies it."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    responders("r0")
    got: list[tuple[bytes | None, Any]] = []
    kiosk = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    kiosk.on_message = lambda _c, _u, m: got.append(
        (getattr(m.properties, "CorrelationData", None), json.loads(m.payload))
    )
    kiosk.connect(mosquitto.host, mosquitto.port)
    kiosk.subscribe("gov-kiosk/v1/440300/c1/k5/answers", qos=1)
    kiosk.loop_start()
    try:
        time.sleep(0.3)
        now = time.time()
        call_id = uuid7()
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.ResponseTopic = "gov-kiosk/v1/440300/c1/k5/answers"
        properties.CorrelationData = b"corr-" + call_id.encode()
        body = {
            "call_id": call_id,
            "method": "points.catalogue",
            "issued_at": _ts(now),
            "expires_at": _ts(now + 10),
            "params": {},
        }
        kiosk.publish(
            "gov-kiosk/v1/440300/c1/k5/calls",
            json.dumps(body).encode(),
            qos=1,
            properties=properties,
        ).wait_for_publish(5)
        deadline = time.monotonic() + 15
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got, "no answer"
        correlation, answer = got[0]
        assert correlation == b"corr-" + call_id.encode()
        assert answer["call_id"] == call_id
        assert [r["reward_id"] for r in answer["data"]["rewards"]] == ["rice", "haircut"]
    finally:
        kiosk.loop_stop()
        kiosk.disconnect()


def test_a_call_made_while_the_broker_is_down_is_sent_when_it_is_back(
    city_db: str,
    mosquitto: MosquittoBroker,
    responders: Callable[[str], ResponderProcess],
    kiosks: Callable[..., PointsClient],
) -> None:
    """The agent holds the call until it is connected again (or the call expires)."""
    responders("r0")
    client = kiosks("k1", timeout_s=40.0)
    _earn(city_db, 25)
    mosquitto.stop()
    result: list[Answer] = []
    caller = threading.Thread(target=lambda: result.append(client.balance(ALICE)))
    caller.start()
    time.sleep(1.0)
    assert not result
    mosquitto.start()
    caller.join(timeout=60)
    assert result
    assert result[0].data == {"balance": 25}, result[0]


def test_a_kiosk_session_redeems_a_voucher_and_the_balance_drops_once(
    city_db: str, responders: Callable[[str], ResponderProcess], kiosks: Callable[..., PointsClient]
) -> None:
    """The kiosk's own session (kiosk/core) through its PointsPort (the composition root's
    adapter over the client) → a real agent → Mosquitto → a responder → PostgreSQL: the
    overview, confirm, the answer lost on the way back, "try again" with the same
    redemption_id, the voucher; the city spent the points once."""
    from config.privacy import pseudonymise
    from kiosk.core import inputs as i
    from kiosk.core.ports import PointsAnswer, run_points_call
    from kiosk.runtime.points_client import PointsPortAdapter
    from tests.kiosk_core.support import CITY, ID_NUMBER, KEY, card, make_rig

    responders("r0")
    port = PointsPortAdapter(kiosks("k1"))
    rig = make_rig()
    resident = ledger.Resident(rig.settings.pseudonym_key_id, pseudonymise(ID_NUMBER, KEY, CITY))
    with connect(city_db, autocommit=True) as conn:
        ledger.earn(conn, resident, 80, source="volunteering", reference="shift-1", actor="test")
    rig.send(i.StartPoints(), card())
    rig.answer_points(port)
    view = rig.session.views.points
    assert view.balance_text == "您现有积分：80", view
    assert [r.reward_id for r in view.rewards if r.can_choose] == ["rice", "haircut"]
    rig.send(i.ChooseReward("haircut"), i.ConfirmRedeem())
    first = rig.session.take_points_call()
    assert first is not None
    spent = run_points_call(port, first)  # the city redeemed it …
    assert spent.ok, spent
    lost = PointsAnswer(False, {}, "timeout", {"zh": "暂时连不上", "en": "no answer"})
    rig.send(i.PointsAnswered(first.token, lost))  # … but the answer never reached the screen
    assert rig.session.views.points.can_retry
    rig.send(i.PointsRetry())
    (retry,) = rig.answer_points(port)
    assert retry.redemption_id == first.redemption_id
    assert retry.token != first.token
    voucher = rig.session.views.points.voucher
    assert voucher is not None, rig.session.views.points
    assert voucher.code == spent.data["voucher"]
    assert voucher.balance_after_text == "还剩 30 积分"
    with connect(city_db, autocommit=True) as conn:
        assert ledger.balance(conn, resident) == 30
        rows = conn.execute("SELECT count(*) FROM points_entries WHERE kind = 'redeem'").fetchone()
    assert rows == (1,)
