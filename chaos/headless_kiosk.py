"""A headless kiosk stand-in: the real Session, OutboxSink and catalogue, no Kivy.

`python -m chaos.headless_kiosk CONFIG` runs residents' sessions back to back, one input every
INPUT_INTERVAL_S, and prints `ID TYPE` for every event after `put()` returned (durable), so a
parent that SIGKILLs it knows exactly which events must reach the city.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from config import load_config
from edge_agent.agent import identity_of, outbox_path
from edge_agent.contract import Event
from edge_agent.outbox import Limits, Outbox
from kiosk.core.machine import KioskInputError
from kiosk.core.session import Session
from kiosk.core.settings import SessionSettings
from kiosk.runtime.catalogue import CatalogueAdapter
from kiosk.runtime.outbox_sink import OutboxSink
from tests.fixtures.resident_flows import synthetic_session

INPUT_INTERVAL_S = 0.02
ALIVE_EVERY_S = 1.0
PSEUDONYM_KEY = bytes(range(32))
MB = 1024 * 1024


class ReportingOutbox(Outbox):
    """The outbox, printing each event's id and type once it is durable."""

    def put(self, event_type: str, data: Mapping[str, Any], *, force: bool = False) -> Event:
        """As Outbox.put, then one line on stdout."""
        event = super().put(event_type, data, force=force)
        sys.stdout.write(f"{event['id']} {event_type}\n")
        sys.stdout.flush()
        return event


def main(argv: list[str]) -> int:
    """Run sessions until killed."""
    config = load_config(Path(argv[0]), env={})
    agent = config.agent
    limits = Limits(
        max_bytes=int(agent.outbox_max_mb * MB),
        min_free_disk_bytes=int(agent.min_free_disk_mb * MB),
        heartbeat_ttl_s=agent.heartbeat_ttl_s,
    )
    box = ReportingOutbox(outbox_path(config), identity_of(config), limits=limits)
    catalogue = CatalogueAdapter.from_file(config.paths.catalogue)
    categories = [c.category_id for c in catalogue.categories("zh")]
    session = Session(
        SessionSettings.from_config(config),
        sink=OutboxSink(box),
        catalogue=catalogue,
        pseudonym_key=PSEUDONYM_KEY,
        clock=time.monotonic,
        wall_clock=lambda: datetime.now().astimezone(),
    )
    box.set_device_state("idcard", "ok")
    next_alive = 0.0
    n = 0
    while True:
        for event in synthetic_session(n, categories[n % len(categories)], health_every=2):
            if time.monotonic() >= next_alive:
                box.report_kiosk_alive()
                next_alive = time.monotonic() + ALIVE_EVERY_S
            try:
                session.handle(event)
            except KioskInputError:
                sys.stdout.write("rejected-input\n")
            time.sleep(INPUT_INTERVAL_S)
        n += 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
