"""An in-process agent on a thread, restarted like systemd would if it dies; clocks injectable."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from config import KioskConfig
from edge_agent.agent import Agent

log = logging.getLogger(__name__)
RESTART_DELAY_S = 0.2
JOIN_TIMEOUT_S = 10.0


class SupervisedAgent:
    """Runs `Agent(config, **options).run()` until stopped, restarting it after a crash."""

    def __init__(self, config: KioskConfig, **options: Any) -> None:
        self._make: Callable[[], Agent] = lambda: Agent(config, poll_s=0.01, **options)
        self.crashes: list[str] = []
        self.agent: Agent | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, daemon=True)

    def start(self) -> None:
        """Start the supervising thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the agent (it goes offline cleanly) and join."""
        self._stop.set()
        self._thread.join(timeout=JOIN_TIMEOUT_S)

    def _supervise(self) -> None:
        while not self._stop.is_set():
            try:
                self.agent = self._make()
                self.agent.run(self._stop)
            except Exception as exc:  # noqa: BLE001 - recorded as a figure, then restarted
                self.crashes.append(f"{type(exc).__name__}: {str(exc)[:80]}")
                log.warning("agent crashed: %s", type(exc).__name__)
                self._stop.wait(RESTART_DELAY_S)
