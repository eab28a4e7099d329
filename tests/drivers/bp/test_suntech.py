"""SunTech OEM module frames and the streaming decoder."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.bp import suntech
from drivers.bp.events import BpResult, CuffPressure, DeviceAck, HostRequest
from drivers.bp.messages import ERROR_MESSAGES
from drivers.bp.protocol import MAX_DISCARD_RUN_BYTES
from drivers.errors import FrameError
from tests.drivers.bp.strategies import chunked, suntech_device_frames, suntech_results

NORMAL = suntech.ResultFrame(systolic=118, diastolic=76, pulse=72, mean=90, return_code=0)
NORMAL_BYTES = bytes.fromhex("3e18 7600 4c00 00000000000000000000 4800 5a00 00 0000 46")

FRAME_TABLE = [
    (suntech.ack_frame("O"), DeviceAck("O", "received")),
    (suntech.ack_frame("K"), DeviceAck("K", "completed")),
    (suntech.ack_frame("B"), DeviceAck("B", "busy")),
    (suntech.ack_frame("A"), DeviceAck("A", "aborted")),
    (bytes.fromhex("3e05b40009"), CuffPressure(180)),
    (NORMAL_BYTES, BpResult(118, 76, 72, 90, 0, None, None)),
    (suntech.START_REQUEST, HostRequest(b"\x20")),
]


def decode_all(data: bytes) -> list[object]:
    decoder = suntech.SuntechDecoder()
    return [*decoder.feed(data), *decoder.flush()]


def test_host_requests_match_the_documented_bytes() -> None:
    """The four host requests are byte-for-byte the documented frames."""
    assert bytes.fromhex("3a20a6") == suntech.START_REQUEST
    assert bytes.fromhex("3a7901004c") == suntech.ABORT_REQUEST
    assert bytes.fromhex("3a7903004a") == suntech.RESULT_REQUEST
    assert bytes.fromhex("3a79050048") == suntech.CUFF_PRESSURE_REQUEST


def test_result_frame_layout() -> None:
    """A result is 24 bytes: SYS, DIA LE at 0/2, pulse at 14, MAP at 16, code at 18, sum 0."""
    assert NORMAL.encode() == NORMAL_BYTES
    assert len(NORMAL_BYTES) == 24
    assert sum(NORMAL_BYTES) % 256 == 0


@pytest.mark.parametrize(("frame", "event"), FRAME_TABLE)
def test_frame_decodes_whole(frame: bytes, event: object) -> None:
    """Each table frame fed whole decodes to its event."""
    assert decode_all(frame) == [event]


@pytest.mark.parametrize(("frame", "event"), FRAME_TABLE)
def test_frame_decodes_byte_by_byte(frame: bytes, event: object) -> None:
    """Each table frame fed one byte at a time decodes to the same event."""
    decoder = suntech.SuntechDecoder()
    items = [item for byte in frame for item in decoder.feed(bytes([byte]))]
    assert items == [event]


@pytest.mark.parametrize(("frame", "event"), FRAME_TABLE)
def test_frame_decodes_with_garbage_around(frame: bytes, event: object) -> None:
    """Garbage before and after a frame is reported with its offset; the frame survives."""
    items = decode_all(b"\x00\x11\x22" + frame + b"\x99\x3e")
    assert items == [
        FrameError("no start byte", offset=0, length=3),
        event,
        FrameError("no start byte", offset=3 + len(frame), length=2),
    ]


def test_bad_checksum_drops_one_byte_and_resyncs() -> None:
    """A corrupted frame is discarded and the next good frame is still found."""
    corrupted = bytearray(suntech.ack_frame("O"))
    corrupted[2] ^= 0x01
    items = decode_all(bytes(corrupted) + suntech.ack_frame("K"))
    assert items == [FrameError("bad checksum", offset=0, length=4), DeviceAck("K", "completed")]


def test_impossible_length_is_garbage() -> None:
    """A start byte followed by a length outside 4..67 is dropped at once."""
    assert decode_all(b"\x3e\x02" + suntech.ack_frame("O"))[1] == DeviceAck("O", "received")


def test_unsupported_frame_with_good_checksum_is_reported() -> None:
    """A well-formed reply of a length we do not decode is a FrameError, not an event."""
    frame = suntech.device_frame(b"LX1234")
    assert decode_all(frame) == [FrameError("unsupported device frame", offset=0, length=9)]


def test_expire_partial_frees_frames_held_by_a_false_header() -> None:
    """A stray `3E 18` swallowing a real ack is dropped when the line goes quiet."""
    decoder = suntech.SuntechDecoder()
    assert decoder.feed(b"\x3e\x18" + suntech.ack_frame("O")) == []
    assert decoder.pending
    assert decoder.expire_partial() == [
        FrameError("incomplete frame", offset=0, length=2),
        DeviceAck("O", "received"),
    ]
    assert not decoder.pending


def test_error_result_has_no_vitals() -> None:
    """A result with a return code carries the code, its key and message, and no vitals."""
    frame = suntech.ResultFrame(120, 80, 70, 93, return_code=87).encode()
    (result,) = decode_all(frame)
    assert result == BpResult(None, None, None, None, 87, "cuff_leak", ERROR_MESSAGES["cuff_leak"])


# The manual's decimal codes, as firmware sends them: binary (0x55…) or decimal digits (0x85…).
DOCUMENTED_CODES = {
    85: "tube_blocked",
    86: "aborted",
    87: "cuff_leak",
    88: "safety_timeout",
    89: "cuff_overpressure",
    90: "hardware_fault",
    91: "meter_not_ready",
    97: "hardware_fault",
    99: "hardware_fault",
}


@pytest.mark.parametrize(("decimal", "key"), sorted(DOCUMENTED_CODES.items()))
def test_both_firmware_encodings_of_a_return_code_name_the_same_error(
    decimal: int, key: str
) -> None:
    """0x55…0x63 and 0x85…0x99 both map to the manual's named error; error_code is as sent."""
    binary, bcd = decimal, int(str(decimal), 16)
    for sent in (binary, bcd):
        (result,) = decode_all(suntech.ResultFrame(120, 80, 70, 93, return_code=sent).encode())
        assert isinstance(result, BpResult)
        assert (result.error_code, result.error_key) == (sent, key)
        assert result.error == ERROR_MESSAGES[key]


def test_codes_outside_both_tables_are_generic_device_errors() -> None:
    """0x8A (not a decimal-digit code) and 92 (not in the manual) are the generic device error."""
    assert suntech.error_key_for(0x8A) == "device_error"
    assert suntech.error_key_for(92) == "device_error"
    assert suntech.error_key_for(0x92) == "device_error"


def test_discard_runs_are_capped() -> None:
    """A long garbage stream is reported in bounded runs, not buffered."""
    decoder = suntech.SuntechDecoder()
    items = decoder.feed(b"\x00" * (MAX_DISCARD_RUN_BYTES * 2 + 5))
    assert [i.length for i in items if isinstance(i, FrameError)] == [MAX_DISCARD_RUN_BYTES] * 2
    assert not decoder.pending


@given(suntech_results)
def test_result_round_trip(frame: suntech.ResultFrame) -> None:
    """Encoding then decoding a result frame gives the frame back."""
    encoded = frame.encode()
    assert suntech.ResultFrame.decode(encoded) == frame
    assert decode_all(encoded) == [frame.to_result()]


@given(st.lists(suntech_device_frames, max_size=8), st.lists(st.integers(), max_size=10))
def test_chunking_invariance(frames: list[bytes], cuts: list[int]) -> None:
    """However the stream is split, the decoder yields the same items."""
    stream = b"\x01\x02".join(frames)
    decoder = suntech.SuntechDecoder()
    items = [item for piece in chunked(stream, cuts) for item in decoder.feed(piece)]
    assert [*items, *decoder.flush()] == decode_all(stream)


@given(st.binary(max_size=300), st.lists(st.integers(), max_size=10))
def test_arbitrary_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    """Arbitrary bytes yield only typed values and every byte is accounted for."""
    decoder = suntech.SuntechDecoder()
    items = [item for piece in chunked(data, cuts) for item in decoder.feed(piece)]
    items += decoder.flush()
    assert all(
        isinstance(i, FrameError | DeviceAck | CuffPressure | BpResult | HostRequest) for i in items
    )
    assert not decoder.pending


@given(st.binary(max_size=60), suntech_device_frames)
def test_recovers_after_garbage(garbage: bytes, frame: bytes) -> None:
    """After any garbage and a quiet line, the next valid frame is decoded."""
    decoder = suntech.SuntechDecoder()
    decoder.feed(garbage)
    while decoder.pending:
        decoder.expire_partial()
    items = decoder.feed(frame)
    assert [i for i in items if not isinstance(i, FrameError)] == decode_all(frame)
