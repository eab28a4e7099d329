"""Agent SIGKILL loops, broker stop/start loops and network partitions, all under load."""

from __future__ import annotations

import random
import time
from pathlib import Path

from chaos.harness import Stage, now, recovery_after, stage, tally
from chaos.kiosks import AgentProcess, WriterProcess, write_config
from chaos.proxy import Mode, Proxy
from chaos.report import Result

WRITER_RATE_PER_S = 50.0
KILL_WRITER_RATE_PER_S = 250.0  # many batches in flight when the kill lands
RECOVERY_TIMEOUT_S = 30.0
LOAD_WARM_UP_EVENTS = 20


def _fleet(
    st: Stage, count: int, url: str | None = None, rate_per_s: float = WRITER_RATE_PER_S
) -> tuple[list[AgentProcess], list[WriterProcess], set[str]]:
    agents, writers, kiosks = [], [], set()
    for n in range(count):
        kiosk = f"k{n + 1}"
        path = write_config(st.workdir / kiosk, url or st.broker.url, kiosk)
        agents.append(AgentProcess(path))
        writers.append(WriterProcess(path, rate_per_s))
        kiosks.add(kiosk)
    for agent in agents:
        agent.start()
    return agents, writers, kiosks


def _finish(
    result: Result, st: Stage, agents: list[AgentProcess], writers: list[WriterProcess]
) -> None:
    offered: set[str] = set()
    for writer in writers:
        offered |= writer.stop()
        if writer.refused:
            result.problems.append(f"{writer.refused} puts refused")
    tally(result, st.city, offered)
    for agent in agents:
        agent.stop()


def agent_sigkill(workdir: Path, quick: bool) -> Result:
    """SIGKILL the agent at random moments while a writer keeps putting events."""
    result = Result("agent_sigkill")
    kills = 4 if quick else 20
    rng = random.Random(7)
    with stage(workdir) as st:
        agents, writers, kiosks = _fleet(st, 1, rate_per_s=KILL_WRITER_RATE_PER_S)
        writers[0].wait_count(LOAD_WARM_UP_EVENTS, 10)
        for _ in range(kills):
            time.sleep(rng.uniform(0.3, 1.5))
            agents[0].kill()
            agents[0].start()
            restarted = now()
            took = recovery_after(st.city, kiosks, restarted, RECOVERY_TIMEOUT_S)
            if took is None:
                result.problems.append("agent did not reconnect after a kill")
            else:
                result.recovery_s.append(took)
        time.sleep(1.0)
        _finish(result, st, agents, writers)
    result.extra["kills"] = kills
    return result


def broker_restart(workdir: Path, quick: bool) -> Result:
    """Stop and start the broker (SIGTERM; it keeps its store) under three kiosks' load."""
    result = Result("broker_restart")
    loops = 3 if quick else 10
    rng = random.Random(11)
    with stage(workdir) as st:
        agents, writers, kiosks = _fleet(st, 3)
        for writer in writers:
            writer.wait_count(LOAD_WARM_UP_EVENTS, 10)
        for _ in range(loops):
            time.sleep(rng.uniform(0.5, 2.0))
            st.broker.stop()
            time.sleep(rng.uniform(0.5, 2.0))
            st.broker.start()
            took = recovery_after(st.city, kiosks, now(), RECOVERY_TIMEOUT_S)
            if took is None:
                result.problems.append("not every agent reconnected after a restart")
            else:
                result.recovery_s.append(took)
        time.sleep(1.0)
        _finish(result, st, agents, writers)
    result.extra["restarts"] = loops
    return result


def partition(workdir: Path, quick: bool) -> Result:
    """Cut (RST) and stall (black hole) the agents' path to the broker through a TCP proxy."""
    result = Result("partition")
    # (mode, seconds): a black hole longer than 2 x keepalive is noticed only by keepalive.
    plan: list[tuple[Mode, float]] = [("drop", 2.0), ("blackhole", 3.0), ("blackhole", 12.0)]
    if not quick:
        plan = plan * 3
    with stage(workdir) as st:
        proxy = Proxy(st.broker.host, st.broker.port)
        proxy.start()
        try:
            agents, writers, _ = _fleet(st, 2, proxy.url)
            for writer in writers:
                writer.wait_count(LOAD_WARM_UP_EVENTS, 10)
            for mode, seconds in plan:
                time.sleep(1.0)
                proxy.set_mode(mode)
                time.sleep(seconds)
                healed = now()
                proxy.set_mode("pass")
                took = _first_delivery_after(st, writers, healed)
                if took is None:
                    result.problems.append(f"no delivery after a {mode} of {seconds:.0f} s")
                else:
                    result.recovery_s.append(took)
            time.sleep(1.0)
            _finish(result, st, agents, writers)
        finally:
            proxy.stop()
    result.extra["partitions"] = len(plan)
    result.extra["proxy_resets"] = proxy.resets
    return result


def _first_delivery_after(st: Stage, writers: list[WriterProcess], moment: float) -> float | None:
    """Seconds from `moment` until every writer's events arrive again (the slowest one)."""
    took = 0.0
    for writer in writers:

        def arrived_since(writer: WriterProcess = writer) -> bool:
            seen = st.city.first_seen
            return any(seen.get(i, 0.0) > moment for i in writer.snapshot())

        if not st.city.wait_until(arrived_since, RECOVERY_TIMEOUT_S):
            return None
        seen = st.city.arrival_times()
        first = min(t for i in writer.snapshot() if (t := seen.get(i, 0.0)) > moment)
        took = max(took, first - moment)
    return took
