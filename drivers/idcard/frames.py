"""SAM protocol frames: pure bytes ⇄ frozen dataclasses, host commands and reader responses.

Command  `AA AA AA 96 69 | LEN(2, BE) | CMD | PARA | data | XOR`
Response `AA AA AA 96 69 | LEN(2, BE) | SW1 SW2 SW3 | data | XOR`
LEN counts every byte after itself, checksum included; XOR covers LEN..last data byte.
The wire has no direction bit: commands and responses are told apart by structure
(`is_command_payload`), never by SW1, which readers do not always send as 00 (docs/design.md §2.1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from drivers.errors import FrameError

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
LENGTH_BYTES = 2
HEADER_BYTES = len(PREAMBLE) + LENGTH_BYTES
MIN_DECLARED_LENGTH = 3  # a command without data: CMD PARA XOR
TEXT_BYTES = 256
PHOTO_BYTES = 1024
MAX_FINGERPRINT_BYTES = 1024
# The largest frame is the read-with-fingerprint response: 7 + 3 + 6 + 256 + 1024 + 1024 + 1 = 2321.
MAX_FRAME_BYTES = 2400
MAX_DECLARED_LENGTH = MAX_FRAME_BYTES - HEADER_BYTES
SAM_ID_BYTES = 16

# Frame-level discard reasons (FrameError.reason), stable strings for logs and captures.
REASON_GARBAGE = "garbage"
REASON_BAD_LENGTH = "bad length"
REASON_BAD_CHECKSUM = "bad checksum"
REASON_TRUNCATED = "truncated"
REASON_BAD_PAYLOAD = "bad payload"


@dataclass(frozen=True, repr=False)
class Command:
    """A host → reader request."""

    cmd: int
    para: int
    data: bytes = b""

    @property
    def name(self) -> str:
        """The command's name from GA 467, or its hex code."""
        return COMMAND_NAMES.get((self.cmd, self.para), f"cmd {self.cmd:02X} {self.para:02X}")

    def __repr__(self) -> str:
        return f"Command({self.name}, data=<{len(self.data)} bytes>)"


@dataclass(frozen=True, repr=False)
class Response:
    """A reader → host answer; `sw3` is the status (0x90 success), `sw1`/`sw2` as the reader
    sent them (not always 00, docs/design.md §2.1); `data` may hold PII."""

    sw3: int
    data: bytes = b""
    sw1: int = 0
    sw2: int = 0

    def __repr__(self) -> str:
        return f"Response(sw3=0x{self.sw3:02X}, data=<{len(self.data)} bytes>)"


Frame = Command | Response

RESET = Command(0x10, 0xFF)
STATUS = Command(0x11, 0xFF)
READ_SAM_ID = Command(0x12, 0xFF)
FIND_CARD = Command(0x20, 0x01)
SELECT_CARD = Command(0x20, 0x02)
READ_CARD = Command(0x30, 0x01)
READ_APPENDED_ADDRESS = Command(0x30, 0x03)
READ_CARD_WITH_FINGERPRINT = Command(0x30, 0x10)

COMMAND_NAMES: dict[tuple[int, int], str] = {
    (0x10, 0xFF): "reset",
    (0x11, 0xFF): "status",
    (0x12, 0xFF): "read SAM id",
    (0x20, 0x01): "find card",
    (0x20, 0x02): "select card",
    (0x30, 0x01): "read card",
    (0x30, 0x03): "read appended address",
    (0x30, 0x10): "read card with fingerprint",
}
COMMAND_CODE_BYTES = 2  # CMD PARA
RESPONSE_STATUS_BYTES = 3  # SW1 SW2 SW3
# Data bytes each known command carries (none of the GA 467 commands above carries any).
COMMAND_DATA_BYTES: dict[tuple[int, int], frozenset[int]] = {
    code: frozenset({0}) for code in COMMAND_NAMES
}


def xor_checksum(data: bytes | bytearray | memoryview) -> int:
    """XOR of all bytes, folded as one big integer (far faster than a Python loop on 1 KB)."""
    width = len(data)
    if width == 0:
        return 0
    value = int.from_bytes(data, "little")
    while width > 1:
        half = (width + 1) // 2
        value = (value & ((1 << (8 * half)) - 1)) ^ (value >> (8 * half))
        width = half
    return value


def payload_of(frame: Frame) -> bytes:
    """The bytes between LEN and XOR."""
    if isinstance(frame, Command):
        return bytes((frame.cmd, frame.para)) + frame.data
    return bytes((frame.sw1, frame.sw2, frame.sw3)) + frame.data


def encode(frame: Frame) -> bytes:
    """The full wire frame; ValueError if the frame would exceed MAX_FRAME_BYTES."""
    payload = payload_of(frame)
    declared = len(payload) + 1
    if declared > MAX_DECLARED_LENGTH:
        raise ValueError(f"frame of {declared + HEADER_BYTES} bytes exceeds {MAX_FRAME_BYTES}")
    body = declared.to_bytes(LENGTH_BYTES, "big") + payload
    return PREAMBLE + body + bytes((xor_checksum(body),))


def is_command_payload(payload: bytes) -> bool:
    """True for a host command: a known CMD PARA with its data size, or a bare 2-byte CMD PARA.

    SW1 cannot tell: readers answer `XX XX SW3` with any SW1/SW2 (docs/design.md §2.1), so a
    reply is anything of at least 3 bytes that is not a known command's exact shape.
    """
    if len(payload) == COMMAND_CODE_BYTES:
        return payload[0] != 0x00
    data_bytes = COMMAND_DATA_BYTES.get((payload[0], payload[1])) if len(payload) > 2 else None
    return data_bytes is not None and len(payload) - COMMAND_CODE_BYTES in data_bytes


def parse_payload(payload: bytes) -> Frame:
    """Classify a checked payload by structure (see `is_command_payload`), never by SW1."""
    if is_command_payload(payload):
        return Command(cmd=payload[0], para=payload[1], data=bytes(payload[2:]))
    if len(payload) >= RESPONSE_STATUS_BYTES:
        return Response(sw3=payload[2], data=bytes(payload[3:]), sw1=payload[0], sw2=payload[1])
    raise FrameError(REASON_BAD_PAYLOAD, length=len(payload))


def decode(raw: bytes) -> Frame:
    """Decode exactly one whole frame (preamble to checksum); FrameError if it is not one."""
    if not raw.startswith(PREAMBLE) or len(raw) < HEADER_BYTES + MIN_DECLARED_LENGTH:
        raise FrameError(REASON_GARBAGE, length=len(raw))
    declared = int.from_bytes(raw[len(PREAMBLE) : HEADER_BYTES], "big")
    if not MIN_DECLARED_LENGTH <= declared <= MAX_DECLARED_LENGTH:
        raise FrameError(REASON_BAD_LENGTH, length=len(raw))
    if len(raw) != HEADER_BYTES + declared:
        raise FrameError(REASON_TRUNCATED, length=len(raw))
    if xor_checksum(raw[len(PREAMBLE) : -1]) != raw[-1]:
        raise FrameError(REASON_BAD_CHECKSUM, length=len(raw))
    return parse_payload(raw[HEADER_BYTES:-1])


@dataclass(frozen=True, repr=False)
class ReadData:
    """The data of a successful read: 256-byte text block, opaque photo, optional fingerprint."""

    text: bytes
    photo: bytes
    fingerprint: bytes | None = None

    def __repr__(self) -> str:
        fingerprint = "none" if self.fingerprint is None else f"{len(self.fingerprint)} bytes"
        sizes = f"text=<{len(self.text)} bytes>, photo=<{len(self.photo)} bytes>"
        return f"ReadData({sizes}, fingerprint={fingerprint})"


def encode_read_data(read: ReadData) -> bytes:
    """`text_len | photo_len [| fp_len] | text | photo [| fp]`, lengths big-endian."""
    lengths = struct.pack(">HH", len(read.text), len(read.photo))
    if read.fingerprint is None:
        return lengths + read.text + read.photo
    return (
        lengths
        + struct.pack(">H", len(read.fingerprint))
        + read.text
        + read.photo
        + read.fingerprint
    )


def parse_read_data(data: bytes) -> ReadData:
    """Split a read response's data; the fingerprint variant is recognised by its total length."""
    if len(data) < 4:
        raise FrameError(REASON_BAD_PAYLOAD, length=len(data))
    text_len, photo_len = struct.unpack_from(">HH", data)
    if text_len != TEXT_BYTES or photo_len > PHOTO_BYTES:
        raise FrameError(REASON_BAD_PAYLOAD, length=len(data))
    if len(data) == 4 + text_len + photo_len:
        return ReadData(text=data[4 : 4 + text_len], photo=data[4 + text_len :])
    if len(data) >= 6:
        (fp_len,) = struct.unpack_from(">H", data, 4)
        if fp_len <= MAX_FINGERPRINT_BYTES and len(data) == 6 + text_len + photo_len + fp_len:
            start = 6 + text_len
            return ReadData(
                text=data[6:start],
                photo=data[start : start + photo_len],
                fingerprint=data[start + photo_len :],
            )
    raise FrameError(REASON_BAD_PAYLOAD, length=len(data))


def format_sam_id(data: bytes) -> str:
    """The 16 SAM-id bytes as vendors print them: `05.01-20101230-0001234567-1234567890`."""
    if len(data) != SAM_ID_BYTES:
        raise FrameError(REASON_BAD_PAYLOAD, length=len(data))
    _, first, second, third = struct.unpack("<IIII", data)
    return f"{data[0]:02d}.{data[2]:02d}-{first:08d}-{second:010d}-{third:010d}"


def encode_sam_id(major: int, minor: int, first: int, second: int, third: int) -> bytes:
    """Inverse of `format_sam_id`, for simulators."""
    return bytes((major, 0, minor, 0)) + struct.pack("<III", first, second, third)
