"""Requests against a real private PostgreSQL: request.submitted in through the ingest's own
BatchWriter (and its hook), staff actions through the store, requests.status out."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from city.config import DEFAULT_CONTRACT_DIR, CityConfig, city_config_from_data
from city.contract import Contract, load_contract
from city.ingest_core import after_insert_of
from city.inventory import InventoryKiosk, sync_inventory
from city.messages import Decoded, decode_message
from city.points.calls import Call, load_schemas
from city.points.service import answer_call
from city.requests import store
from city.requests.keys import open_callback
from city.requests.model import TransitionError
from city.store import BatchWriter
from common.ids import uuid7
from testbed.city_events import ROOT, KioskSim, batch
from testbed.console import STAFF, add_staff
from testbed.request_events import RESIDENT, dev_key, request_submitted

pytestmark = pytest.mark.postgres

SCHEMAS = load_schemas(DEFAULT_CONTRACT_DIR)
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
PHONE = "13912345678"


@pytest.fixture(scope="module")
def contract() -> Contract:
    """The compiled contract."""
    return load_contract(DEFAULT_CONTRACT_DIR)


@pytest.fixture
def config(city_db: str) -> CityConfig:
    """A city config on the test's database."""
    return city_config_from_data(
        {"database": {"url": city_db}, "broker": {"url": "mqtt://127.0.0.1:1"}},
        source="test",
        base_dir=Path("."),
        env={},
    )


@pytest.fixture
def conn(city_db: str) -> Iterator[psycopg.Connection]:
    """A connection to the migrated database, with the console's staff accounts."""
    add_staff(city_db)
    with psycopg.connect(city_db) as connection:
        yield connection


class Ingest:
    """Writes messages the way an ingest worker does (its after-insert hook included)."""

    def __init__(self, conn: psycopg.Connection, contract: Contract, config: CityConfig) -> None:
        self.writer = BatchWriter(conn, after_insert=after_insert_of(config))
        self.contract = contract

    def decode(self, sim: KioskSim, *events: dict[str, Any]) -> Decoded:
        return decode_message(
            sim.topic(),
            batch(*events),
            topic_root=ROOT,
            contract=self.contract,
            max_payload_bytes=10**7,
            raw_cap_bytes=4096,
        )

    def send(self, sim: KioskSim, *events: dict[str, Any]) -> Decoded:
        message = self.decode(sim, *events)
        self.writer.write([message], datetime.now(UTC))
        return message


@pytest.fixture
def ingest(conn: psycopg.Connection, contract: Contract, config: CityConfig) -> Ingest:
    """The ingest's writer on `conn`."""
    return Ingest(conn, contract, config)


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_a_request_is_stored_at_ingest_with_its_place_and_history(
    conn: psycopg.Connection, ingest: Ingest
) -> None:
    """kiosk, centre and district come from the topic and the inventory; the phone stays sealed."""
    sync_inventory(
        conn,
        [InventoryKiosk("440300/futian-xmh/k01", district="福田区", opening_hours="08:30-17:30")],
    )
    conn.commit()
    sim = KioskSim()
    event = request_submitted(sim, phone=PHONE, location={"building": "5栋", "unit": "2单元"})
    ingest.send(sim, event)
    data = event["data"]
    row = store.get_request(conn, data["request_id"])
    assert (row.ticket, row.kiosk, row.city, row.centre, row.district) == (
        data["ticket"],
        "440300/futian-xmh/k01",
        "440300",
        "futian-xmh",
        "福田区",
    )
    assert (row.state, row.category, row.location, row.text) == (
        "received",
        "repairs",
        "5栋 2单元",
        "楼道灯坏了",
    )
    assert row.callback_sealed == data["callback"]["sealed"]
    assert (row.key_id, row.subject) == ("k2026", RESIDENT)
    assert row.submitted_at == datetime.fromisoformat(event["ts"].replace("Z", "+00:00"))
    [entry] = store.history(conn, data["request_id"])
    assert (entry.actor, entry.action, entry.from_state, entry.to_state) == (
        "kiosk:440300/futian-xmh/k01",
        "received",
        None,
        "received",
    )
    stored = conn.execute("SELECT row_to_json(r)::text FROM requests r").fetchone()
    assert stored is not None
    assert PHONE not in stored[0]
    sealed = row.callback_sealed or ""
    callback, number = open_callback(dev_key(), sealed, "dev-req", row.request_id)
    assert (callback.masked, number) == ("139****5678", PHONE)


def test_redelivery_and_a_second_event_for_the_same_request_change_nothing(
    conn: psycopg.Connection, ingest: Ingest
) -> None:
    """The same message twice, or a new event with a known request_id: one row, one history."""
    sim = KioskSim()
    event = request_submitted(sim)
    ingest.send(sim, event)
    ingest.send(sim, event)
    again = sim.event("request.submitted", {**event["data"], "text": "另一段话"})
    ingest.send(sim, again)
    assert _count(conn, "requests") == 1
    assert _count(conn, "request_history") == 1
    assert store.get_request(conn, event["data"]["request_id"]).text == "楼道灯坏了"


def test_an_invalid_request_is_quarantined_and_its_batch_neighbours_stored(
    conn: psycopg.Connection, ingest: Ingest
) -> None:
    """A request the contract refuses (a bad ticket, an unsealed phone) never reaches the table."""
    sim = KioskSim()
    good = request_submitted(sim)
    bad_ticket = request_submitted(sim)
    bad_ticket["data"]["ticket"] = "ILOU0-00000"
    clear_phone = request_submitted(sim)
    clear_phone["data"]["callback"] = {"key_id": "dev-req", "phone": PHONE}
    too_long = request_submitted(sim, text="长" * 201)
    message = ingest.send(sim, good, bad_ticket, clear_phone, too_long)
    assert len(message.quarantined) == 3
    assert all(PHONE not in q.reason for q in message.quarantined)
    assert [
        r.request_id for r in store.list_requests(conn, store.InboxFilter("all"), limit=10)
    ] == [good["data"]["request_id"]]
    assert _count(conn, "quarantine") == 3


def test_two_workers_storing_the_same_requests_at_once_store_each_once(
    city_db: str, contract: Contract, config: CityConfig
) -> None:
    """Two ingest workers get overlapping batches concurrently: one row and one history each."""
    sims = [KioskSim(kiosk=f"k{i:02d}") for i in range(4)]
    events = [[request_submitted(sim) for _ in range(25)] for sim in sims]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(order: int) -> None:
        try:
            with psycopg.connect(city_db) as conn:
                ingest = Ingest(conn, contract, config)
                messages = [ingest.decode(sim, *evs) for sim, evs in zip(sims, events, strict=True)]
                barrier.wait()
                ingest.writer.write(messages[::order], datetime.now(UTC))
        except (psycopg.Error, threading.BrokenBarrierError) as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(order,)) for order in (1, -1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    with psycopg.connect(city_db) as conn:
        assert _count(conn, "requests") == 100
        assert _count(conn, "request_history") == 100


def _request(ingest: Ingest, **kwargs: Any) -> str:
    sim = KioskSim()
    event = request_submitted(sim, **kwargs)
    ingest.send(sim, event)
    return str(event["data"]["request_id"])


def test_the_state_machine_through_the_store(conn: psycopg.Connection, ingest: Ingest) -> None:
    """received → assigned → answered → closed, each step in the history; refusals change
    nothing."""
    request_id = _request(ingest)
    operator, admin = STAFF["operator"], STAFF["admin"]
    early: list[Callable[[], object]] = [
        lambda: store.answer(conn, request_id, "好的", actor=operator, now=NOW),
        lambda: store.close(conn, request_id, actor=operator, now=NOW),
    ]
    for refused in early:
        with pytest.raises(TransitionError):
            refused()
        conn.rollback()
    with pytest.raises(store.AssigneeError):
        store.assign(conn, request_id, STAFF["viewer"], actor=operator, now=NOW)
    conn.rollback()
    with pytest.raises(store.AssigneeError):
        store.assign(conn, request_id, "nobody", actor=operator, now=NOW)
    conn.rollback()
    row = store.assign(conn, request_id, operator, actor=admin, now=NOW, note="请尽快")
    assert (row.state, row.assignee) == ("assigned", operator)
    conn.commit()
    with pytest.raises(TransitionError):
        store.close(conn, request_id, actor=operator, now=NOW)
    conn.rollback()
    row = store.answer(
        conn, request_id, "已派人维修。", actor=operator, now=NOW + timedelta(hours=1)
    )
    assert (row.state, row.answer) == ("answered", "已派人维修。")
    row = store.assign(conn, request_id, admin, actor=operator, now=NOW + timedelta(hours=2))
    assert (row.state, row.assignee) == ("answered", admin)
    assert row.updated_at == NOW + timedelta(hours=1)  # re-assigning is no news for the resident
    row = store.answer(conn, request_id, "已修好。", actor=admin, now=NOW + timedelta(hours=3))
    row = store.close(conn, request_id, actor=admin, now=NOW + timedelta(hours=4))
    assert (row.state, row.answer, row.updated_at) == (
        "closed",
        "已修好。",
        NOW + timedelta(hours=4),
    )
    conn.commit()
    late: list[Callable[[], object]] = [
        lambda: store.assign(conn, request_id, operator, actor=operator, now=NOW),
        lambda: store.answer(conn, request_id, "again", actor=operator, now=NOW),
        lambda: store.close(conn, request_id, actor=operator, now=NOW),
    ]
    for action in late:
        with pytest.raises(TransitionError):
            action()
        conn.rollback()
    conn.commit()
    steps = [(h.action, h.from_state, h.to_state, h.actor) for h in store.history(conn, request_id)]
    assert steps == [
        ("received", None, "received", "kiosk:440300/futian-xmh/k01"),
        ("assign", "received", "assigned", admin),
        ("answer", "assigned", "answered", operator),
        ("assign", "answered", "answered", operator),
        ("answer", "answered", "answered", admin),
        ("close", "answered", "closed", admin),
    ]
    assert store.history(conn, request_id)[1].note == "请尽快"
    with pytest.raises(psycopg.errors.RaiseException):
        conn.execute("DELETE FROM request_history")


def test_the_database_refuses_an_answered_request_without_an_answer(
    conn: psycopg.Connection, ingest: Ingest
) -> None:
    """The table's CHECKs back the state machine up: no answered row without its answer."""
    request_id = _request(ingest)
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "UPDATE requests SET state = 'answered', assignee = 'otto' WHERE request_id = %s",
            (request_id,),
        )


def test_inbox_filters_counts_and_the_oldest_waiting(
    conn: psycopg.Connection, ingest: Ingest
) -> None:
    """Counts per state under the other filters; the oldest waiting request's submission."""
    first = _request(ingest, category="repairs")
    second = _request(ingest, category="sanitation")
    third = _request(ingest, category="repairs")
    store.assign(conn, second, STAFF["operator"], actor="t", now=NOW)
    store.assign(conn, third, STAFF["admin"], actor="t", now=NOW)
    store.answer(conn, third, "好", actor="t", now=NOW)
    conn.commit()
    counts = store.state_counts(conn, store.InboxFilter("all"))
    assert (
        counts["received"],
        counts["assigned"],
        counts["answered"],
        counts["open"],
        counts["all"],
    ) == (
        1,
        1,
        1,
        2,
        3,
    )
    repairs = store.InboxFilter("all", category="repairs")
    assert {r.request_id for r in store.list_requests(conn, repairs, limit=10)} == {first, third}
    mine = store.InboxFilter("open", assignee=STAFF["operator"])
    assert [r.request_id for r in store.list_requests(conn, mine, limit=10)] == [second]
    oldest = store.oldest_open(conn, store.InboxFilter("all"))
    assert oldest == store.get_request(conn, first).submitted_at
    ticket = store.get_request(conn, first).ticket
    by_ticket = store.InboxFilter("all", ticket=ticket)
    assert [r.request_id for r in store.list_requests(conn, by_ticket, limit=10)] == [first]
    centre = store.InboxFilter("all", city="440300", centre="futian-xmh")
    assert len(store.list_requests(conn, centre, limit=10)) == 3
    assert store.list_requests(conn, store.InboxFilter("all", centre="elsewhere"), limit=10) == []


def _status_call(subject: str = RESIDENT, **params: Any) -> Call:
    return Call(
        call_id=uuid7(),
        method="requests.status",
        params={"subject": subject, "key_id": "k2026", **params},
        kiosk="440300/futian-xmh/k01",
        answer_topic="gov-kiosk/v1/440300/futian-xmh/k01/answers",
        expires_at=NOW + timedelta(seconds=15),
    )


def test_requests_status_answers_from_the_tables(conn: psycopg.Connection, ingest: Ingest) -> None:
    """The resident's newest requests first, limited, the answer only once answered; nothing
    of another resident, and never the text or the phone."""
    ids = [_request(ingest, phone=PHONE) for _ in range(3)]
    other = _request(ingest, subject="cd" * 32)
    store.assign(conn, ids[0], STAFF["operator"], actor="t", now=NOW)
    store.answer(conn, ids[0], "已修好，谢谢反映。", actor="t", now=NOW)
    store.assign(conn, ids[1], STAFF["operator"], actor="t", now=NOW)
    conn.commit()
    with psycopg.connect(conn.info.dsn, autocommit=True) as responder_conn:
        answer = answer_call(responder_conn, _status_call(), NOW)
        limited = answer_call(responder_conn, _status_call(limit=2), NOW)
        nobody = answer_call(responder_conn, _status_call(subject="ee" * 32), NOW)
    for a in (answer, limited, nobody):
        SCHEMAS.answer.validate(a)
        assert a["status"] == "ok"
    items = answer["data"]["requests"]
    assert [i["request_id"] for i in items] == ids[::-1]
    assert other not in json.dumps(answer)
    states = {i["request_id"]: (i["state"], i.get("answer")) for i in items}
    assert states == {
        ids[0]: ("answered", "已修好，谢谢反映。"),
        ids[1]: ("assigned", None),
        ids[2]: ("received", None),
    }
    assert len(limited["data"]["requests"]) == 2
    assert nobody["data"]["requests"] == []
    text = json.dumps(answer, ensure_ascii=False)
    for secret in (PHONE, "楼道灯坏了", "sealed"):
        assert secret not in text
