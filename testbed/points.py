"""Red points test helpers: `python -m city responder` processes and kiosk agents in threads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass
class ResponderProcess:
    """`python -m city responder` in a process of its own; output in a log file."""

    config: Path
    log_path: Path
    responder_id: str | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        """Start and wait until the broker confirmed the calls subscription."""
        argv = [sys.executable, "-m", "city", "responder", "--config", str(self.config)]
        if self.responder_id is not None:
            argv += ["--responder-id", self.responder_id]
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=dict(os.environ)
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if "subscribed: " in self.log_path.read_text(errors="replace")[offset:]:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"responder did not subscribe: {self.output[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no answer, no acknowledgement, no disconnect."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM and wait; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    @property
    def output(self) -> str:
        """Everything it printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


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
