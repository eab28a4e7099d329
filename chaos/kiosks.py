"""Kiosk pieces for chaos runs: config files, agent processes, writer processes that report ids.

A writer prints the id of every event only after `put()` returned (the event is durable), so
the ids the parent collects are exactly the events the city must receive.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PREFIX = "gov-kiosk/v1"
CITY = "440300"
CENTRE = "chaos"
# Fast enough to keep the suite bounded: an unreachable broker is retried once a second.
CHAOS_AGENT: dict[str, Any] = {
    "heartbeat_interval_s": 1,
    "reconnect_window_s": 1.0,
    "backoff_initial_s": 0.1,
    "backoff_max_s": 4.0,
    "stable_after_s": 2,
    "inflight_max": 10,
    "batch_max_events": 20,
}
# The chaos kiosks' own pseudonym key (a test key, named by its key id like any city key).
CHAOS_PRIVACY = {
    "pseudonym_key": "a3c91f0d6e2b47588d1e9f02c4b6a7d8e1f3052a6b9c0d4e7f8a1b2c3d4e5f60",
    "pseudonym_key_id": "chaos",
}
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
STOP_WAIT_S = 10.0


def write_config(
    directory: Path,
    broker_url: str,
    kiosk: str = "k1",
    *,
    agent: dict[str, Any] | None = None,
    keepalive_s: int = 5,
) -> Path:
    """A kiosk YAML file in `directory` (data under directory/data); returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "version": 1,
        "identity": {"city": CITY, "centre": CENTRE, "kiosk": kiosk},
        "mqtt": {"broker_url": broker_url, "topic_prefix": PREFIX, "keepalive_s": keepalive_s},
        "agent": {**CHAOS_AGENT, **(agent or {})},
        "privacy": CHAOS_PRIVACY,
        "paths": {
            "data_dir": str(directory / "data"),
            "catalogue": str(REPO / "config" / "catalogue.yaml"),
        },
    }
    path = directory / "kiosk.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


class AgentProcess:
    """`python -m edge_agent run --config PATH` as a child that can be killed and restarted."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start the agent (no-op while it runs)."""
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our module, our file
            [sys.executable, "-m", "edge_agent", "run", "--config", str(self.config)],
            cwd=REPO,
            env=CLEAN_ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL (no offline message, no cleanup) and reap."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_WAIT_S)

    def stop(self) -> None:
        """SIGTERM: the agent goes offline cleanly."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.kill()


class LineReportingProcess:
    """A `python -m MODULE ARGS` child whose stdout lines a thread hands to `_line` (under
    `_lock`); stdin is a pipe when `with_stdin`."""

    def __init__(self, module: str, *args: str, with_stdin: bool = False) -> None:
        self._lock = threading.Lock()
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our module, our file
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=CLEAN_ENV,
            stdin=subprocess.PIPE if with_stdin else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self._line(line)

    def _line(self, line: str) -> None:
        raise NotImplementedError

    def _close_reader(self) -> None:
        self._reader.join(timeout=STOP_WAIT_S)
        if self.process.stdout is not None:
            self.process.stdout.close()


class WriterProcess(LineReportingProcess):
    """`python -m chaos.writer`: puts `test` events at a rate and prints each durable id."""

    def __init__(self, config: Path, rate_per_s: float) -> None:
        self.ids: set[str] = set()
        self.refused = 0
        super().__init__("chaos.writer", str(config), str(rate_per_s), with_stdin=True)

    def _line(self, line: str) -> None:
        word = line.strip()
        if word == "refused":
            self.refused += 1
        elif len(word) == 36:
            self.ids.add(word)

    def snapshot(self) -> set[str]:
        """The durable ids so far (a copy)."""
        with self._lock:
            return set(self.ids)

    def count(self) -> int:
        """Durable events so far."""
        with self._lock:
            return len(self.ids)

    def wait_count(self, count: int, timeout_s: float) -> bool:
        """Until at least `count` events are durable (polling the reader's tally)."""
        deadline = time.monotonic() + timeout_s
        while self.count() < count:
            if time.monotonic() > deadline or self.process.poll() is not None:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> set[str]:
        """Ask the writer to finish (stdin closed), wait, return every durable id."""
        assert self.process.stdin is not None
        if not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_WAIT_S)
        self._close_reader()
        with self._lock:
            return set(self.ids)
