"""Wall-clock jumps forward and back while events flow and while the broker is out of reach.

The agent and the kiosk writer share an injected wall clock that jumps (monotonic time does
not, as on a real kiosk when NTP steps the clock). Pass: every must-keep event arrives; only
heartbeats may expire (their TTL), and only when the clock really passed it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from chaos.agent_thread import SupervisedAgent
from chaos.harness import stage, tally
from chaos.kiosks import write_config
from chaos.proxy import Proxy
from chaos.report import Result
from config import load_config
from edge_agent.heartbeat import heartbeat_data
from edge_agent.outbox import Outbox
from edge_agent.outbox_config import open_outbox

HOUR_S = 3600.0
DAY_S = 86400.0
HOLD_S = 1.5
WRITE_EVERY_S = 0.01
OFFLINE_HEARTBEATS = 20


class JumpClock:
    """time.time() plus an offset the scenario changes."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_s


def _play(
    proxy: Proxy, clock: JumpClock, jumps: list[float], stale_box: Outbox, ttl_s: float
) -> set[str]:
    """The jumps online, then offline: stale heartbeats and a step past their TTL; their ids."""
    for jump in jumps:
        time.sleep(HOLD_S)
        clock.offset_s += jump
    time.sleep(HOLD_S)
    proxy.set_mode("drop")
    time.sleep(HOLD_S)
    stale = set()
    for _ in range(OFFLINE_HEARTBEATS):
        data = heartbeat_data(stale_box, free_disk_bytes=lambda: 10**9, uptime_s=1, now=clock())
        stale.add(stale_box.put("heartbeat", data)["id"])
    clock.offset_s += ttl_s + 2 * HOUR_S
    time.sleep(HOLD_S)
    proxy.set_mode("pass")
    time.sleep(HOLD_S)
    return stale


def clock_jump(workdir: Path, quick: bool) -> Result:
    """Jumps of ±2 h and ±1 day online, and +2 h (past the heartbeat TTL) while offline."""
    result = Result("clock_jump")
    jumps = [2 * HOUR_S, -2 * HOUR_S, DAY_S, -DAY_S]
    if not quick:
        jumps = jumps * 3
    clock = JumpClock()
    offered: set[str] = set()
    stop = threading.Event()
    with stage(workdir) as st:
        proxy = Proxy(st.broker.host, st.broker.port)
        proxy.start()
        path = write_config(workdir / "kiosk", proxy.url, "k1")
        config = load_config(path, env={})
        # One Outbox per thread (it is not thread-safe), as the kiosk and agent processes have.
        box, stale_box = open_outbox(config, clock=clock), open_outbox(config, clock=clock)
        agent = SupervisedAgent(config, clock=clock)
        agent.start()

        def write() -> None:
            index = 0
            while not stop.is_set():
                offered.add(box.put("test", {"index": index})["id"])
                index += 1
                stop.wait(WRITE_EVERY_S)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            stale = _play(proxy, clock, jumps, stale_box, config.agent.heartbeat_ttl_s)
        finally:
            stop.set()
            writer.join(timeout=10)
        tally(result, st.city, offered)
        stale_delivered = st.city.seen(stale)
        agent.stop()
        proxy.stop()
        box.close()
        stale_box.close()
    result.extra["jumps"] = len(jumps) + 1
    result.extra["stale_heartbeats_expired"] = len(stale) - stale_delivered
    if stale_delivered:
        result.problems.append(f"{stale_delivered} heartbeats delivered past their TTL")
    if agent.crashes:
        result.problems.append(f"agent crashed: {agent.crashes[0]}")
    return result
