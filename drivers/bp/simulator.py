"""BP meter simulators built from the same frame code as the drivers; scenarios are data.

A simulated measurement inflates to ~180 mmHg and deflates over `MEASUREMENT_S` of simulated
time (scaled by `time_scale`). SunTech is host-driven (start / poll / fetch); the Omron meter is
push-only, so the operator command `measure` stands for the resident pressing START.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from drivers.bp import omron9030, suntech
from drivers.bp.events import HostRequest
from drivers.simulation import DeviceSimulator, SimOutput

INFLATE_S = 0.6
DEFLATE_S = 1.2
PEAK_MMHG = 180
LEAK_PEAK_MMHG = 30  # a loose or leaking cuff never builds pressure
UNPLUG_AFTER_S = 1.0  # into the first measurement, mid-deflation
GARBAGE_BURST_BYTES = 12
SIM_CLOCK_START = datetime(2025, 1, 6, 9, 0)  # the simulated meter's own clock
SIM_SUBJECT_ID = "SIM-0001"  # never a real person


@dataclass(frozen=True)
class Scenario:
    """What the simulated resident and meter do; `fault` is a protocol-neutral error key."""

    systolic: int = 118
    diastolic: int = 76
    pulse: int = 72
    fault: str | None = None
    garbage: bool = False
    unplug: bool = False

    @property
    def mean(self) -> int:
        """Mean arterial pressure by the usual one-third rule."""
        return self.diastolic + round((self.systolic - self.diastolic) / 3)


SCENARIOS = MappingProxyType(
    {
        "default": Scenario(),
        "normal": Scenario(),
        "high_normal": Scenario(systolic=134, diastolic=86, pulse=76),
        "hypertensive": Scenario(systolic=165, diastolic=102, pulse=88),
        "isolated_systolic": Scenario(systolic=152, diastolic=82, pulse=70),
        "cuff_error": Scenario(fault="cuff_leak"),
        "movement": Scenario(fault="movement"),
        "garbage_bursts": Scenario(garbage=True),
        "unplug": Scenario(unplug=True),
    }
)

# Neutral fault -> device code. Omron reports movement as a count on a valid reading.
SUNTECH_FAULT_CODES = MappingProxyType({"cuff_leak": 87, "movement": 2})
OMRON_FAULT_CODES = MappingProxyType({"cuff_leak": 1})


def scenario_named(name: str) -> Scenario:
    """The scenario for a name; ValueError listing the known names otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise ValueError(f"unknown BP scenario {name!r}; known: {known}") from None


@dataclass(frozen=True)
class Inflation:
    """One simulated cuff cycle started at `start_s`."""

    start_s: float
    scenario: Scenario
    time_scale: float

    @property
    def leaking(self) -> bool:
        """True when the cuff never holds pressure."""
        return self.scenario.fault == "cuff_leak"

    @property
    def end_s(self) -> float:
        """When the meter finishes (a leak is detected at the end of inflation)."""
        seconds = INFLATE_S if self.leaking else INFLATE_S + DEFLATE_S
        return self.start_s + seconds * self.time_scale

    def pressure_at(self, now_s: float) -> int:
        """Cuff pressure in mmHg: linear inflate to the peak, linear deflate, then dumped."""
        elapsed = (now_s - self.start_s) / self.time_scale
        peak = LEAK_PEAK_MMHG if self.leaking else max(PEAK_MMHG, self.scenario.systolic + 30)
        if elapsed < 0 or now_s >= self.end_s:
            return 0
        if elapsed < INFLATE_S:
            return round(peak * elapsed / INFLATE_S)
        floor = max(self.scenario.diastolic - 20, 20)
        return round(peak - (peak - floor) * (elapsed - INFLATE_S) / DEFLATE_S)


class _BpSimulator:
    """What both meters share: scenario switching, timing, garbage and the unplug event."""

    COMMANDS = "scenario NAME, status"

    def __init__(self, scenario: str, *, time_scale: float = 1.0, seed: int = 0) -> None:
        self.scenario = scenario_named(scenario)
        self.time_scale = time_scale
        self.inflation: Inflation | None = None
        self._out = bytearray()
        self._rng = random.Random(seed)
        self._unplugged_once = False
        self.measurements = 0

    def poll(self, now_s: float) -> SimOutput:
        """Due output, the next wake-up, and the unplug event of the `unplug` scenario."""
        inflation = self.inflation
        if inflation is not None:
            unplug_at = inflation.start_s + UNPLUG_AFTER_S * self.time_scale
            if self.scenario.unplug and not self._unplugged_once and now_s >= unplug_at:
                self._unplugged_once = True
                self.inflation = None
                self._out.clear()
                return SimOutput(unplug=True)
            if now_s >= inflation.end_s:
                self.inflation = None
                self._finish(inflation)
                self.measurements += 1
        data, self._out = bytes(self._out), bytearray()
        return SimOutput(data=data, wake_at_s=self._wake_at())

    def control(self, command: str, now_s: float) -> str:
        """`scenario NAME`, `status`; subclasses add their own."""
        verb, _, argument = command.strip().partition(" ")
        if verb == "scenario" and argument:
            self.scenario = scenario_named(argument.strip())
            return f"scenario {argument.strip()}"
        if verb == "status":
            return "measuring" if self.inflation is not None else "idle"
        raise ValueError(f"unknown command {verb!r}; known: {self.COMMANDS}")

    def _send(self, frame: bytes) -> None:
        if self.scenario.garbage:
            self._out += self._noise()
        self._out += frame

    def _noise(self) -> bytes:
        raise NotImplementedError

    def _finish(self, inflation: Inflation) -> None:
        raise NotImplementedError

    def _wake_at(self) -> float | None:
        inflation = self.inflation
        if inflation is None:
            return None
        if self.scenario.unplug and not self._unplugged_once:
            return min(inflation.end_s, inflation.start_s + UNPLUG_AFTER_S * self.time_scale)
        return inflation.end_s


class SuntechSimulator(_BpSimulator):
    """The OEM module: answers start, abort, cuff pressure and result requests."""

    def __init__(self, scenario: str, *, time_scale: float = 1.0, seed: int = 0) -> None:
        super().__init__(scenario, time_scale=time_scale, seed=seed)
        self._decoder = suntech.SuntechDecoder()
        self.last_result: suntech.ResultFrame | None = None

    def feed(self, data: bytes, now_s: float) -> None:
        """Handle the host's requests (garbage from the host is ignored like a module would)."""
        for item in self._decoder.feed(data):
            if isinstance(item, HostRequest):
                self._handle(item.body, now_s)

    def control(self, command: str, now_s: float) -> str:
        """Shared commands; `measure` is refused: this module is started by the host."""
        if command.strip() == "measure":
            raise ValueError("the SunTech module is started by the host, not by an operator")
        return super().control(command, now_s)

    def _handle(self, body: bytes, now_s: float) -> None:
        if body[0] in (suntech.CMD_START_ADULT, 0x87, 0x28):
            if self.inflation is not None:
                self._send(suntech.ack_frame("B"))
                return
            self.inflation = Inflation(now_s, self.scenario, self.time_scale)
            self._send(suntech.ack_frame("O"))
        elif body == suntech.ABORT_REQUEST[1:-1]:
            if self.inflation is None:
                self._send(suntech.ack_frame("O"))
                return
            self.inflation = None
            self.last_result = suntech.ResultFrame(0, 0, 0, 0, 86)
            self._send(suntech.ack_frame("A"))
        elif body == suntech.CUFF_PRESSURE_REQUEST[1:-1]:
            pressure = 0 if self.inflation is None else self.inflation.pressure_at(now_s)
            self._send(suntech.cuff_pressure_frame(pressure))
        elif body == suntech.RESULT_REQUEST[1:-1]:
            if self.inflation is not None:
                self._send(suntech.ack_frame("B"))
            elif self.last_result is None:
                self._send(suntech.ack_frame("E"))
            else:
                self._send(self.last_result.encode())
        else:
            self._send(suntech.ack_frame("N"))

    def _finish(self, inflation: Inflation) -> None:
        s = inflation.scenario
        code = SUNTECH_FAULT_CODES.get(s.fault or "", 0)
        vitals = (0, 0, 0, 0) if code else (s.systolic, s.diastolic, s.pulse, s.mean)
        self.last_result = suntech.ResultFrame(*vitals, return_code=code)
        self._send(suntech.ack_frame("K"))  # unsolicited: the measurement is complete

    def _noise(self) -> bytes:
        # Line noise without start bytes: a stray 3E could legitimately hold a frame hostage
        # until the driver's partial-frame timeout, which is tested separately.
        starts = (suntech.DEVICE_START, suntech.HOST_START)
        return bytes(b for b in self._rng.randbytes(GARBAGE_BURST_BYTES) if b not in starts)


class Omron9030Simulator(_BpSimulator):
    """The push-only meter: `measure` presses START; the reading line arrives at the end."""

    COMMANDS = "measure, scenario NAME, status"

    def feed(self, data: bytes, now_s: float) -> None:
        """The meter ignores anything the host writes."""

    def control(self, command: str, now_s: float) -> str:
        """`measure` (press START) plus the shared commands."""
        if command.strip() == "measure":
            if self.inflation is not None:
                return "already measuring"
            self.inflation = Inflation(now_s, self.scenario, self.time_scale)
            return "measuring"
        return super().control(command, now_s)

    def _finish(self, inflation: Inflation) -> None:
        s = inflation.scenario
        code = OMRON_FAULT_CODES.get(s.fault or "", 0)
        line = omron9030.ReadingLine(
            taken_at=SIM_CLOCK_START + timedelta(minutes=self.measurements),
            error_code=code,
            systolic=None if code else s.systolic,
            diastolic=None if code else s.diastolic,
            pulse=None if code else s.pulse,
            movement_count=1 if s.fault == "movement" else 0,
            subject_id=SIM_SUBJECT_ID,
        )
        self._send(line.encode())

    def _noise(self) -> bytes:
        noise = bytes(b for b in self._rng.randbytes(GARBAGE_BURST_BYTES) if b != 0x0A)
        return noise + b"\r\n"


def make_simulator(
    scenario: str = "default", protocol: str = "suntech", *, time_scale: float = 1.0, seed: int = 0
) -> DeviceSimulator:
    """A simulator for `protocol` ("suntech" or "omron9030") playing `scenario`."""
    if protocol == "suntech":
        return SuntechSimulator(scenario, time_scale=time_scale, seed=seed)
    if protocol == "omron9030":
        return Omron9030Simulator(scenario, time_scale=time_scale, seed=seed)
    raise ValueError(f"no BP simulator for protocol {protocol!r}; known: suntech, omron9030")
