"""city/amqp_worker.py's pure parts: RabbitMQ's topic translation and where workers start."""

from __future__ import annotations

from city.amqp_worker import binding_keys, first_node, routing_key_to_topic


def test_routing_keys_translate_back_to_the_kiosk_topics() -> None:
    """RabbitMQ's `/`↔`.` swap is undone, and the bindings cover events and status only."""
    assert routing_key_to_topic("gov-kiosk.v1.440300.c1.k1.events") == (
        "gov-kiosk/v1/440300/c1/k1/events"
    )
    assert routing_key_to_topic("a.b/c") == "a/b.c"
    assert binding_keys("gov-kiosk/v1") == [
        "gov-kiosk.v1.*.*.*.events",
        "gov-kiosk.v1.*.*.*.status",
    ]


def test_workers_spread_over_the_nodes() -> None:
    """Numeric worker ids start on consecutive nodes; any other id still lands on a node."""
    assert [first_node(str(i), 3) for i in range(4)] == [0, 1, 2, 0]
    assert 0 <= first_node("city-a", 3) < 3
