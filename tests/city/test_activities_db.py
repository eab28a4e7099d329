"""Sign-ups allocated in the ingest transaction against the real private PostgreSQL: events go
through the real decoder and BatchWriter with the ingest's hooks (city/ingest_core.py), the
answers through the real dispatcher, checked with the kiosk's own verifier; the pushed
activities document through the kiosk's own validator."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from city.activities.publishing import DocumentRefused, publish_centre, republish_due
from city.activities.roster import confirm, mark_attended, refuse, roster
from city.activities.service import cancel_activity
from city.commands import Dispatcher
from city.config import CityConfig, city_config_from_data
from city.contract import Contract, load_contract
from city.ingest_core import after_insert_of
from city.messages import decode_message
from city.points.ledger import Resident, balance
from city.signing import load_signing_key
from city.store import BatchWriter
from common.kiosk_agent import parse_signup_result
from config.activities import activities_from_bytes
from edge_agent.commands import Verifier, load_public_key
from testbed.city_events import KioskSim, ts, uuid7
from tests.edge_agent.conftest import DEV_KEY, DEV_PUBLIC_KEY

pytestmark = [pytest.mark.postgres]

ROOT = "gov-kiosk/v1"
NOW = datetime.now(UTC).replace(microsecond=0)


def subject(n: int) -> str:
    return f"{n:064x}"


class Captured:
    """A transport that keeps what the dispatcher publishes."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.messages.append((topic, payload))


class City:
    """The ingest writer (with the production hooks), a dispatcher, helpers to send events."""

    def __init__(self, config: CityConfig, conn: psycopg.Connection, contract: Contract) -> None:
        self.config = config
        self.conn = conn
        self.contract = contract
        self.writer = BatchWriter(conn, after_insert=after_insert_of(config))
        self.transport = Captured()
        self.dispatcher = Dispatcher(config, load_signing_key(DEV_KEY), self.transport)

    def feed(self, sim: KioskSim, *events: dict[str, Any], channel: str = "events") -> None:
        payload = {"events": list(events)} if channel == "events" else events[0]
        decoded = decode_message(
            sim.topic(channel),
            json.dumps(payload).encode(),
            topic_root=ROOT,
            contract=self.contract,
            max_payload_bytes=10**7,
            raw_cap_bytes=100,
        )
        assert decoded.quarantined == (), decoded.quarantined
        self.writer.write([decoded], datetime.now(UTC))

    def states(self, activity: str = "tai-chi") -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT signup_id::text, state FROM activity_signups WHERE activity_id = %s",
            (activity,),
        ).fetchall()
        self.conn.commit()
        return dict(rows)

    def confirmed(self, activity: str = "tai-chi") -> int:
        row = self.conn.execute(
            "SELECT confirmed FROM activities WHERE id = %s", (activity,)
        ).fetchone()
        self.conn.commit()
        assert row is not None
        return int(row[0])

    def commands(self, kind: str = "activity_signup_result") -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT kiosk, args, state FROM commands WHERE type = %s ORDER BY created_at",
            (kind,),
        ).fetchall()
        self.conn.commit()
        return [{"kiosk": k, "args": a, "state": s} for k, a, s in rows]


def signup_event(sim: KioskSim, n: int, at: datetime, *, activity: str = "tai-chi",
                 resident: int | None = None) -> dict[str, Any]:  # fmt: skip
    data = {
        "signup_id": uuid7(),
        "activity_id": activity,
        "activities_version": "act-c1-1",
        "subject": subject(resident if resident is not None else n),
        "key_id": "k2026",
        "session_id": "0193f1c2-7a4b-7c3d-8e5f-0123456789ab",
    }
    return sim.event("activity.signup", data, ts=ts(at))


def cancel_event(sim: KioskSim, signup: dict[str, Any], at: datetime) -> dict[str, Any]:
    data = {k: v for k, v in signup["data"].items() if k != "activities_version"}
    return sim.event("activity.cancelled", data, ts=ts(at))


def add_activity(conn: psycopg.Connection, activity_id: str = "tai-chi", *, capacity: int = 3,
                 centre: str = "c1", points: int = 0, approval: str = "auto",
                 starts: datetime | None = None) -> None:  # fmt: skip
    starts = starts or NOW + timedelta(days=2)
    conn.execute(
        "INSERT INTO activities (id, city, centre, title_zh, title_en, place_zh, place_en,"
        " organiser_zh, organiser_en, audience_zh, audience_en, starts_at, ends_at, capacity,"
        " points, approval, state, published_at, created_by, updated_by) VALUES (%s, '440300',"
        " %s, '太极拳晨练', 'Morning tai chi', '活动室', 'Activity room', '老年协会',"
        " 'Seniors', '60岁以上居民', 'Residents aged 60+', %s, %s, %s, %s, %s, 'published',"
        " now(), 'test', 'test')",
        (activity_id, centre, starts, starts + timedelta(hours=1), capacity, points, approval),
    )
    conn.commit()


@pytest.fixture
def config(city_db: str, contract_dir: Path) -> CityConfig:
    return city_config_from_data(
        {
            "database": {"url": city_db},
            "broker": {"url": "mqtt://127.0.0.1:1"},  # never connected: a captured transport
            "contract_dir": str(contract_dir),
            "publishing": {"command_ttl_s": 60, "max_attempts": 3},
        },
        source="test",
        base_dir=Path("."),
        env={},
    )


@pytest.fixture(scope="module")
def contract() -> Contract:
    from city.config import DEFAULT_CONTRACT_DIR

    return load_contract(DEFAULT_CONTRACT_DIR)


@pytest.fixture
def city(config: CityConfig, contract: Contract) -> Iterator[City]:
    with psycopg.connect(config.database.url) as conn:
        yield City(config, conn, contract)


def test_fcfs_with_a_late_offline_batch(city: City) -> None:
    """Two online sign-ups take two places; an offline kiosk's batch arrives later with older
    times: its residents get what is left in the order they signed up, nobody is bumped."""
    add_activity(city.conn, capacity=4)
    online, offline = KioskSim(centre="c1", kiosk="k1"), KioskSim(centre="c1", kiosk="k2")
    first = signup_event(online, 1, NOW - timedelta(minutes=10))
    second = signup_event(online, 2, NOW - timedelta(minutes=9))
    city.feed(online, first, second)
    # the offline kiosk's residents signed up an hour earlier; the later of them sorts last
    late = [signup_event(offline, n, NOW - timedelta(minutes=70 - n)) for n in (3, 4, 5)]
    city.feed(offline, late[2], late[0], late[1])  # packed batches interleave
    states = city.states()
    assert states[first["data"]["signup_id"]] == states[second["data"]["signup_id"]] == "confirmed"
    assert [states[e["data"]["signup_id"]] for e in late] == ["confirmed", "confirmed", "refused"]
    assert city.confirmed() == 4
    rows = roster(city.conn, "tai-chi")
    assert [r["signup_id"] for r in rows][:3] == [e["data"]["signup_id"] for e in late]
    refused = next(r for r in rows if r["state"] == "refused")
    assert refused["reason"].startswith("名额已满")
    assert refused["decided_by"] == "auto"


def test_capacity_edge_and_redelivery_and_duplicates(city: City) -> None:
    """Exactly capacity confirmed; a redelivered batch changes nothing and sends nothing; the
    same pseudonym twice gets one place."""
    add_activity(city.conn, capacity=2)
    sim = KioskSim(centre="c1", kiosk="k1")
    one = signup_event(sim, 1, NOW - timedelta(minutes=5))
    twice = signup_event(sim, 2, NOW - timedelta(minutes=4), resident=1)
    two = signup_event(sim, 3, NOW - timedelta(minutes=3))
    three = signup_event(sim, 4, NOW - timedelta(minutes=2))
    city.feed(sim, one, twice, two, three)
    states = city.states()
    assert [states[e["data"]["signup_id"]] for e in (one, twice, two, three)] == [
        "confirmed", "refused", "confirmed", "refused",
    ]  # fmt: skip
    sent = city.commands()
    city.feed(sim, one, twice, two, three)  # the broker redelivers the whole batch
    assert city.commands() == sent
    assert city.confirmed() == 2
    reasons = {c["args"]["signup_id"]: c["args"].get("reason", "") for c in sent}
    assert reasons[twice["data"]["signup_id"]].startswith("您已报名")
    assert reasons[three["data"]["signup_id"]].startswith("名额已满")
    assert all(c["kiosk"] == sim.full_id for c in sent)
    assert all(parse_signup_result(c["args"]) is not None for c in sent)  # the kiosk's parser


def test_cancellation_frees_a_place_and_schedules_a_push(city: City) -> None:
    """A confirmed resident cancels: the place is free for the next sign-up; a cancellation
    that overtakes its sign-up leaves it cancelled and takes no place."""
    add_activity(city.conn, capacity=1)
    sim = KioskSim(centre="c1", kiosk="k1")
    first = signup_event(sim, 1, NOW - timedelta(minutes=5))
    city.feed(sim, first)
    city.conn.execute("UPDATE activities SET places_changed_at = NULL")
    city.feed(sim, cancel_event(sim, first, NOW - timedelta(minutes=4)))
    assert city.confirmed() == 0
    changed = city.conn.execute("SELECT places_changed_at FROM activities").fetchone()
    assert changed is not None
    assert changed[0] is not None
    overtaken = signup_event(sim, 2, NOW - timedelta(minutes=3))
    city.feed(sim, cancel_event(sim, overtaken, NOW - timedelta(minutes=2)))
    city.feed(sim, overtaken)
    assert city.states()[overtaken["data"]["signup_id"]] == "cancelled"
    third = signup_event(sim, 3, NOW - timedelta(minutes=1))
    city.feed(sim, third)
    assert city.states()[third["data"]["signup_id"]] == "confirmed"
    assert city.confirmed() == 1


def test_unknown_and_other_centre_signups_are_refused_and_answered(city: City) -> None:
    """An unknown activity and one of another centre: refused in plain words, answered."""
    add_activity(city.conn, capacity=5, centre="c2")
    sim = KioskSim(centre="c1", kiosk="k1")
    unknown = signup_event(sim, 1, NOW, activity="nothing")
    elsewhere = signup_event(sim, 2, NOW)
    city.feed(sim, unknown, elsewhere)
    answers = {c["args"]["signup_id"]: c["args"] for c in city.commands()}
    assert answers[unknown["data"]["signup_id"]]["outcome"] == "refused"
    assert "没有找到" in answers[unknown["data"]["signup_id"]]["reason"]
    assert "不在本中心" in answers[elsewhere["data"]["signup_id"]]["reason"]


def test_concurrent_workers_race_for_the_last_places(city: City, config: CityConfig) -> None:
    """Twelve ingest writers on their own connections, released together, each with a sign-up
    for an activity of three places: exactly three are confirmed, twelve answers queued."""
    add_activity(city.conn, capacity=3)
    writers = []
    sims = [KioskSim(centre="c1", kiosk=f"k{n}") for n in range(12)]
    for sim in sims:  # the kiosks exist first (their first event), as in the field
        city.feed(sim, sim.test_event())
    for _ in sims:
        conn = psycopg.connect(config.database.url)
        writers.append((conn, BatchWriter(conn, after_insert=after_insert_of(config))))
    decoded = [
        decode_message(
            sim.topic(),
            json.dumps({"events": [signup_event(sim, n, NOW - timedelta(seconds=n))]}).encode(),
            topic_root=ROOT,
            contract=city.contract,
            max_payload_bytes=10**7,
            raw_cap_bytes=100,
        )
        for n, sim in enumerate(sims)
    ]
    barrier = threading.Barrier(len(writers))
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            writers[index][1].write([decoded[index]], datetime.now(UTC))
        except BaseException as exc:  # noqa: BLE001 — reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(writers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for conn, _ in writers:
        conn.close()
    assert errors == []
    states = list(city.states().values())
    assert states.count("confirmed") == 3 == city.confirmed()
    assert states.count("refused") == 9
    assert len(city.commands()) == 12


def test_answers_are_signed_waiting_while_offline_and_resent_after_a_reconnect(city: City) -> None:
    """The answer waits while the kiosk is offline, is sent signed when it is online (the
    kiosk's verifier accepts it), and is sent again as a new attempt after a reconnect."""
    add_activity(city.conn, capacity=1)
    sim = KioskSim(centre="c1", kiosk="k1")
    city.feed(sim, sim.presence("online"), channel="status")
    city.feed(sim, sim.presence("offline"), channel="status")
    event = signup_event(sim, 1, NOW)
    city.feed(sim, event)
    later = datetime.now(UTC) + timedelta(seconds=120)  # past the TTL: still waiting
    city.dispatcher.clock = lambda: later
    assert city.dispatcher.tick(city.conn).sent == 0
    assert [c["state"] for c in city.commands()] == ["waiting"]
    city.feed(sim, sim.presence("online"), channel="status")
    city.dispatcher.clock = lambda: datetime.now(UTC)
    assert city.dispatcher.tick(city.conn).sent == 1
    topic, payload = city.transport.messages[-1]
    assert topic == f"{ROOT}/{sim.full_id}/commands"
    verifier = Verifier(load_public_key(DEV_PUBLIC_KEY, None), sim.full_id, 60, lambda *_: True)
    command = verifier.verify(payload, datetime.now(UTC).timestamp())
    assert command["type"] == "activity_signup_result"
    assert command["args"] == {"signup_id": event["data"]["signup_id"], "outcome": "confirmed"}
    expired = datetime.now(UTC) + timedelta(seconds=61)
    city.dispatcher.clock = lambda: expired
    assert city.dispatcher.tick(city.conn).expired == 1
    city.feed(sim, sim.presence("online"), channel="status")  # reconnected
    report = city.dispatcher.tick(city.conn)
    assert (report.resent, report.sent) == (1, 1)
    resent = verifier.verify(city.transport.messages[-1][1], expired.timestamp())
    assert resent["id"] != command["id"]
    assert resent["args"] == command["args"]


def test_staff_decisions_supersede_and_attendance_credits_once(city: City) -> None:
    """Staff approval: requested until confirmed; a refusal frees the place with the staff's
    words; attendance credits the activity's points once."""
    add_activity(city.conn, capacity=1, points=15, approval="staff")
    sim = KioskSim(centre="c1", kiosk="k1")
    a, b = signup_event(sim, 1, NOW - timedelta(minutes=2)), signup_event(sim, 2, NOW)
    city.feed(sim, a, b)
    assert set(city.states().values()) == {"requested"}
    assert city.commands() == []
    a_id, b_id = a["data"]["signup_id"], b["data"]["signup_id"]
    confirm(city.conn, "tai-chi", a_id, by="otto")
    city.conn.commit()
    with pytest.raises(ValueError, match=r"activities\.error\.full"):
        confirm(city.conn, "tai-chi", b_id, by="otto")
    city.conn.rollback()
    refuse(city.conn, "tai-chi", a_id, by="otto", reason="请到服务台\n(see the desk)\t")
    city.conn.commit()  # each staff action is one request (created_at is the transaction's)
    confirm(city.conn, "tai-chi", b_id, by="otto")
    city.conn.commit()
    answers = city.commands()
    assert [(c["args"]["signup_id"], c["args"]["outcome"]) for c in answers] == [
        (a_id, "confirmed"), (a_id, "refused"), (b_id, "confirmed"),
    ]  # fmt: skip
    assert answers[1]["args"]["reason"] == "请到服务台 (see the desk)"  # one printable line
    assert parse_signup_result(answers[1]["args"]) is not None  # what the kiosk accepts
    # the undelivered first answer to a was superseded by the second
    assert [c["state"] for c in answers] == ["cancelled", "waiting", "waiting"]
    assert mark_attended(city.conn, "tai-chi", b_id, by="otto") == (True, 15)
    assert mark_attended(city.conn, "tai-chi", b_id, by="otto") == (False, 0)
    city.conn.commit()
    assert balance(city.conn, Resident("k2026", subject(2))) == 15


def test_the_pushed_document_passes_the_kiosk_validator_and_is_debounced(city: City) -> None:
    """publish_centre queues one set_config per kiosk of the centre with places_left from the
    allocation; a places change is pushed again only after the interval."""
    add_activity(city.conn, capacity=3)
    add_activity(city.conn, "calligraphy", capacity=5)
    sims = [KioskSim(centre="c1", kiosk="k1"), KioskSim(centre="c1", kiosk="k2")]
    for sim in sims:
        city.feed(sim, sim.test_event())
    city.feed(sims[0], signup_event(sims[0], 1, NOW - timedelta(minutes=1)))
    publication = publish_centre(city.conn, "440300", "c1", by="otto")
    city.conn.commit()
    assert publication is not None
    assert publication.kiosks == 2
    content = city.conn.execute(
        "SELECT content FROM config_documents WHERE id = %s", (publication.document_id,)
    ).fetchone()
    assert content is not None
    document = activities_from_bytes(content[0].encode(), "pushed")
    assert document.version == publication.version
    assert {a.id: a.places_left for a in document.activities} == {"tai-chi": 2, "calligraphy": 5}
    pushes = city.commands("set_config")
    assert len(pushes) == 2
    assert all(p["args"]["kind"] == "activities" for p in pushes)
    assert republish_due(city.conn, NOW + timedelta(seconds=1)) == []  # nothing changed
    city.feed(sims[1], signup_event(sims[1], 2, NOW))
    assert republish_due(city.conn, datetime.now(UTC) + timedelta(seconds=5)) == []  # too soon
    again = republish_due(city.conn, datetime.now(UTC) + timedelta(seconds=31))
    assert len(again) == 1
    pushes = city.commands("set_config")
    assert [p["state"] for p in pushes] == ["cancelled", "cancelled", "waiting", "waiting"]
    assert cancel_activity(city.conn, "tai-chi", by="otto") == 2
    final = publish_centre(city.conn, "440300", "c1", by="otto")
    city.conn.commit()
    assert final is not None
    text = city.conn.execute(
        "SELECT content FROM config_documents WHERE id = %s", (final.document_id,)
    ).fetchone()
    assert text is not None
    cancelled = activities_from_bytes(text[0].encode(), "pushed").get("tai-chi")
    assert cancelled is not None
    assert cancelled.places_left == 0
    assert cancelled.title.zh.endswith("（已取消）")


def test_the_agent_applies_what_the_dispatcher_sends(city: City, tmp_path: Path) -> None:
    """The signed set_config and the answer, as published, verified and run by the kiosk
    agent's own code: the document swaps in, the answer is handed to the kiosk, both ok."""
    from edge_agent.actions import Actions
    from edge_agent.agent import DEFAULT_VALIDATORS
    from tests.edge_agent.test_commands import check_result

    add_activity(city.conn, capacity=2)
    sim = KioskSim(centre="c1", kiosk="k1")
    city.feed(sim, sim.presence("online"), channel="status")
    event = signup_event(sim, 1, NOW - timedelta(minutes=1))
    city.feed(sim, event)
    assert publish_centre(city.conn, "440300", "c1", by="otto") is not None
    city.conn.commit()
    assert city.dispatcher.tick(city.conn).sent == 2
    data = tmp_path / "data"
    actions = Actions(
        data,
        {"catalogue": tmp_path / "catalogue.yaml", "activities": data / "activities.yaml"},
        validators=dict(DEFAULT_VALIDATORS),
    )
    verifier = Verifier(load_public_key(DEV_PUBLIC_KEY, None), sim.full_id, 60, lambda *_: True)
    results = {}
    for _topic, payload in city.transport.messages:
        command = verifier.verify(payload, datetime.now(UTC).timestamp())
        result = actions.run(command)
        assert result is not None
        check_result(result)
        results[command["type"]] = result
    assert results["activity_signup_result"]["status"] == "ok"
    assert results["activity_signup_result"]["detail"]["handed_to_kiosk"] is True
    assert results["set_config"]["status"] == "ok", results["set_config"]
    pushed = activities_from_bytes((data / "activities.yaml").read_bytes(), "kiosk")
    assert pushed.get("tai-chi") is not None
    assert pushed.activities[0].places_left == 1


def test_a_document_the_kiosk_would_refuse_is_never_queued(city: City) -> None:
    """A row written around the form (English text with Chinese in it): the push is refused
    with the path, the dispatcher's re-push drops the change instead of failing every tick."""
    add_activity(city.conn, capacity=3)
    city.conn.execute("UPDATE activities SET title_en = '太极', places_changed_at = now()")
    city.conn.commit()
    with pytest.raises(DocumentRefused, match=r"activities\[0\]\.title\.en"):
        publish_centre(city.conn, "440300", "c1", by="otto")
    city.conn.rollback()
    assert republish_due(city.conn, datetime.now(UTC)) == []
    assert city.commands("set_config") == []
    left = city.conn.execute("SELECT places_changed_at FROM activities").fetchone()
    assert left == (None,)
