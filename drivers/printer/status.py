"""DLE EOT real-time status bytes ⇄ a typed `PrinterStatus` (pure).

Every reply is one byte with bits 1 and 4 set and bits 0 and 7 clear (ESC/POS DLE EOT). Bits:
n=1 printer: bit 3 offline. n=2 offline cause: bit 2 cover open, bit 5 stopped by paper end,
bit 6 error. n=3 error cause: bit 3 auto-cutter error, bit 5 unrecoverable, bit 6
auto-recoverable. n=4 paper sensor: bits 2+3 roll near its end, bits 5+6 roll out.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.errors import DeviceFault
from drivers.printer.frames import StatusKind

STATUS_FIXED_MASK = 0b1001_0011
STATUS_FIXED_BITS = 0b0001_0010

# DeviceFault codes: (status kind << 8) | the status bits that mean it, so a code names the
# exact byte and bits a technician sees in a capture.
FAULT_PAPER_OUT = (StatusKind.PAPER_SENSOR << 8) | 0x60
FAULT_COVER_OPEN = (StatusKind.OFFLINE_CAUSE << 8) | 0x04
FAULT_CUTTER = (StatusKind.ERROR_CAUSE << 8) | 0x08
FAULT_UNRECOVERABLE = (StatusKind.ERROR_CAUSE << 8) | 0x20
FAULT_OFFLINE = (StatusKind.PRINTER << 8) | 0x08


def is_status_byte(value: int) -> bool:
    """True if `value` has the fixed bits of a DLE EOT reply."""
    return value & STATUS_FIXED_MASK == STATUS_FIXED_BITS


@dataclass(frozen=True)
class PrinterStatus:
    """The four real-time status bytes, read as what they mean for a kiosk."""

    offline: bool = False
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    cutter_error: bool = False
    unrecoverable_error: bool = False
    auto_recoverable_error: bool = False

    @property
    def can_print(self) -> bool:
        """True when a receipt would come out whole (near-end still prints)."""
        return not (
            self.offline
            or self.cover_open
            or self.paper_out
            or self.cutter_error
            or self.unrecoverable_error
        )

    def faults(self) -> tuple[DeviceFault, ...]:
        """Each condition that stops printing, as the DeviceFault a caller would get."""
        found: list[DeviceFault] = []
        if self.paper_out:
            found.append(DeviceFault(FAULT_PAPER_OUT, "paper out"))
        if self.cover_open:
            found.append(DeviceFault(FAULT_COVER_OPEN, "cover open"))
        if self.cutter_error:
            found.append(DeviceFault(FAULT_CUTTER, "auto-cutter error"))
        if self.unrecoverable_error:
            found.append(DeviceFault(FAULT_UNRECOVERABLE, "unrecoverable error"))
        if self.offline and not found:
            found.append(DeviceFault(FAULT_OFFLINE, "offline"))
        return tuple(found)

    def summary(self) -> dict[str, bool]:
        """Flat flags for JSON output."""
        return {
            "can_print": self.can_print,
            "offline": self.offline,
            "cover_open": self.cover_open,
            "paper_out": self.paper_out,
            "paper_near_end": self.paper_near_end,
            "cutter_error": self.cutter_error,
            "unrecoverable_error": self.unrecoverable_error,
            "auto_recoverable_error": self.auto_recoverable_error,
        }


def _bit(value: int, bit: int) -> bool:
    return bool(value >> bit & 1)


def parse_status(replies: dict[StatusKind, int]) -> PrinterStatus:
    """Read the status bytes that were answered; ValueError if one lacks the fixed bits."""
    for kind, value in replies.items():
        if not is_status_byte(value):
            raise ValueError(f"DLE EOT {int(kind)} reply 0x{value:02X} lacks the fixed bits")
    printer = replies.get(StatusKind.PRINTER, STATUS_FIXED_BITS)
    offline = replies.get(StatusKind.OFFLINE_CAUSE, STATUS_FIXED_BITS)
    error = replies.get(StatusKind.ERROR_CAUSE, STATUS_FIXED_BITS)
    paper = replies.get(StatusKind.PAPER_SENSOR, STATUS_FIXED_BITS)
    return PrinterStatus(
        offline=_bit(printer, 3),
        cover_open=_bit(offline, 2),
        paper_out=_bit(paper, 5) or _bit(paper, 6) or _bit(offline, 5),
        paper_near_end=_bit(paper, 2) or _bit(paper, 3),
        cutter_error=_bit(error, 3),
        unrecoverable_error=_bit(error, 5),
        auto_recoverable_error=_bit(error, 6),
    )


def encode_status(status: PrinterStatus, kind: StatusKind) -> int:
    """The byte a printer in `status` answers to DLE EOT `kind` (for simulators and tests)."""
    value = STATUS_FIXED_BITS
    if kind is StatusKind.PRINTER and not status.can_print:
        value |= 0x08
    elif kind is StatusKind.OFFLINE_CAUSE:
        value |= (0x04 if status.cover_open else 0) | (0x20 if status.paper_out else 0)
        value |= 0x40 if (status.cutter_error or status.unrecoverable_error) else 0
    elif kind is StatusKind.ERROR_CAUSE:
        value |= (0x08 if status.cutter_error else 0) | (0x20 if status.unrecoverable_error else 0)
        value |= 0x40 if status.auto_recoverable_error else 0
    elif kind is StatusKind.PAPER_SENSOR:
        value |= (0x0C if status.paper_near_end else 0) | (0x60 if status.paper_out else 0)
    return value
