"""Command tracking with a real Mosquitto and PostgreSQL: presence and results go through the
real ingest writer (city/store.py), commands through the real MQTT transport to a subscriber
that checks them with the kiosk's own verifier. The dispatcher's clock is injected."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from city.commands import Dispatcher, MqttTransport, command_row, queue_command
from city.config import CityConfig, city_config_from_data
from city.contract import load_contract
from city.messages import decode_message
from city.rollouts import (
    PublishError,
    create_rollout,
    diff_against_deployed,
    promote,
    rollback,
    rollout_status,
    store_document,
)
from city.selector import Selector, SelectorError, resolve
from city.signing import load_signing_key
from city.store import BatchWriter
from city.upload import ValidDocument, parse_upload
from edge_agent.commands import Verifier, load_public_key
from testbed.broker import MosquittoBroker
from testbed.city_events import KioskSim
from tests.edge_agent.conftest import DEV_KEY, DEV_PUBLIC_KEY

pytestmark = [pytest.mark.broker, pytest.mark.postgres]

ROOT = "gov-kiosk/v1"
CATALOGUE = Path(__file__).resolve().parents[2] / "config" / "catalogue.yaml"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class KioskInbox:
    """Subscribes to every commands topic; `take()` the next message, verified by the kiosk."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        subscribed = queue.Queue[None]()
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda *_: subscribed.put(None)
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(f"{ROOT}/+/+/+/commands", qos=1)
        self.client.loop_start()
        subscribed.get(timeout=10)

    def take(self, target: str, now: datetime | None = None) -> dict[str, Any]:
        topic, payload = self.messages.get(timeout=10)
        assert topic == f"{ROOT}/{target}/commands"
        verifier = Verifier(load_public_key(DEV_PUBLIC_KEY, None), target, 60, lambda *_: True)
        command = verifier.verify(payload, (now or datetime.now(UTC)).timestamp())
        assert command["target"] == target
        return command

    def empty(self) -> bool:
        time.sleep(0.3)
        return self.messages.empty()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class City:
    """The city's database side: the real ingest writer and a dispatcher with a test clock."""

    def __init__(self, config: CityConfig, conn: psycopg.Connection, broker: MosquittoBroker):
        self.config = config
        self.conn = conn
        self.contract = load_contract(config.contract_dir)
        self.writer = BatchWriter(conn)
        self.clock = Clock()
        self.transport = MqttTransport(broker.url, "test-city-commands")
        assert self.transport.wait_connected(10)
        self.dispatcher = Dispatcher(
            config, load_signing_key(DEV_KEY), self.transport, clock=self.clock
        )

    def feed(self, sim: KioskSim, channel: str, payload: dict[str, Any]) -> None:
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

    def presence(self, sim: KioskSim, state: str) -> None:
        self.feed(sim, "status", sim.presence(state))

    def result(self, sim: KioskSim, command_id: str, status: str, reason: str | None = None,
               **detail: Any) -> None:  # fmt: skip
        data: dict[str, Any] = {
            "command_id": command_id,
            "command_type": "set_config",
            "status": status,
            "reason": reason,
        }
        if detail:
            data["detail"] = detail
        self.feed(sim, "events", {"events": [sim.event("command.result", data)]})

    def state(self, command_id: str) -> str:
        row = command_row(self.conn, command_id)
        self.conn.commit()
        assert row is not None
        return str(row["state"])


@pytest.fixture
def city(city_db: str, mosquitto: MosquittoBroker, contract_dir: Path) -> Iterator[City]:
    config = city_config_from_data(
        {
            "database": {"url": city_db},
            "broker": {"url": mosquitto.url},
            "contract_dir": str(contract_dir),
            "publishing": {"command_ttl_s": 60, "max_attempts": 3},
        },
        source="test",
        base_dir=Path("."),
        env={},
    )
    with psycopg.connect(city_db) as conn:
        harness = City(config, conn, mosquitto)
        yield harness
        harness.transport.close()


@pytest.fixture
def inbox(mosquitto: MosquittoBroker) -> Iterator[KioskInbox]:
    box = KioskInbox(mosquitto)
    yield box
    box.close()


def catalogue(version: str = "440300-2025.03.1") -> ValidDocument:
    text = CATALOGUE.read_text(encoding="utf-8").replace("440300-2025.03.1", version)
    parsed = parse_upload("catalogue", text.encode())
    assert isinstance(parsed, ValidDocument)
    return parsed


def test_offline_kiosk_waits_then_gets_it_and_the_result_applies(
    city: City, inbox: KioskInbox
) -> None:
    sim = KioskSim(centre="c1", kiosk="k1")
    city.presence(sim, "online")
    city.presence(sim, "offline")
    document = store_document(city.conn, catalogue(), "tester")
    rollout = create_rollout(city.conn, document, Selector("all"), by="tester")
    city.conn.commit()
    city.dispatcher.tick(city.conn)
    status = rollout_status(city.conn, rollout)
    assert status is not None
    assert [t["state"] for t in status["targets"]] == ["waiting"]
    assert inbox.empty()

    city.presence(sim, "online")
    assert city.dispatcher.tick(city.conn).sent == 1
    command = inbox.take(sim.full_id)
    assert command["type"] == "set_config"
    assert command["args"]["version"] == document.version
    assert command["args"]["content"] == document.content
    assert city.state(command["id"]) == "sent"

    city.result(sim, command["id"], "ok", kind="catalogue", version=document.version)
    assert city.state(command["id"]) == "applied"
    running = city.conn.execute(
        "SELECT version FROM kiosk_config WHERE kiosk = %s AND kind = 'catalogue'",
        (sim.full_id,),
    ).fetchone()
    assert running == (document.version,)


def test_unanswered_set_config_expires_and_is_resent_after_a_reconnect(
    city: City, inbox: KioskInbox
) -> None:
    sim = KioskSim(centre="c1", kiosk="k1")
    city.presence(sim, "online")
    document = store_document(city.conn, catalogue(), "tester")
    rollout = create_rollout(city.conn, document, Selector("all"), by="tester")
    city.conn.commit()
    city.dispatcher.tick(city.conn)
    first = inbox.take(sim.full_id)

    city.clock.now += timedelta(seconds=61)
    report = city.dispatcher.tick(city.conn)
    assert (report.expired, report.resent, report.sent) == (1, 0, 0)  # same connection
    assert city.state(first["id"]) == "expired"
    assert inbox.empty()

    city.presence(sim, "online")  # connection 2: it came back
    report = city.dispatcher.tick(city.conn)
    assert (report.resent, report.sent) == (1, 1)
    second = inbox.take(sim.full_id, city.clock.now)
    assert second["id"] != first["id"]
    assert second["nonce"] != first["nonce"]
    status = rollout_status(city.conn, rollout)
    assert status is not None
    assert status["targets"][0]["command_id"] == second["id"]
    assert status["targets"][0]["attempt"] == 2
    # the late answer to the first attempt is kept on that attempt only
    city.result(sim, first["id"], "rejected", "expired")
    assert city.state(first["id"]) == "rejected"
    city.result(sim, second["id"], "ok")
    status = rollout_status(city.conn, rollout)
    assert status is not None
    assert status["targets"][0]["state"] == "applied"


def test_ok_is_final_and_only_the_target_kiosk_answers(city: City, inbox: KioskInbox) -> None:
    sim = KioskSim(centre="c1", kiosk="k1")
    other = KioskSim(centre="c1", kiosk="k2")
    city.presence(sim, "online")
    city.presence(other, "online")
    command_id = queue_command(city.conn, sim.full_id, "ping", requested_by="tester")
    city.conn.commit()
    city.dispatcher.tick(city.conn)
    inbox.take(sim.full_id)
    city.result(other, command_id, "rejected", "wrong_kiosk")
    assert city.state(command_id) == "sent"
    city.result(sim, command_id, "ok")
    city.result(sim, command_id, "rejected", "bad_signature")  # a forged copy, say
    assert city.state(command_id) == "applied"


def test_one_shot_commands_expire_while_waiting_and_are_never_resent(
    city: City, inbox: KioskInbox
) -> None:
    sim = KioskSim(centre="c1", kiosk="k1")
    city.presence(sim, "online")
    city.presence(sim, "offline")
    command_id = queue_command(city.conn, sim.full_id, "restart_kiosk", requested_by="tester")
    city.conn.commit()
    city.dispatcher.tick(city.conn)
    city.clock.now += timedelta(seconds=61)
    city.dispatcher.tick(city.conn)
    assert city.state(command_id) == "expired"
    city.presence(sim, "online")
    assert city.dispatcher.tick(city.conn).sent == 0
    assert inbox.empty()


def test_broker_away_keeps_commands_waiting(
    city: City, inbox: KioskInbox, mosquitto: MosquittoBroker
) -> None:
    sim = KioskSim(centre="c1", kiosk="k1")
    city.presence(sim, "online")
    command_id = queue_command(city.conn, sim.full_id, "ping", requested_by="tester")
    city.conn.commit()
    mosquitto.stop()
    assert city.dispatcher.tick(city.conn).failed_to_publish == 1
    assert city.state(command_id) == "waiting"
    mosquitto.start()
    deadline = time.monotonic() + 30
    while city.dispatcher.tick(city.conn).sent == 0:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert city.state(command_id) == "sent"


def test_staging_promotion_rollback_and_diffs(city: City, inbox: KioskInbox) -> None:
    sims = [KioskSim(centre=c, kiosk=k) for c, k in (("c1", "k1"), ("c2", "k2"), ("c2", "k3"))]
    for sim in sims:
        city.presence(sim, "online")
    v1 = store_document(city.conn, catalogue(), "tester")
    first = create_rollout(city.conn, v1, Selector("all"), by="tester", staged=False)
    city.conn.commit()
    city.dispatcher.tick(city.conn)
    for sim in sims:
        city.result(sim, inbox.take(sim.full_id)["id"], "ok")
    assert rollout_status(city.conn, first)["counts"] == {"applied": 3}  # type: ignore[index]

    changed = catalogue().content.replace("kind: catalogue", "kind: catalogue  # changed")
    parsed = parse_upload("catalogue", changed.encode())
    assert isinstance(parsed, ValidDocument)
    with pytest.raises(PublishError, match="other content"):
        store_document(city.conn, parsed, "tester")
    city.conn.rollback()

    new = catalogue("440300-2025.12.1")
    diffs = diff_against_deployed(city.conn, "catalogue", new.content, new.version,
                                  [s.full_id for s in sims])  # fmt: skip
    assert [(d.version, d.kiosks, d.known) for d in diffs] == [(v1.version, 3, True)]
    assert any(line.startswith("+version") for line in diffs[0].lines)
    v2 = store_document(city.conn, new, "tester")
    second = create_rollout(city.conn, v2, Selector("all"), by="tester", first_centre="c2")
    city.conn.commit()
    city.dispatcher.tick(city.conn)
    status = rollout_status(city.conn, second)
    assert status is not None
    assert {t["kiosk"]: (t["stage"], t["state"]) for t in status["targets"]} == {
        sims[0].full_id: (2, "held"),
        sims[1].full_id: (1, "sent"),
        sims[2].full_id: (1, "sent"),
    }
    k2, k3 = inbox.take(sims[1].full_id), inbox.take(sims[2].full_id)
    city.result(sims[1], k2["id"], "ok")
    city.result(sims[2], k3["id"], "rejected", "invalid_payload", problem="items[0]: x")
    with pytest.raises(PublishError, match="1 of 2 first-stage kiosks"):
        promote(city.conn, second, "tester")
    city.conn.rollback()
    status = rollout_status(city.conn, second)
    assert status is not None
    k3_row = next(t for t in status["targets"] if t["kiosk"] == sims[2].full_id)
    assert (k3_row["reason"], k3_row["problem"]) == ("invalid_payload", "items[0]: x")

    back = rollback(city.conn, second, "tester")
    city.conn.commit()
    city.dispatcher.tick(city.conn)
    restored = inbox.take(sims[1].full_id)  # only k2 applied v2; k3 refused, k1 was held
    assert restored["args"]["version"] == v1.version
    assert inbox.empty()
    status = rollout_status(city.conn, back)
    assert status is not None
    assert [(t["kiosk"], t["state"]) for t in status["targets"]] == [(sims[1].full_id, "sent")]
    with pytest.raises(PublishError, match="already rolled back"):
        rollback(city.conn, second, "tester")


def test_kiosk_selector_by_name_must_be_unique(city: City) -> None:
    for centre in ("c1", "c2"):
        city.presence(KioskSim(centre=centre, kiosk="k1"), "online")
    assert resolve(city.conn, Selector("kiosk", "440300/c2/k1")) == ["440300/c2/k1"]
    assert resolve(city.conn, Selector("centre", "c1")) == ["440300/c1/k1"]
    with pytest.raises(SelectorError, match="ambiguous"):
        resolve(city.conn, Selector("kiosk", "k1"))
