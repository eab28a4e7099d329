"""A kiosk-process stand-in that writes `test` events: `python -m chaos.writer CONFIG RATE`.

Prints each event id after `put()` returned (durable), `refused` for OutboxFull; stops when its
stdin closes.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from config import load_config
from edge_agent.outbox import OutboxFull
from edge_agent.outbox_config import open_outbox


def main(argv: list[str]) -> int:
    """Write until stdin closes."""
    config = load_config(Path(argv[0]), env={})
    period_s = 1.0 / float(argv[1])
    done = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    with open_outbox(config) as box:
        index = 0
        next_at = time.monotonic()
        while not done.is_set():
            try:
                event = box.put("test", {"index": index})
            except OutboxFull:
                sys.stdout.write("refused\n")
            else:
                sys.stdout.write(event["id"] + "\n")
            sys.stdout.flush()
            index += 1
            next_at += period_s
            done.wait(max(0.0, next_at - time.monotonic()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
