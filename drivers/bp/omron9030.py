"""Omron HBP-9030 "format 5" output: one CRLF-terminated CSV line per finished measurement.

`YYYY,MM,DD,hh,mm,<ID:20>,E,SSS,DDD,PPP,M` — fixed widths 4,2,2,2,2,20,1,3,3,3,1 (53 bytes,
55 with CRLF); E is the error number (0 = none; with an error the vital fields are blank),
M the movement count. Source: a public HBP-9030 gateway's protocol contract citing the HBP-9030
instruction manual, USB output format 5. The meter is push-only: the resident presses START on
the meter and the line arrives when the measurement ends; the host cannot start or abort.

The ID field may hold a patient ID: it is parsed to validate the frame and then dropped. It is
never put into events, reprs, logs or error messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from drivers.bp.events import BpResult, DecodedItem
from drivers.bp.messages import UNKNOWN_ERROR_KEY, message_for
from drivers.bp.plausibility import checked
from drivers.bp.protocol import BpProtocol, BufferedDecoder, MeasurementSession, SessionOutput
from drivers.errors import DeviceTimeout

BAUDRATE = 9600
FIELD_WIDTHS = (4, 2, 2, 2, 2, 20, 1, 3, 3, 3, 1)
LINE_PAYLOAD_BYTES = sum(FIELD_WIDTHS) + len(FIELD_WIDTHS) - 1
MAX_LINE_BYTES = 72  # one format-5 line is 53 bytes (+CRLF); anything much longer is not ours
ID_BYTES = 20
BLANK_VITAL = "   "
MEASUREMENT_TIMEOUT_S = 180.0  # the resident has to sit down, wrap the cuff and press START

# Error number -> key. NOT verified against the HBP-9030 manual (no public copy found); taken
# from the error lists of Omron's professional monitors (E1 cuff/air leak, E2 movement, E3
# over-inflation, E5 cuff wrapping, E9 device). Check against manual 2873643-0F before use.
ERROR_KEYS = MappingProxyType(
    {
        1: "cuff_leak",
        2: "movement",
        3: "cuff_overpressure",
        4: "no_reading",
        5: "cuff_position",
        6: "no_reading",
        7: "no_reading",
        8: "hardware_fault",
        9: "hardware_fault",
    }
)


def error_key_for(code: int) -> str | None:
    """The stable error key for an error number (None for 0 = no error)."""
    if code == 0:
        return None
    return ERROR_KEYS.get(code, UNKNOWN_ERROR_KEY)


class LineError(ValueError):
    """A line that is not a format-5 reading; the message is a fixed reason, never line text."""


@dataclass(frozen=True)
class ReadingLine:
    """One format-5 line; `subject_id` is kept only to encode lines (simulator, captures)."""

    taken_at: datetime
    error_code: int
    systolic: int | None
    diastolic: int | None
    pulse: int | None
    movement_count: int
    subject_id: str = field(default=" " * ID_BYTES, repr=False)

    def encode(self) -> bytes:
        """The line as the meter sends it, CRLF included."""
        t = self.taken_at
        vitals = [
            BLANK_VITAL if self.error_code or value is None else f"{value:03d}"
            for value in (self.systolic, self.diastolic, self.pulse)
        ]
        fields = [
            f"{t.year:04d}",
            f"{t.month:02d}",
            f"{t.day:02d}",
            f"{t.hour:02d}",
            f"{t.minute:02d}",
            self.subject_id.ljust(ID_BYTES)[:ID_BYTES],
            str(self.error_code),
            *vitals,
            str(self.movement_count),
        ]
        return (",".join(fields) + "\r\n").encode("ascii")

    def to_result(self) -> BpResult:
        """The protocol-neutral result (no ID); vitals are None when the meter reports an error
        or the reading is implausible (docs/design.md §2.2)."""
        key = error_key_for(self.error_code)
        ok = key is None
        result = BpResult(
            systolic=self.systolic if ok else None,
            diastolic=self.diastolic if ok else None,
            pulse=self.pulse if ok else None,
            mean=None,
            error_code=self.error_code,
            error_key=key,
            error=None if key is None else message_for(key),
            movement=self.movement_count,
            taken_at=self.taken_at,
        )
        return checked(result)


def _digits(text: str, what: str, max_len: int = 4) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > max_len:
        raise LineError(f"bad {what} field")
    return int(text)


def _error_number(text: str) -> int:
    # "0"/"1".."9" as documented; "E1" and a blank (no error) are seen in the field too.
    text = text.strip().upper().removeprefix("E")
    return _digits(text, "error", 2) if text else 0


def parse_line(line: bytes) -> ReadingLine:
    """Parse one line without its CRLF; LineError with a fixed reason if it is not format 5.

    The documented layout has fixed widths; this also accepts the unpadded and space-padded
    variants other firmware and gateways write, since the field order is what identifies it.
    """
    if len(line) > MAX_LINE_BYTES:
        raise LineError("wrong line length")
    if any(byte < 0x20 or byte > 0x7E for byte in line):
        raise LineError("non-ASCII line")
    fields = line.decode("ascii").split(",")
    if len(fields) != len(FIELD_WIDTHS) or len(fields[5]) > ID_BYTES:
        raise LineError("wrong field layout")
    year = _digits(fields[0], "date", 4)
    month, day, hour, minute = (_digits(f, "date", 2) for f in fields[1:5])
    try:
        # Naive on purpose: the meter's own local clock, not a trusted wall clock.
        taken_at = datetime(year, month, day, hour, minute)
    except ValueError:
        raise LineError("invalid date") from None
    error_code = _error_number(fields[6])
    movement_count = _digits(fields[10], "movement", 2) if fields[10].strip() else 0
    vitals: list[int | None] = []
    for text, what in zip(fields[7:10], ("systolic", "diastolic", "pulse"), strict=True):
        # With an error the meter blanks the vitals; without one they must all be digits.
        blank_or_zero = not text.strip() or text.strip().strip("0") == ""
        vitals.append(None if error_code and blank_or_zero else _digits(text, what, 3))
    systolic, diastolic, pulse = vitals
    return ReadingLine(
        taken_at, error_code, systolic, diastolic, pulse, movement_count, subject_id=fields[5]
    )


class Omron9030Decoder(BufferedDecoder):
    """Line decoder with a length cap; bad lines become FrameError values, resync on next LF."""

    def __init__(self) -> None:
        super().__init__()
        self._skipping = False  # inside an over-long line: drop through the next LF

    def feed(self, data: bytes) -> list[DecodedItem]:
        """Take more bytes; return readings and discarded lines (never raises)."""
        out: list[DecodedItem] = []
        self._buf += data
        while self._buf:
            end = self._buf.find(b"\n")
            if end < 0:
                if len(self._buf) > MAX_LINE_BYTES:
                    self._drop(len(self._buf), "line too long", out)
                    self._skipping = True
                return out
            length = end + 1
            if self._skipping or length > MAX_LINE_BYTES:
                self._drop(length, "line too long", out)
                self._skipping = False
                continue
            self._take_line(bytes(self._buf[:length]), out)
        return out

    def expire_partial(self) -> list[DecodedItem]:
        """The line went quiet mid-line: report the partial line as discarded."""
        out: list[DecodedItem] = []
        if self._buf:
            self._drop(len(self._buf), "incomplete line", out)
        self._skipping = False
        self._discards.close(out)
        return out

    def flush(self) -> list[DecodedItem]:
        """End of stream: report anything buffered as discarded."""
        return self.expire_partial()

    def _take_line(self, raw: bytes, out: list[DecodedItem]) -> None:
        body = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        if not body:  # blank separator lines carry nothing
            self._consume(len(raw))
            return
        try:
            reading = parse_line(body)
        except LineError as exc:
            self._drop(len(raw), str(exc), out)
            return
        self._discards.close(out)
        out.append(reading.to_result())
        self._consume(len(raw))


class Omron9030Session:
    """Waiting for the one pushed line; the meter cannot be started or polled."""

    def __init__(self, *, timeout_s: float = MEASUREMENT_TIMEOUT_S) -> None:
        self._timeout_s = timeout_s
        self._deadline_s = math.inf
        self._done = False

    @property
    def wake_at_s(self) -> float:
        """The deadline for the reading."""
        return self._deadline_s

    @property
    def finished(self) -> bool:
        """True once the reading arrived or the wait timed out."""
        return self._done

    def begin(self, now_s: float) -> SessionOutput:
        """Start waiting (nothing to send)."""
        self._deadline_s = now_s + self._timeout_s
        return SessionOutput()

    def on_event(self, event: DecodedItem, now_s: float) -> SessionOutput:
        """A reading finishes the session; anything else is ignored."""
        if self._done or not isinstance(event, BpResult):
            return SessionOutput()
        self._done = True
        return SessionOutput(result=event)

    def on_tick(self, now_s: float) -> SessionOutput:
        """DeviceTimeout once the deadline passes without a reading."""
        if not self._done and now_s >= self._deadline_s:
            self._done = True
            raise DeviceTimeout("no reading arrived from the meter")
        return SessionOutput()


def _new_session(timeout_s: float) -> MeasurementSession:
    return Omron9030Session(timeout_s=timeout_s)


PROTOCOL = BpProtocol(
    name="omron9030",
    baudrate=BAUDRATE,
    push_only=True,
    new_decoder=Omron9030Decoder,
    new_session=_new_session,
    abort_request=b"",
    result_fields=("movement", "taken_at"),
)
