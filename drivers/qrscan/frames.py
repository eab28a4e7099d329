"""Serial scanner bytes: suffix-terminated ASCII lines and Honeywell serial commands (pure).

Honeywell (and compatible) serial commands, docs/design.md §2.3 and the vendors' serial programming
chapters: trigger activate `SYN T CR`, deactivate `SYN U CR`; menu commands `SYN M CR` + tag,
subtag and data + storage (`.` non-volatile, `!` volatile). The scanner echoes a menu command
with a status byte (ACK good, ENQ unknown tag/subtag, NAK value out of range) placed directly
before each punctuation mark (`,` `;` `.` `!`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from drivers.errors import FrameError

SYN = 0x16
TRIGGER_ON = bytes([SYN]) + b"T\r"
TRIGGER_OFF = bytes([SYN]) + b"U\r"
MENU_PREFIX = bytes([SYN]) + b"M\r"

# A 300-character payload is the largest the project expects (docs/design.md §2.5); QR version 40
# holds at most 4,296 alphanumeric characters, which no resident's code approaches.
MAX_PAYLOAD_CHARS = 1024
MAX_MENU_COMMAND_CHARS = 256

REASON_NON_PRINTABLE = "non_printable"
REASON_OVERSIZE = "oversize"
REASON_TRUNCATED = "truncated"
REASON_BAD_MENU_REPLY = "bad_menu_reply"

_PRINTABLE_MIN, _PRINTABLE_MAX = 0x20, 0x7E
_MNEMONIC = re.compile(rb"^[\x20-\x7e]+$")


class Suffix(bytes, enum.Enum):
    """The terminator the scanner appends to every payload (configured on the scanner)."""

    CR = b"\r"
    LF = b"\n"
    CRLF = b"\r\n"

    @classmethod
    def parse(cls, value: bytes | str | Suffix) -> Suffix:
        """`b"\\r"`, `"cr"`, `"CRLF"`, … → Suffix; ValueError for anything else."""
        if isinstance(value, Suffix):
            return value
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                raise ValueError(f"unknown suffix {value!r}; use cr, lf or crlf") from None
        try:
            return cls(value)
        except ValueError:
            raise ValueError("unknown suffix bytes; use CR, LF or CRLF") from None


class MenuStatus(enum.Enum):
    """The status byte of a menu reply."""

    ACK = 0x06
    ENQ = 0x05
    NAK = 0x15

    @property
    def meaning(self) -> str:
        """Plain words for logs."""
        return _STATUS_MEANING[self]


_STATUS_MEANING = {
    MenuStatus.ACK: "command accepted",
    MenuStatus.ENQ: "unknown tag or subtag",
    MenuStatus.NAK: "value out of range",
}
STATUS_BYTES = frozenset(s.value for s in MenuStatus)
MENU_END_MARKS = b".!"
MENU_SEPARATORS = b",;"


@dataclass(frozen=True)
class MenuReply:
    """The scanner's echo of a menu command: text without status bytes, one status per command."""

    text: str
    statuses: tuple[MenuStatus, ...]
    volatile: bool

    @property
    def ok(self) -> bool:
        """True if every command in the sequence was accepted."""
        return all(s is MenuStatus.ACK for s in self.statuses)


def encode_menu_command(body: str, *, volatile: bool = True) -> bytes:
    """`SYN M CR` + body + storage mark; body is tag+subtag+data, e.g. `TRGMOD0`.

    Volatile (`!`) is the default so a kiosk never wears out or silently reconfigures the
    scanner's saved settings; pass `volatile=False` to save through a power cycle.
    """
    raw = body.encode("ascii", errors="strict")
    if not raw or len(raw) > MAX_MENU_COMMAND_CHARS or not _MNEMONIC.match(raw):
        raise ValueError("menu command must be 1-256 printable ASCII characters")
    if raw[-1:] in (b".", b"!"):
        raise ValueError("give the menu command without its storage mark")
    return MENU_PREFIX + raw + (b"!" if volatile else b".")


def is_printable(data: bytes) -> bool:
    """True if every byte is printable ASCII (0x20-0x7E)."""
    return all(_PRINTABLE_MIN <= b <= _PRINTABLE_MAX for b in data)


def first_non_printable(data: bytes) -> int:
    """Index of the first byte outside 0x20-0x7E, or -1."""
    for index, b in enumerate(data):
        if not _PRINTABLE_MIN <= b <= _PRINTABLE_MAX:
            return index
    return -1


def parse_menu_reply(unit: bytes, *, offset: int = 0) -> MenuReply | FrameError:
    """Decode one reply unit ending in status + `.`/`!`; FrameError value if malformed."""
    text = bytearray()
    statuses: list[MenuStatus] = []
    index = 0
    while index < len(unit):
        b = unit[index]
        if b in STATUS_BYTES:
            mark = unit[index + 1 : index + 2]
            if not mark or mark not in (b".", b"!", b",", b";"):
                return FrameError(REASON_BAD_MENU_REPLY, offset=offset, length=len(unit))
            statuses.append(MenuStatus(b))
            text += mark
            index += 2
            continue
        if not _PRINTABLE_MIN <= b <= _PRINTABLE_MAX:
            return FrameError(REASON_NON_PRINTABLE, offset=offset, length=len(unit))
        text.append(b)
        index += 1
    if not statuses or bytes(text[-1:]) not in (b".", b"!"):
        return FrameError(REASON_BAD_MENU_REPLY, offset=offset, length=len(unit))
    return MenuReply(text[:-1].decode("ascii"), tuple(statuses), volatile=bytes(text[-1:]) == b"!")


def encode_menu_reply(body: str, status: MenuStatus, *, volatile: bool) -> bytes:
    """What a scanner answers to a single menu command (for simulators and tests)."""
    return body.encode("ascii") + bytes([status.value]) + (b"!" if volatile else b".")
