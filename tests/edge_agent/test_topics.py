"""Topic levels: every parameter is one level, so the documented filters are exact (decision 1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import ConfigError, load_config
from edge_agent.agent import Agent
from edge_agent.contract import (
    ALL_EVENTS_FILTER,
    ALL_STATUS_FILTER,
    SHARED_INGEST_FILTER,
    ContractError,
    Identity,
    city_events_filter,
    topics_for,
)
from tests.edge_agent.conftest import CitySubscriber, write_config
from tests.fixtures.broker import MosquittoBroker

KIOSKS = (("440300", "futian-xmh", "k07"), ("110000", "dongcheng-1", "k01"))
WAIT_S = 30.0


def test_documented_filters_are_the_contract_strings() -> None:
    """The filters the README documents, spelled out once in code."""
    assert ALL_EVENTS_FILTER == "gov-kiosk/v1/+/+/+/events"
    assert city_events_filter("440300") == "gov-kiosk/v1/440300/+/+/events"
    assert ALL_STATUS_FILTER == "gov-kiosk/v1/+/+/+/status"
    assert SHARED_INGEST_FILTER == "$share/ingest/gov-kiosk/v1/+/+/+/events"
    topics = topics_for("gov-kiosk/v1", Identity(*KIOSKS[0]))
    assert topics.events == "gov-kiosk/v1/440300/futian-xmh/k07/events"
    assert len(topics.status.split("/")) == len(ALL_STATUS_FILTER.split("/"))


@pytest.mark.parametrize(
    ("prefix", "identity"),
    [
        ("gov-kiosk", Identity("440300", "c1", "k1")),
        ("gov-kiosk/v1/extra", Identity("440300", "c1", "k1")),
        ("gov-kiosk/v1", Identity("440300", "c1/x", "k1")),
        ("gov-kiosk/v1", Identity("+", "c1", "k1")),
        ("gov-kiosk/v1", Identity("440300", "c1", "#")),
    ],
)
def test_a_parameter_spanning_levels_or_a_wildcard_is_refused(
    prefix: str, identity: Identity
) -> None:
    """A prefix not of two levels or an identity part with '/', '+' or '#' builds no topic."""
    with pytest.raises(ContractError):
        topics_for(prefix, identity)


@pytest.mark.parametrize("prefix", ["gov-kiosk", "gov-kiosk/v1/x", "a/b/v1", "gov-kiosk/1"])
def test_config_takes_only_a_two_level_versioned_prefix(tmp_path: Path, prefix: str) -> None:
    """`mqtt.topic_prefix` must be exactly ROOT/vN; anything else is a config problem."""
    path = write_config(tmp_path, "mqtt://127.0.0.1:1883", mqtt={"topic_prefix": prefix})
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert any("mqtt.topic_prefix" in str(p) for p in caught.value.problems)


class _Running:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.stop = threading.Event()
        self.thread = threading.Thread(target=agent.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


@pytest.fixture
def subscribers(mosquitto: MosquittoBroker) -> Iterator[dict[str, CitySubscriber]]:
    """City-side subscribers on the documented filters, subscribed before any kiosk starts."""
    filters = {
        "all_events": (ALL_EVENTS_FILTER,),
        "one_city": (city_events_filter("440300"),),
        "all_status": (ALL_STATUS_FILTER,),
        "ingest_a": (SHARED_INGEST_FILTER,),
        "ingest_b": (SHARED_INGEST_FILTER,),
    }
    made = {
        name: CitySubscriber(mosquitto.host, mosquitto.port, filters=value)
        for name, value in filters.items()
    }
    for subscriber in made.values():
        subscriber.start()
    for subscriber in made.values():
        assert subscriber.subscribed.wait(WAIT_S)
    yield made
    for subscriber in made.values():
        subscriber.stop()
        assert subscriber.invalid == []


@pytest.mark.broker
def test_documented_filters_receive_exactly_their_kiosks(
    tmp_path: Path, mosquitto: MosquittoBroker, subscribers: dict[str, CitySubscriber]
) -> None:
    """A real Mosquitto: all events, one city, all presence and the shared ingest filter."""
    running = []
    ids: dict[str, str] = {}
    for city, centre, kiosk in KIOSKS:
        path = write_config(
            tmp_path / city,
            mosquitto.url,
            identity={"city": city, "centre": centre, "kiosk": kiosk},
        )
        agent = Agent(load_config(path, env={}))
        ids[city] = agent.outbox.put("test", {"note": "topics", "index": 0, "count": 1})["id"]
        running.append(_Running(agent))
    try:
        every = subscribers["all_events"]
        assert every.wait_for(lambda: set(ids.values()) <= set(every.unique("test")), WAIT_S)
        status = subscribers["all_status"]
        assert status.wait_for(lambda: {s["city"] for s in status.status} == set(ids), WAIT_S)
        one_city = subscribers["one_city"]
        assert one_city.wait_for(lambda: ids["440300"] in one_city.unique("test"), WAIT_S)
        shared = [subscribers["ingest_a"], subscribers["ingest_b"]]
        assert every.wait_for(
            lambda: set(ids.values()) <= {i for s in shared for i in s.unique("test")}, WAIT_S
        )
    finally:
        for runner in running:
            runner.close()
    assert set(subscribers["one_city"].unique("test")) == {ids["440300"]}
    assert subscribers["all_events"].status == []
    assert subscribers["all_status"].events == []
    shared_ids = [i for s in shared for i in s.unique("test")]
    assert sorted(shared_ids) == sorted(ids.values())  # each event to one member of the group
