"""The reader side of the SAM protocol, built from the same frame code; scenarios are data."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass

from drivers.errors import FrameError
from drivers.idcard.card import IdCard, encode_text_block
from drivers.idcard.decoder import FrameDecoder
from drivers.idcard.frames import (
    FIND_CARD,
    PREAMBLE,
    READ_APPENDED_ADDRESS,
    READ_CARD,
    READ_CARD_WITH_FINGERPRINT,
    READ_SAM_ID,
    REASON_BAD_CHECKSUM,
    RESET,
    SELECT_CARD,
    STATUS,
    Command,
    ReadData,
    Response,
    encode,
    encode_read_data,
)
from drivers.idcard.samples import SAMPLE_CARDS, SAMPLE_SAM_ID
from drivers.simulation import SimOutput

SLOW_RESPONSE_DELAY_S = 0.4
UNPLUG_AFTER_READ_DELAY_S = 0.05
FIND_DATA = bytes(4)
SELECT_DATA = bytes(8)
APPENDED_ADDRESS_BYTES = 70
MAX_GARBAGE_BYTES = 40
_NOISE_BYTES = bytes(b for b in range(256) if b != PREAMBLE[0])


@dataclass(frozen=True)
class Scenario:
    """How the simulated reader behaves; `card` names a SAMPLE_CARDS entry (None: no card)."""

    card: str | None = "resident"
    response_delay_s: float = 0.0
    corrupt_every_other_read: bool = False
    garbage_bursts: bool = False
    unplug_after_read: bool = False
    # SW1 SW2 of every reply: vendor tables print `XX XX SW3`, and some readers send non-zero.
    sw1_sw2: tuple[int, int] = (0x00, 0x00)
    read_fails: bool = False  # every read answers SW3 0x41 (a card that cannot be read)
    sam_status: int = 0x90  # what STATUS answers: 0x66 = SAM not authorised (self-test failures)


SCENARIOS: Mapping[str, Scenario] = {
    "default": Scenario(),
    "resident": Scenario(),
    "absent": Scenario(card=None),
    "hkmotw_permit": Scenario(card="hkmotw_permit"),
    "foreign_pr_2017": Scenario(card="foreign_pr_2017"),
    "foreign_pr_2023": Scenario(card="foreign_pr_2023"),
    "fingerprint": Scenario(card="fingerprint"),
    "rare_name": Scenario(card="rare_name"),
    "invalid_check_digit": Scenario(card="invalid_check_digit"),
    "slow": Scenario(response_delay_s=SLOW_RESPONSE_DELAY_S),
    "checksum_corruption": Scenario(corrupt_every_other_read=True),
    "garbage_bursts": Scenario(garbage_bursts=True),
    "unplug": Scenario(unplug_after_read=True),
    "nonzero_sw": Scenario(sw1_sw2=(0x12, 0x34)),
    "unreadable_nonzero_sw": Scenario(sw1_sw2=(0x12, 0x34), read_fails=True),
    "sam_not_authorised": Scenario(card=None, sam_status=0x66),
}


@dataclass(frozen=True)
class _Pending:
    due_s: float
    data: bytes = b""
    unplug: bool = False


def read_response(card: IdCard, *, with_fingerprint: bool) -> Response:
    """The reader's answer to a (fingerprint) read of `card`."""
    fingerprint = (card.fingerprint or b"") if with_fingerprint else None
    read = ReadData(text=encode_text_block(card), photo=card.photo, fingerprint=fingerprint)
    return Response(0x90, encode_read_data(read))


class IdCardSimulator:
    """Answers host commands like a SAM module with the scenario's card on (or off) it."""

    def __init__(self, scenario: Scenario, *, seed: int = 0) -> None:
        self.scenario = scenario
        self.card: IdCard | None = None
        self._decoder = FrameDecoder()
        self._pending: list[_Pending] = []
        self._selected = False
        self._reads = 0
        self._unplugging = False  # an unplug is scheduled: the reader no longer answers
        self._rng = random.Random(seed)
        self._apply(scenario)

    def _apply(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.card = None if scenario.card is None else SAMPLE_CARDS[scenario.card]
        self._selected = False

    def feed(self, data: bytes, now_s: float) -> None:
        """Take bytes the driver wrote and queue the answers."""
        for item in self._decoder.feed(data):
            if self._unplugging:
                continue
            if isinstance(item, Command):
                is_read = item in {READ_CARD, READ_CARD_WITH_FINGERPRINT}
                self._answer(self._respond(item), now_s, is_read=is_read)
            elif isinstance(item, FrameError) and item.reason == REASON_BAD_CHECKSUM:
                self._answer(Response(0x10), now_s, is_read=False)

    def poll(self, now_s: float) -> SimOutput:
        """Answers that are due; an unplug is always reported in a poll of its own."""
        due = [p for p in self._pending if p.due_s <= now_s]
        data = b"".join(p.data for p in due if not p.unplug)
        unplug_due = any(p.unplug for p in due)
        if data and unplug_due:
            due = [p for p in due if not p.unplug]
            unplug_due = False
        for p in due:
            self._pending.remove(p)
        if unplug_due and not data:
            self._unplugging = False  # answers again once plugged back in
        wake = min((p.due_s for p in self._pending), default=None)
        return SimOutput(data=data, wake_at_s=wake, unplug=unplug_due and not data)

    def control(self, command: str, now_s: float) -> str:
        """`insert <card>`, `remove`, `scenario <name>`; ValueError for anything else."""
        verb, _, argument = command.strip().partition(" ")
        argument = argument.strip()
        if verb == "insert" and argument in SAMPLE_CARDS:
            self.card = SAMPLE_CARDS[argument]
            self._selected = False
            return f"inserted {argument}"
        if verb == "remove" and not argument:
            self.card = None
            self._selected = False
            return "removed"
        if verb == "scenario" and argument in SCENARIOS:
            self._apply(SCENARIOS[argument])
            return f"scenario {argument}"
        cards = ", ".join(sorted(SAMPLE_CARDS))
        raise ValueError(
            f"unknown command; use: insert <{cards}> | remove | scenario <{', '.join(SCENARIOS)}>"
        )

    def _respond(self, command: Command) -> Response:
        handler = {
            RESET: self._ok,
            STATUS: lambda: Response(self.scenario.sam_status),
            READ_SAM_ID: self._sam_id,
            FIND_CARD: self._find,
            SELECT_CARD: self._select,
            READ_CARD: self._read,
            READ_CARD_WITH_FINGERPRINT: self._read_with_fingerprint,
            READ_APPENDED_ADDRESS: self._appended_address,
        }.get(command)
        return handler() if handler is not None else Response(0x21)

    def _ok(self) -> Response:
        return Response(0x90)

    def _sam_id(self) -> Response:
        return Response(0x90, SAMPLE_SAM_ID)

    def _find(self) -> Response:
        self._selected = False
        return Response(0x9F, FIND_DATA) if self.card else Response(0x80)

    def _select(self) -> Response:
        self._selected = self.card is not None
        return Response(0x90, SELECT_DATA) if self._selected else Response(0x81)

    def _read(self, *, with_fingerprint: bool = False) -> Response:
        if not self._selected or self.card is None or self.scenario.read_fails:
            return Response(0x41)
        return read_response(self.card, with_fingerprint=with_fingerprint)

    def _read_with_fingerprint(self) -> Response:
        return self._read(with_fingerprint=True)

    def _appended_address(self) -> Response:
        if self.card is None or not self.card.appended_address:
            return Response(0x91)
        text = self.card.appended_address.encode("utf-16-le")[:APPENDED_ADDRESS_BYTES]
        padding = " ".encode("utf-16-le") * ((APPENDED_ADDRESS_BYTES - len(text)) // 2)
        return Response(0x90, text + padding)

    def _answer(self, response: Response, now_s: float, *, is_read: bool) -> None:
        sw1, sw2 = self.scenario.sw1_sw2
        wire = encode(dataclasses.replace(response, sw1=sw1, sw2=sw2))
        is_read = is_read and response.sw3 == 0x90
        if is_read:
            self._reads += 1
            if self.scenario.corrupt_every_other_read and self._reads % 2 == 1:
                wire = wire[:-1] + bytes((wire[-1] ^ 0xFF,))
        if self.scenario.garbage_bursts:
            wire = self._garbage() + wire
        due = now_s + self.scenario.response_delay_s
        self._pending.append(_Pending(due, wire))
        if is_read and self.scenario.unplug_after_read:
            self._pending.append(_Pending(due + UNPLUG_AFTER_READ_DELAY_S, unplug=True))
            self._unplugging = True

    def _garbage(self) -> bytes:
        """Line noise: random bytes without 0xAA, sometimes a broken preamble or a bogus LEN."""
        size = self._rng.randint(1, MAX_GARBAGE_BYTES)
        noise = bytes(self._rng.choice(_NOISE_BYTES) for _ in range(size))
        extra = self._rng.choice([b"", PREAMBLE[:3], PREAMBLE + b"\xff\xff"])
        return noise + extra


def make_simulator(scenario: str = "default", **options: str) -> IdCardSimulator:
    """Build the simulator for a named scenario (ValueError if unknown); `seed` option allowed."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown idcard scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    unknown = set(options) - {"seed"}
    if unknown:
        raise ValueError(f"unknown idcard simulator options: {', '.join(sorted(unknown))}")
    return IdCardSimulator(SCENARIOS[scenario], seed=int(options.get("seed", "0")))
