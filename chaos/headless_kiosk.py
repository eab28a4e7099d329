"""A headless kiosk stand-in: the kiosk as kiosk/runtime/assembly.py wires it, without Kivy.

`python -m chaos.headless_kiosk CONFIG` runs residents' sessions back to back, one input every
INPUT_INTERVAL_S, and prints `ID TYPE` for every event after `put()` returned (durable), so a
parent that SIGKILLs it knows exactly which events must reach the city.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config import load_config
from edge_agent.contract import Event
from edge_agent.outbox import Outbox
from kiosk.core.machine import KioskInputError
from kiosk.runtime.assembly import assemble
from testbed.residents import synthetic_session

INPUT_INTERVAL_S = 0.02
ALIVE_EVERY_S = 1.0


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
    kiosk = assemble(config, outbox_class=ReportingOutbox)
    box, session = kiosk.outbox, kiosk.session
    categories = [c.category_id for c in kiosk.catalogue.categories("zh")]
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
