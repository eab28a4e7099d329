"""The kiosk process SIGKILLed mid-session: heartbeats go on, nothing already put is lost.

Recovery time here is from the restart of the stand-in to its first durable event (process
start, catalogue load, first session input), the agent's heartbeats being counted meanwhile.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from chaos.harness import now, stage, tally
from chaos.kiosks import AgentProcess, LineReportingProcess, write_config
from chaos.report import Result

DOWN_S = 2.5  # kiosk process down this long before "systemd" restarts it
START_WAIT_S = 15.0


class KioskProcess(LineReportingProcess):
    """`python -m chaos.headless_kiosk CONFIG`; collects durable ids and the last event type."""

    def __init__(self, config: Path) -> None:
        self.ids: set[str] = set()
        self.last_type = ""
        self.lines = 0
        super().__init__("chaos.headless_kiosk", str(config))

    def _line(self, line: str) -> None:
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 36:
            self.ids.add(parts[0])
            self.last_type = parts[1]
            self.lines += 1

    def wait_events(self, count: int, timeout_s: float) -> bool:
        """Until `count` events are durable."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self.lines >= count:
                    return True
            time.sleep(0.02)
        return False

    def kill(self) -> tuple[set[str], str]:
        """SIGKILL; (durable ids, type of the last durable event)."""
        self.process.kill()
        self.process.wait(timeout=10)
        self._close_reader()
        with self._lock:
            return set(self.ids), self.last_type


def kiosk_crash(workdir: Path, quick: bool) -> Result:
    """Kill the kiosk stand-in at random points of its sessions; count heartbeats meanwhile."""
    result = Result("kiosk_crash")
    crashes = 3 if quick else 10
    rng = random.Random(5)
    offered: set[str] = set()
    mid_session = 0
    heartbeats_while_down: list[int] = []
    with stage(workdir) as st:
        path = write_config(workdir / "kiosk", st.broker.url, "k1")
        kiosk = KioskProcess(path)  # creates the outbox before the agent opens it
        kiosk.wait_events(1, START_WAIT_S)
        agent = AgentProcess(path)
        agent.start()
        try:
            for _ in range(crashes):
                kiosk.wait_events(rng.randint(5, 40), START_WAIT_S)
                ids, last_type = kiosk.kill()
                killed = now()
                offered |= ids
                mid_session += last_type not in ("session.ended", "rating.submitted")
                before = st.city.type_count("heartbeat")
                time.sleep(DOWN_S)
                heartbeats_while_down.append(st.city.type_count("heartbeat") - before)
                kiosk = KioskProcess(path)
                if not kiosk.wait_events(1, START_WAIT_S):
                    result.problems.append("the kiosk stand-in did not restart")
                else:
                    result.recovery_s.append(now() - killed - DOWN_S)
            ids, _ = kiosk.kill()
            offered |= ids
            tally(result, st.city, offered)
        finally:
            agent.stop()
    result.extra["crashes"] = crashes
    result.extra["killed_mid_session"] = mid_session
    result.extra["heartbeats_while_down"] = "/".join(map(str, heartbeats_while_down))
    if min(heartbeats_while_down, default=0) == 0:
        result.problems.append("no heartbeat while the kiosk process was down")
    return result
