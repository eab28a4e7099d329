"""A serial QR scanner simulator speaking the same bytes as the driver (scenarios as data).

It answers the Honeywell serial trigger (`SYN T CR` → one code after a read delay) and menu
commands (echo + ACK), and never speaks first: pyserial flushes input when the driver opens
the port (docs/design.md §2.4), so output only follows a trigger or an operator `present` command.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from drivers.qrscan.frames import (
    MENU_PREFIX,
    TRIGGER_OFF,
    TRIGGER_ON,
    MenuStatus,
    Suffix,
    encode_menu_reply,
)
from drivers.simulation import SimOutput

READ_DELAY_S = 0.05
MAX_COMMAND_BYTES = 512
GARBAGE_BURST_BYTES = 24
SIM_SEED = 4
UNPLUG_DELAY_S = 0.2
# Garbage that cannot end a line or a menu reply: controls other than CR/LF/ACK/ENQ/NAK, and
# 8-bit bytes; so a burst is always discarded whole and never decodes as a code.
_GARBAGE_BYTES = bytes(b for b in range(256) if b < 0x20 or b >= 0x80).translate(
    None, b"\r\n\x05\x06\x15"
)


@dataclass(frozen=True)
class Scenario:
    """What the simulated scanner does when triggered."""

    name: str
    code_in_view: str | None = "https://kiosk.example.org/checkin/T0K3N-42"
    garbage_bursts: int = 0  # random non-printable bursts sent before each code
    oversize_chars: int = 0  # a too-long line sent before each code
    nonprintable_line: bool = False  # a line with a control byte sent before each code
    unplug_after_scans: int | None = None


SCENARIOS: Mapping[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("default"),
        # A synthetic stand-in: real 医保电子凭证 payloads are short-lived opaque tokens.
        Scenario("medical_code", code_in_view="MIC0A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6E7F8"),
        Scenario("garbage_bursts", garbage_bursts=2),
        Scenario("unplug", unplug_after_scans=1),
        Scenario("oversize", oversize_chars=4096),
        Scenario("nonprintable", nonprintable_line=True),
        Scenario("empty", code_in_view=None),
    )
}


class QrScannerSimulator:
    """Sans-I/O scanner: `feed` host bytes, `poll` for output; time is passed in."""

    def __init__(
        self, scenario: Scenario, *, suffix: Suffix = Suffix.CR, seed: int = SIM_SEED
    ) -> None:
        self.scenario = scenario
        self.suffix = suffix
        self.triggered = False
        self.scans = 0
        self.menu_commands: list[str] = []
        self._rng = random.Random(seed)
        self._inbox = bytearray()
        self._outbox = bytearray()
        self._code_due_s: float | None = None
        self._unplug_pending = False
        self._unplug_at_s: float | None = None

    def feed(self, data: bytes, now_s: float) -> None:
        """Take host bytes: trigger on/off and menu commands; anything else is ignored."""
        self._inbox += data
        while self._inbox:
            if self._inbox.startswith(TRIGGER_ON):
                del self._inbox[: len(TRIGGER_ON)]
                self.triggered = True
                if self.scenario.code_in_view is not None:
                    self._code_due_s = now_s + READ_DELAY_S
            elif self._inbox.startswith(TRIGGER_OFF):
                del self._inbox[: len(TRIGGER_OFF)]
                self.triggered = False
                self._code_due_s = None
            elif self._inbox.startswith(MENU_PREFIX):
                if not self._take_menu_command():
                    break
            elif any(cmd.startswith(bytes(self._inbox)) for cmd in _COMMAND_HEADS):
                break  # a partial command: wait for the rest
            else:
                del self._inbox[:1]  # noise on the line
        if len(self._inbox) > MAX_COMMAND_BYTES:
            self._inbox.clear()

    def _take_menu_command(self) -> bool:
        body_start = len(MENU_PREFIX)
        ends = (self._inbox.find(b".", body_start), self._inbox.find(b"!", body_start))
        found = [i for i in ends if i >= 0]
        if not found:
            return False
        end = min(found)
        body = bytes(self._inbox[body_start:end]).decode("ascii", errors="replace")
        volatile = self._inbox[end : end + 1] == b"!"
        del self._inbox[: end + 1]
        self.menu_commands.append(body)
        self._outbox += encode_menu_reply(body, MenuStatus.ACK, volatile=volatile)
        return True

    def poll(self, now_s: float) -> SimOutput:
        """Emit due output: pending replies now, the code in view once the read delay passed."""
        if self._code_due_s is not None and now_s >= self._code_due_s:
            self._code_due_s = None
            self.triggered = False  # a serial trigger ends with a good read
            assert self.scenario.code_in_view is not None
            self._emit_code(self.scenario.code_in_view)
        data = bytes(self._outbox)
        self._outbox.clear()
        if self._unplug_pending:
            # Unplug a moment after the last code, so the driver has read it first.
            self._unplug_pending = False
            self._unplug_at_s = now_s + UNPLUG_DELAY_S
        unplug = self._unplug_at_s is not None and now_s >= self._unplug_at_s
        if unplug:
            self._unplug_at_s = None
        wakes = [t for t in (self._code_due_s, self._unplug_at_s) if t is not None]
        return SimOutput(data=data, wake_at_s=min(wakes, default=None), unplug=unplug)

    def control(self, command: str, now_s: float) -> str:
        """`present <text>` sends a code now; `scenario <name>` switches behaviour."""
        verb, _, rest = command.strip().partition(" ")
        if verb == "present" and rest:
            self._emit_code(rest)
            return f"presented {len(rest)} chars"
        if verb == "scenario" and rest.strip() in SCENARIOS:
            self.scenario = SCENARIOS[rest.strip()]
            return f"scenario {self.scenario.name}"
        known = ", ".join(sorted(SCENARIOS))
        raise ValueError(f"unknown command; use 'present <text>' or 'scenario <{known}>'")

    def _emit_code(self, text: str) -> None:
        scenario = self.scenario
        for _ in range(scenario.garbage_bursts):
            burst = bytes(self._rng.choices(_GARBAGE_BYTES, k=GARBAGE_BURST_BYTES))
            self._outbox += burst + self.suffix
        if scenario.oversize_chars:
            self._outbox += b"X" * scenario.oversize_chars + self.suffix
        if scenario.nonprintable_line:
            self._outbox += b"AB\x07CD" + self.suffix
        self._outbox += text.encode("ascii", errors="replace") + self.suffix
        self.scans += 1
        if scenario.unplug_after_scans is not None and self.scans >= scenario.unplug_after_scans:
            self._unplug_pending = True


_COMMAND_HEADS = (TRIGGER_ON, TRIGGER_OFF, MENU_PREFIX)


def make_simulator(scenario: str = "default", *, suffix: str = "cr") -> QrScannerSimulator:
    """Build a scanner simulator for a scenario name (ValueError if unknown)."""
    try:
        chosen = SCENARIOS[scenario]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise ValueError(f"unknown qrscan scenario {scenario!r}; known: {known}") from None
    return QrScannerSimulator(chosen, suffix=Suffix.parse(suffix))
