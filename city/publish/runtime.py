"""The console's command dispatcher: one thread with its own connection, woken by the pages.

Started by the console's lifespan (ConsoleModule.startup). The signing key is read once here;
if it cannot be used the console still serves every page and the command buttons say why.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

import psycopg

from city.activities.publishing import dispatcher_tick
from city.commands import Dispatcher, MqttTransport, transport_for
from city.config import CityConfig
from city.db import connect
from city.signing import SigningKeyError, load_signing_key

log = logging.getLogger("city.publish")

SETTLE_S = 0.1  # a page's transaction commits after its handler returns: tick just after
RETRY_S = 2.0


class PublishRuntime:
    """Ticks the dispatcher every `publishing.dispatch_interval_s`, or at once when kicked."""

    def __init__(self, config: CityConfig) -> None:
        self.config = config
        self.problem: str | None = None
        self.transport: MqttTransport | None = None
        self.dispatcher: Dispatcher | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            key = load_signing_key(config.console.signing_key_file)
            self.transport = transport_for(config, "console")
        except (SigningKeyError, ValueError) as exc:
            self.problem = str(exc)
            log.warning("commands disabled: %s", exc)
            return
        self.dispatcher = Dispatcher(config, key, self.transport, on_tick=dispatcher_tick)
        self._thread = threading.Thread(target=self._run, name="city-dispatch", daemon=True)
        self._thread.start()

    @property
    def ready(self) -> bool:
        """Commands can be signed and sent."""
        return self.dispatcher is not None

    def kick(self) -> None:
        """Dispatch soon (a page queued a command or a rollout)."""
        self._wake.set()

    def _run(self) -> None:
        assert self.dispatcher is not None
        conn: psycopg.Connection | None = None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = connect(self.config.database.url)
                self.dispatcher.tick(conn)
            except psycopg.Error as exc:
                log.warning("dispatcher: database problem (%s); retrying", type(exc).__name__)
                if conn is not None:
                    conn.close()
                conn = None
                self._stop.wait(RETRY_S)
                continue
            if self._wake.wait(self.config.publishing.dispatch_interval_s):
                self._wake.clear()
                self._stop.wait(SETTLE_S)
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        """Stop the thread and the MQTT client."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.transport is not None:
            self.transport.close()


_RUNTIMES: weakref.WeakKeyDictionary[Any, PublishRuntime] = weakref.WeakKeyDictionary()


def start(console: Any) -> Callable[[], None]:
    """ConsoleModule.startup: the runtime of this console; returns its stop."""
    runtime = PublishRuntime(console.config)
    _RUNTIMES[console] = runtime
    return runtime.stop


def runtime_of(console: Any) -> PublishRuntime | None:
    """The runtime the console started (None before its lifespan ran)."""
    return _RUNTIMES.get(console)
