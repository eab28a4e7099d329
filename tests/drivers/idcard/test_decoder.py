"""Streaming decoder: whole, byte by byte, with garbage; bounded; resyncs; never raises."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import FrameError
from drivers.idcard.decoder import MAX_BUFFER_BYTES, FrameDecoder
from drivers.idcard.frames import (
    FIND_CARD,
    PREAMBLE,
    READ_CARD,
    Command,
    Frame,
    Response,
    encode,
)
from drivers.idcard.samples import SAMPLE_CARDS
from drivers.idcard.simulator import read_response
from tests.drivers.idcard.strategies import chunkings, frames, hostile_bytes, noise

TABLE: list[Frame] = [
    FIND_CARD,
    Response(0x80),
    Response(0x9F, bytes(4)),
    READ_CARD,
    read_response(SAMPLE_CARDS["resident"], with_fingerprint=False),
    read_response(SAMPLE_CARDS["fingerprint"], with_fingerprint=True),
]
STREAM = b"".join(encode(f) for f in TABLE)


def decode_all(chunks: list[bytes]) -> list[Frame | FrameError]:
    decoder = FrameDecoder()
    out: list[Frame | FrameError] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.flush()


def test_table_fed_whole() -> None:
    """A stream of every frame kind, fed at once, decodes to the same frames in order."""
    assert decode_all([STREAM]) == TABLE


def test_table_fed_byte_by_byte() -> None:
    """The same stream fed one byte at a time gives the same frames."""
    assert decode_all([STREAM[i : i + 1] for i in range(len(STREAM))]) == TABLE


def test_garbage_around_frames_is_reported_once_per_run() -> None:
    """Garbage before, between and after frames becomes one FrameError per run, with offsets."""
    head, middle, tail = b"\x01\x02\x03", b"\xaa\x00\xaa\xaa\x96", b"\xff\xaa\xaa"
    first, second = encode(Response(0x80)), encode(FIND_CARD)
    stream = head + first + middle + second + tail
    expected = [
        FrameError("garbage", offset=0, length=3),
        Response(0x80),
        FrameError("garbage", offset=3 + len(first), length=len(middle)),
        FIND_CARD,
        FrameError("garbage", offset=len(stream) - 3, length=3),
    ]
    assert decode_all([stream]) == expected
    assert decode_all([stream[i : i + 1] for i in range(len(stream))]) == expected


def test_bad_checksum_is_discarded_and_the_next_frame_found() -> None:
    """A frame with a flipped checksum is reported and decoding continues with the next one."""
    bad = bytearray(encode(Response(0x9F, bytes(4))))
    bad[-1] ^= 0x01
    stream = bytes(bad) + encode(Response(0x80))
    assert decode_all([stream]) == [
        FrameError("bad checksum", offset=0, length=len(bad)),
        Response(0x80),
    ]


def test_truncated_frame_is_dropped_when_a_complete_frame_starts_inside_it() -> None:
    """A reader that restarts mid-frame: the cut frame is reported, the new one decoded at once."""
    cut = encode(read_response(SAMPLE_CARDS["resident"], with_fingerprint=False))[:100]
    whole = encode(Response(0x80))
    decoder = FrameDecoder()
    assert decoder.feed(cut + whole) == [
        FrameError("truncated", offset=0, length=100),
        Response(0x80),
    ]
    assert decoder.buffered_bytes == 0


def test_impossible_length_skips_the_preamble_only() -> None:
    """A preamble with LEN beyond the largest frame is dropped and the following frame found."""
    stream = PREAMBLE + b"\xff\xff" + encode(Response(0x80))
    assert decode_all([stream]) == [
        FrameError("bad length", offset=0, length=5),
        FrameError("garbage", offset=5, length=2),
        Response(0x80),
    ]


def test_incomplete_frame_at_end_of_capture_is_reported_by_flush() -> None:
    """flush() reports a frame cut off by the end of a capture."""
    decoder = FrameDecoder()
    assert decoder.feed(encode(Response(0x80))[:-1]) == []
    assert decoder.flush() == [FrameError("truncated", offset=0, length=10)]


def test_buffer_stays_bounded_under_a_flood_of_garbage() -> None:
    """A megabyte without a complete frame never grows the retained buffer past the cap."""
    decoder = FrameDecoder()
    fake_start = PREAMBLE + (MAX_BUFFER_BYTES - 7).to_bytes(2, "big")
    for _ in range(200):
        decoder.feed(fake_start + b"\x00" * 5000)
        assert decoder.buffered_bytes <= MAX_BUFFER_BYTES


@settings(max_examples=200)
@given(st.lists(frames, max_size=6), st.data())
def test_chunking_does_not_change_the_result(items: list[Frame], data: st.DataObject) -> None:
    """Frames fed in any chunking decode to the same list as fed whole."""
    stream = b"".join(encode(f) for f in items)
    assert decode_all(data.draw(chunkings(stream))) == items


@settings(max_examples=200)
@given(hostile_bytes, st.data())
def test_hostile_bytes_decode_the_same_in_any_chunking(raw: bytes, data: st.DataObject) -> None:
    """Even for adversarial input, the decoded items do not depend on chunk boundaries."""
    assert decode_all(data.draw(chunkings(raw))) == decode_all([raw])


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=3000), hostile_bytes))
def test_arbitrary_bytes_yield_only_typed_values(raw: bytes) -> None:
    """Any input produces frames and FrameErrors only; discarded bytes are accounted for."""
    items = decode_all([raw])
    assert all(isinstance(i, FrameError | Response | Command) for i in items)
    discarded = sum(i.length for i in items if isinstance(i, FrameError))
    decoded = sum(len(encode(i)) for i in items if not isinstance(i, FrameError))
    assert discarded + decoded == len(raw)


@given(noise, frames, noise, frames)
def test_recovers_after_garbage(junk: bytes, first: Frame, more: bytes, second: Frame) -> None:
    """Whatever noise precedes them, both frames are still decoded."""
    items = decode_all([junk + encode(first) + more + encode(second)])
    assert [i for i in items if not isinstance(i, FrameError)] == [first, second]


@pytest.mark.parametrize("offset", [0, 7, 1000])
def test_error_offsets_are_stream_offsets(offset: int) -> None:
    """Offsets count from the start of the stream across feeds, not from the buffer."""
    decoder = FrameDecoder()
    decoder.feed(encode(Response(0x80)) * (offset // 11 + 1))
    start = (offset // 11 + 1) * 11
    items = decoder.feed(b"\x00\x01" + encode(FIND_CARD))
    assert items[0] == FrameError("garbage", offset=start, length=2)
