"""Red points test helpers: `python -m city responder` processes and kiosk agents in threads."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testbed.city_workers import WorkerProcess

REPO = Path(__file__).resolve().parents[1]


class ResponderProcess(WorkerProcess):
    """`python -m city responder` in a process of its own; output in a log file."""

    def __init__(self, config: Path, log_path: Path, responder_id: str | None = None) -> None:
        super().__init__(
            config, log_path, responder_id, command="responder", id_flag="--responder-id"
        )


@dataclass
class AgentThread:
    """A real edge agent (edge_agent.agent.Agent) stepping in a thread until stopped."""

    agent: Any
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        """Run the agent's loop in a daemon thread."""
        self.thread = threading.Thread(target=self.agent.run, args=(self.stop_event,), daemon=True)
        self.thread.start()

    def wait_connected(self, timeout_s: float = 20.0) -> bool:
        """True once the agent's link is up."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            link = self.agent.link
            if link is not None and link.connected:
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """Stop the loop (the agent goes offline cleanly) and wait for the thread."""
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=15)
