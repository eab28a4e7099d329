"""Frame codecs: the GA 467 command table, responses, read data and SAM id."""

from __future__ import annotations

import pytest
from hypothesis import given

from drivers.errors import FrameError
from drivers.idcard import frames
from drivers.idcard.frames import (
    MAX_FRAME_BYTES,
    Command,
    ReadData,
    Response,
    decode,
    encode,
    encode_read_data,
    format_sam_id,
    parse_read_data,
    xor_checksum,
)
from tests.drivers.idcard.strategies import frames as any_frame

# Wire bytes as documented by reader vendors (hex), checked by hand: XOR of LEN..data.
COMMAND_TABLE = [
    (frames.RESET, "AAAAAA9669 0003 10FF EC"),
    (frames.STATUS, "AAAAAA9669 0003 11FF ED"),
    (frames.READ_SAM_ID, "AAAAAA9669 0003 12FF EE"),
    (frames.FIND_CARD, "AAAAAA9669 0003 2001 22"),
    (frames.SELECT_CARD, "AAAAAA9669 0003 2002 21"),
    (frames.READ_CARD, "AAAAAA9669 0003 3001 32"),
    (frames.READ_APPENDED_ADDRESS, "AAAAAA9669 0003 3003 30"),
    (frames.READ_CARD_WITH_FINGERPRINT, "AAAAAA9669 0003 3010 23"),
]
RESPONSE_TABLE = [
    (Response(0x80), "AAAAAA9669 0004 000080 84"),
    (Response(0x9F, bytes(4)), "AAAAAA9669 0008 00009F 00000000 97"),
    (Response(0x90, bytes(8)), "AAAAAA9669 000C 000090 0000000000000000 9C"),
    (Response(0x90), "AAAAAA9669 0004 000090 94"),
]


@pytest.mark.parametrize(("command", "wire"), COMMAND_TABLE)
def test_every_command_encodes_to_the_documented_bytes(command: Command, wire: str) -> None:
    """Each GA 467 command has the vendor-documented wire form and decodes back to itself."""
    raw = bytes.fromhex(wire)
    assert encode(command) == raw
    assert decode(raw) == command


@pytest.mark.parametrize(("response", "wire"), RESPONSE_TABLE)
def test_responses_encode_to_the_documented_bytes(response: Response, wire: str) -> None:
    """No-card, card-found and select answers match captures from real readers."""
    raw = bytes.fromhex(wire)
    assert encode(response) == raw
    assert decode(raw) == response


@given(any_frame)
def test_encode_decode_round_trip(frame: frames.Frame) -> None:
    """Any command or response survives encode → decode unchanged."""
    assert decode(encode(frame)) == frame


def test_xor_checksum_matches_a_plain_loop() -> None:
    """The folded big-integer XOR equals the byte-by-byte XOR for every length up to 300."""
    data = bytes(range(256)) * 2
    for size in range(300):
        expected = 0
        for byte in data[:size]:
            expected ^= byte
        assert xor_checksum(data[:size]) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (bytes.fromhex("AAAAAA9669 0004 000080 85"), "bad checksum"),
        (bytes.fromhex("AAAAAA9669 0004 000080"), "truncated"),
        (bytes.fromhex("AAAAAA9669 FFFF 000080 84"), "bad length"),
        (bytes.fromhex("55AAAA9669 0004 000080 84"), "garbage"),
        (bytes.fromhex("AAAAAA9669 0003 0000 03"), "bad payload"),
    ],
)
def test_decode_rejects_broken_frames_with_a_reason(raw: bytes, reason: str) -> None:
    """A broken frame raises FrameError naming what is wrong."""
    with pytest.raises(FrameError) as caught:
        decode(raw)
    assert caught.value.reason == reason


def test_oversized_frames_cannot_be_encoded() -> None:
    """Frames beyond MAX_FRAME_BYTES are refused instead of wrapping the 16-bit length."""
    with pytest.raises(ValueError, match="exceeds"):
        encode(Response(0x90, bytes(MAX_FRAME_BYTES)))


def test_read_data_plain_and_with_fingerprint_round_trip() -> None:
    """Both read-response layouts are recognised from their length alone."""
    text, photo = bytes(range(256)), bytes(1024)
    plain = encode_read_data(ReadData(text, photo))
    assert plain[:4] == bytes.fromhex("01000400")
    assert parse_read_data(plain) == ReadData(text, photo)
    with_fp = encode_read_data(ReadData(text, photo, b"\x01" * 1024))
    assert with_fp[:6] == bytes.fromhex("010004000400")
    assert parse_read_data(with_fp) == ReadData(text, photo, b"\x01" * 1024)
    assert parse_read_data(encode_read_data(ReadData(text, photo, b""))).fingerprint == b""


@pytest.mark.parametrize("data", [b"", bytes(3), bytes(16), bytes.fromhex("00FF0400") + bytes(300)])
def test_read_data_with_wrong_lengths_is_a_frame_error(data: bytes) -> None:
    """SAM id, select data or inconsistent lengths are not mistaken for a read."""
    with pytest.raises(FrameError):
        parse_read_data(data)


def test_sam_id_is_formatted_like_vendor_tools() -> None:
    """The 16 SAM-id bytes print as `MM.mm-date-serial-serial`."""
    data = frames.encode_sam_id(5, 1, 20101230, 1234567, 1234567890)
    assert format_sam_id(data) == "05.01-20101230-0001234567-1234567890"


def test_reprs_do_not_show_data_bytes() -> None:
    """Frame reprs show sizes only, since read data holds a resident's name and number."""
    secret = "陈样卡".encode("utf-16-le")
    text = repr(Response(0x90, secret)) + repr(Command(0x30, 0x01, secret))
    text += repr(ReadData(secret, b"", secret))
    assert repr(secret) not in text
    assert "6 bytes" in text
