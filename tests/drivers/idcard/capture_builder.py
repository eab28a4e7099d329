"""Builds the committed capture files from simulator frames (a test checks they still match)."""

from __future__ import annotations

from pathlib import Path

from drivers.idcard import frames
from drivers.idcard.frames import Response, encode
from drivers.idcard.samples import SAMPLE_CARDS, SAMPLE_SAM_ID
from drivers.idcard.simulator import read_response

CAPTURES = Path(__file__).parent / "captures"
SESSION_BIN = CAPTURES / "resident_session_two_way.bin"
READER_SIDE_HEX = CAPTURES / "reader_side_all_card_types.hex"
HEX_BYTES_PER_LINE = 32


def resident_session() -> bytes:
    """Both directions: status, SAM id, a find without card, then a full read; some line noise."""
    exchange: list[frames.Frame] = [
        frames.STATUS,
        Response(0x90),
        frames.READ_SAM_ID,
        Response(0x90, SAMPLE_SAM_ID),
        frames.FIND_CARD,
        Response(0x80),
        frames.FIND_CARD,
        Response(0x9F, bytes(4)),
        frames.SELECT_CARD,
        Response(0x90, bytes(8)),
        frames.READ_CARD,
        read_response(SAMPLE_CARDS["resident"], with_fingerprint=False),
    ]
    wire = [encode(f) for f in exchange]
    wire.insert(5, b"\x00\x13\x37")  # noise on the line between two frames
    return b"".join(wire)


def reader_side() -> bytes:
    """Reader side only: one read of each card type, a corrupted read, and a fingerprint read."""
    keys = ["hkmotw_permit", "foreign_pr_2017", "foreign_pr_2023", "rare_name"]
    wire = [encode(read_response(SAMPLE_CARDS[k], with_fingerprint=False)) for k in keys]
    corrupted = bytearray(encode(read_response(SAMPLE_CARDS["resident"], with_fingerprint=False)))
    corrupted[-1] ^= 0x5A
    wire.insert(2, bytes(corrupted))
    wire.append(encode(read_response(SAMPLE_CARDS["fingerprint"], with_fingerprint=True)))
    return b"".join(wire)


def as_hex_dump(data: bytes) -> str:
    """Spaced hex, 32 bytes a line, as a serial sniffer would save it."""
    lines = [
        data[i : i + HEX_BYTES_PER_LINE].hex(" ").upper()
        for i in range(0, len(data), HEX_BYTES_PER_LINE)
    ]
    return "\n".join(lines) + "\n"


def write_all() -> None:
    """Regenerate the capture files."""
    CAPTURES.mkdir(exist_ok=True)
    SESSION_BIN.write_bytes(resident_session())
    READER_SIDE_HEX.write_text(as_hex_dump(reader_side()))


if __name__ == "__main__":
    write_all()
