"""SunTech-style OEM NIBP module (Advantage family): frames, streaming decoder, error table.

Wire format (9600 8N1): host frames are `3A CMD [params] CS`, device frames `3E LEN data CS`
where LEN counts every byte of the frame; CS makes all bytes of a frame sum to 0 mod 256.
The measurement state machine lives in `suntech_session.py`.

Sources cross-checked (public host implementations of this module, not the manual itself):
single-character replies `3E 04 <c> CS` with O = command received, K = command completed
(also sent unsolicited when a measurement ends), B = busy, A = aborted; E/N/D/S/T are further
refusals. Cuff pressure `3E 05 <int16 LE> CS`. Result `3E 18 …` (24 bytes): SYS at data
offset 0 and DIA at 2 (uint16 LE), heart rate at 14, MAP at 16 (uint16 LE), return code at 18.
The sources agree on nothing else in the result (the manual names mode, cycle count, time stamp
and status bytes there), so data bytes 4-13 and 19-20 are kept opaque instead of guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from drivers.bp.events import BpResult, CuffPressure, DecodedItem, DeviceAck, HostRequest
from drivers.bp.messages import UNKNOWN_ERROR_KEY, message_for
from drivers.bp.plausibility import checked
from drivers.bp.protocol import BpProtocol, BufferedDecoder, MeasurementSession

BAUDRATE = 9600
HOST_START = 0x3A
DEVICE_START = 0x3E

CMD_START_ADULT = 0x20
CMD_EXTENDED = 0x79
EXT_ABORT = 0x01
EXT_GET_RESULT = 0x03
EXT_CUFF_PRESSURE = 0x05

# Total host frame length by command byte (the host direction has no length field).
HOST_FRAME_BYTES = MappingProxyType(
    {
        0x00: 3,  # get module data
        0x04: 4,  # calibrate transducer
        0x0C: 6,  # control pneumatics
        0x17: 5,  # set initial inflate pressure
        0x20: 3,  # start adult measurement
        0x28: 3,  # start neonate measurement
        0x79: 5,  # extended command: abort / get result / cuff pressure / return string
        0x87: 3,  # start paediatric measurement
        0x8A: 3,  # reset
    }
)

ACK_FRAME_BYTES = 4
CUFF_FRAME_BYTES = 5
RESULT_FRAME_BYTES = 24
MIN_DEVICE_FRAME_BYTES = 4
# The longest reply host code sizes its buffer for (version string); longer is garbage.
MAX_DEVICE_FRAME_BYTES = 67
RESULT_OPAQUE_HEAD_BYTES = 10
RESULT_OPAQUE_TAIL_BYTES = 2

ACK_MEANINGS = MappingProxyType(
    {
        "O": "received",
        "K": "completed",
        "B": "busy",
        "A": "aborted",
        "E": "error",
        "N": "undefined command",
        "D": "unrecognised command",
        "S": "sleeping",
        "T": "timed out",
    }
)

# Return code -> error key. The module manual lists the codes in decimal (85 pneumatic blockage
# … 99 calibration). Firmware differs in how it sends them: some as the binary value 0x55…0x63
# (= 85…99), some as the decimal digits in hex (BCD) 0x85…0x99; one public host implementation
# is written for each. Both are accepted (`documented_code`); 92–96 and 98 are not in the manual.
ERROR_KEYS = MappingProxyType(
    {
        1: "weak_signal",  # weak or no oscillometric signal
        2: "movement",  # erratic signal, artifact (movement)
        3: "out_of_range",  # blood pressure beyond the measurable range
        4: "timeout",  # measurement exceeded the maximum time
        85: "tube_blocked",  # pneumatic blockage
        86: "aborted",  # measurement terminated by the user (abort command)
        87: "cuff_leak",  # inflation timeout, air leak or loose cuff
        88: "safety_timeout",  # safety timeout
        89: "cuff_overpressure",  # cuff over-pressure
        90: "hardware_fault",  # power supply out of range or other hardware problem
        91: "meter_not_ready",  # permission problem: safety override or auto-zero out of range
        97: "hardware_fault",  # transducer out of range
        99: "hardware_fault",  # EEPROM calibration data failure
    }
)


def checksum(data: bytes) -> int:
    """The byte that makes `data` plus itself sum to 0 mod 256."""
    return -sum(data) & 0xFF


def host_frame(body: bytes) -> bytes:
    """A host request: start byte, command and parameters, checksum."""
    frame = bytes([HOST_START]) + body
    return frame + bytes([checksum(frame)])


def device_frame(payload: bytes) -> bytes:
    """A device reply: start byte, total length, payload, checksum."""
    frame = bytes([DEVICE_START, len(payload) + 3]) + payload
    return frame + bytes([checksum(frame)])


START_REQUEST = host_frame(bytes([CMD_START_ADULT]))
ABORT_REQUEST = host_frame(bytes([CMD_EXTENDED, EXT_ABORT, 0x00]))
RESULT_REQUEST = host_frame(bytes([CMD_EXTENDED, EXT_GET_RESULT, 0x00]))
CUFF_PRESSURE_REQUEST = host_frame(bytes([CMD_EXTENDED, EXT_CUFF_PRESSURE, 0x00]))


BCD_CODES = range(0x85, 0x99 + 1)


def documented_code(code: int) -> int:
    """The manual's decimal code for a return code sent either way (0x57 and 0x87 are both 87)."""
    tens, units = divmod(code, 0x10)
    if code in BCD_CODES and units <= 9:
        return tens * 10 + units
    return code


def error_key_for(code: int) -> str | None:
    """The stable error key for a return code (None for 0 = success)."""
    if code == 0:
        return None
    return ERROR_KEYS.get(documented_code(code), UNKNOWN_ERROR_KEY)


@dataclass(frozen=True)
class ResultFrame:
    """The 24-byte result reply; vitals in mmHg and beats/min as the module reports them."""

    systolic: int
    diastolic: int
    pulse: int
    mean: int
    return_code: int
    opaque_head: bytes = bytes(RESULT_OPAQUE_HEAD_BYTES)
    opaque_tail: bytes = bytes(RESULT_OPAQUE_TAIL_BYTES)

    def encode(self) -> bytes:
        """The complete device frame."""
        payload = (
            self.systolic.to_bytes(2, "little")
            + self.diastolic.to_bytes(2, "little")
            + self.opaque_head
            + self.pulse.to_bytes(2, "little")
            + self.mean.to_bytes(2, "little")
            + bytes([self.return_code])
            + self.opaque_tail
        )
        return device_frame(payload)

    @classmethod
    def decode(cls, frame: bytes) -> ResultFrame:
        """Parse a complete, checksum-verified 24-byte frame."""
        data = frame[2:-1]
        return cls(
            systolic=int.from_bytes(data[0:2], "little"),
            diastolic=int.from_bytes(data[2:4], "little"),
            opaque_head=bytes(data[4:14]),
            # One host implementation reads heart rate as a single byte; 16-bit LE agrees with it
            # for every real pulse (< 256) and with the other implementation.
            pulse=int.from_bytes(data[14:16], "little"),
            mean=int.from_bytes(data[16:18], "little"),
            return_code=data[18],
            opaque_tail=bytes(data[19:21]),
        )

    def to_result(self) -> BpResult:
        """The protocol-neutral result; vitals are None when the module reports an error or
        the reading is implausible (docs/design.md §2.2)."""
        key = error_key_for(self.return_code)
        if key is not None:
            return BpResult(None, None, None, None, self.return_code, key, message_for(key))
        return checked(
            BpResult(self.systolic, self.diastolic, self.pulse, self.mean, 0, None, None)
        )


def ack_frame(code: str) -> bytes:
    """A one-character reply frame (`O`, `K`, `B`, `A`, …)."""
    return device_frame(code.encode("ascii"))


def cuff_pressure_frame(mmhg: int) -> bytes:
    """A cuff pressure reply (signed 16-bit LE: a drifting transducer can read below zero)."""
    return device_frame(mmhg.to_bytes(2, "little", signed=True))


def _decode_device(frame: bytes) -> CuffPressure | BpResult | DeviceAck | None:
    if len(frame) == ACK_FRAME_BYTES:
        byte = frame[2]
        code = chr(byte) if 0x20 <= byte < 0x7F else f"0x{byte:02X}"
        return DeviceAck(code, ACK_MEANINGS.get(code, "unknown reply"))
    if len(frame) == CUFF_FRAME_BYTES:
        return CuffPressure(int.from_bytes(frame[2:4], "little", signed=True))
    if len(frame) == RESULT_FRAME_BYTES:
        return ResultFrame.decode(frame).to_result()
    return None


class SuntechDecoder(BufferedDecoder):
    """Both directions of the line: device replies become events, host requests HostRequest."""

    def feed(self, data: bytes) -> list[DecodedItem]:
        """Take more bytes; return complete frames and discarded runs (never raises)."""
        out: list[DecodedItem] = []
        self._buf += data
        self._scan(out)
        return out

    def expire_partial(self) -> list[DecodedItem]:
        """Drop the stalled frame head (the line went quiet) and rescan what follows."""
        out: list[DecodedItem] = []
        if self._buf:
            self._drop(1, "incomplete frame", out)
            self._scan(out)
        if not self._buf:
            self._discards.close(out)
        return out

    def flush(self) -> list[DecodedItem]:
        """End of stream: decode what can be decoded and report the rest as discarded."""
        out: list[DecodedItem] = []
        while self._buf:
            out += self.expire_partial()
        self._discards.close(out)
        return out

    def _scan(self, out: list[DecodedItem]) -> None:
        while self._buf:
            first = self._buf[0]
            if first == DEVICE_START:
                complete = self._take_device_frame(out)
            elif first == HOST_START:
                complete = self._take_host_frame(out)
            else:
                self._drop(self._garbage_run(), "no start byte", out)
                complete = True
            if not complete:
                return

    def _garbage_run(self) -> int:
        for index, byte in enumerate(self._buf):
            if byte in (DEVICE_START, HOST_START):
                return index
        return len(self._buf)

    def _take_device_frame(self, out: list[DecodedItem]) -> bool:
        if len(self._buf) < 2:
            return False
        length = self._buf[1]
        if not MIN_DEVICE_FRAME_BYTES <= length <= MAX_DEVICE_FRAME_BYTES:
            self._drop(1, "bad length", out)
            return True
        if len(self._buf) < length:
            return False
        frame = bytes(self._buf[:length])
        if sum(frame) & 0xFF:
            self._drop(1, "bad checksum", out)
            return True
        event = _decode_device(frame)
        if event is None:
            self._drop(length, "unsupported device frame", out)
            return True
        self._emit(event, length, out)
        return True

    def _take_host_frame(self, out: list[DecodedItem]) -> bool:
        if len(self._buf) < 2:
            return False
        length = HOST_FRAME_BYTES.get(self._buf[1])
        if length is None:
            self._drop(1, "unknown host command", out)
            return True
        if len(self._buf) < length:
            return False
        frame = bytes(self._buf[:length])
        if sum(frame) & 0xFF:
            self._drop(1, "bad checksum", out)
            return True
        self._emit(HostRequest(frame[1:-1]), length, out)
        return True

    def _emit(self, event: DecodedItem, length: int, out: list[DecodedItem]) -> None:
        self._discards.close(out)
        out.append(event)
        self._consume(length)


def _new_session(timeout_s: float) -> MeasurementSession:
    # Imported late: the session module builds on this module's frames.
    from drivers.bp.suntech_session import SuntechSession

    return SuntechSession(timeout_s=timeout_s)


PROTOCOL = BpProtocol(
    name="suntech",
    baudrate=BAUDRATE,
    push_only=False,
    new_decoder=SuntechDecoder,
    new_session=_new_session,
    abort_request=ABORT_REQUEST,
    result_fields=("mean",),
    status_request=CUFF_PRESSURE_REQUEST,  # an idle module answers its cuff pressure: ~0 mmHg
)
