"""A sans-I/O wire: a protocol session and a simulator cross-connected in simulated time.

Also records both directions of the line, which is how the committed captures are made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.bp.events import BpResult, CuffPressure
from drivers.bp.protocol import get_protocol
from drivers.bp.simulator import make_simulator
from drivers.errors import FrameError

TIME_STEP_S = 0.01


@dataclass
class WireRun:
    """What a simulated measurement produced."""

    result: BpResult | None = None
    cuff_mmhg: list[int] = field(default_factory=list)
    line: bytearray = field(default_factory=bytearray)  # both directions, in order
    discarded: int = 0
    unplugged: bool = False


def run_measurement(
    protocol: str, scenario: str, *, timeout_s: float = 30.0, seed: int = 0
) -> WireRun:
    """Run one measurement between session and simulator; simulated time, no sleeping."""
    spec = get_protocol(protocol)
    sim = make_simulator(scenario, protocol, seed=seed)
    session = spec.new_session(timeout_s)
    decoder = spec.new_decoder()
    run = WireRun()
    now = 0.0
    if spec.push_only:
        sim.control("measure", now)
    pending = [session.begin(now)]
    while True:
        for out in pending:
            if out.send:
                run.line += out.send
                sim.feed(out.send, now)
            if out.cuff is not None:
                run.cuff_mmhg.append(out.cuff.mmhg)
            if out.result is not None:
                run.result = out.result
                return run
        sim_out = sim.poll(now)
        if sim_out.unplug:
            run.unplugged = True
            return run
        run.line += sim_out.data
        pending = []
        for item in decoder.feed(sim_out.data):
            if isinstance(item, FrameError):
                run.discarded += 1
            else:
                pending.append(session.on_event(item, now))
        pending.append(session.on_tick(now))
        now += TIME_STEP_S


def cuff_readings(run: WireRun) -> list[CuffPressure]:
    """The cuff readings of a run as events."""
    return [CuffPressure(m) for m in run.cuff_mmhg]
