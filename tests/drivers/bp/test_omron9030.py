"""Omron HBP-9030 format-5 lines and the line decoder."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.bp import omron9030
from drivers.bp.events import BpResult
from drivers.bp.messages import ERROR_MESSAGES
from drivers.bp.tool import result_record
from drivers.errors import FrameError
from tests.drivers.bp.strategies import chunked, omron_lines

SECRET_ID = "110101199003074578"
LINE = b"2024,05,01,09,30,110101199003074578  ,0,132,085,071,0\r\n"
READING = BpResult(132, 85, 71, None, 0, None, None, 0, datetime(2024, 5, 1, 9, 30))
ERROR_LINE = b"2024,05,01,09,31,                    ,2,   ,   ,   ,1\r\n"
ERROR_READING = BpResult(
    None, None, None, None, 2, "movement", ERROR_MESSAGES["movement"], 1,
    datetime(2024, 5, 1, 9, 31),
)  # fmt: skip


def decode_all(data: bytes) -> list[object]:
    decoder = omron9030.Omron9030Decoder()
    return [*decoder.feed(data), *decoder.flush()]


def test_movement_is_printed_as_the_count_the_meter_sent() -> None:
    """Format 5's last field is a count: 3 movements print as 3, not as `true` (item 12)."""
    line = LINE.replace(b",071,0\r\n", b",071,3\r\n")
    (result,) = decode_all(line)
    assert isinstance(result, BpResult)
    record = result_record(result, omron9030.PROTOCOL)
    assert record["movement"] == 3
    assert type(record["movement"]) is int


def test_line_layout() -> None:
    """A format-5 line is 53 bytes plus CRLF with the documented field widths."""
    assert omron9030.LINE_PAYLOAD_BYTES == 53
    assert len(LINE) == 55


@pytest.mark.parametrize(("line", "event"), [(LINE, READING), (ERROR_LINE, ERROR_READING)])
def test_line_decodes_whole_bytewise_and_with_garbage(line: bytes, event: BpResult) -> None:
    """A line decodes fed whole, byte by byte, and between garbage lines."""
    assert decode_all(line) == [event]
    decoder = omron9030.Omron9030Decoder()
    assert [i for b in line for i in decoder.feed(bytes([b]))] == [event]
    items = decode_all(b"\xff\xfeNOISE\r\n" + line + b"tail")
    assert items == [
        FrameError("non-ASCII line", offset=0, length=9),
        event,
        FrameError("incomplete line", offset=9 + len(line), length=4),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"2024,05,01,09,30,\xe6\x82\xa3\xe8\x80\x85" + b" " * 14 + b",0,132,085,071,0\r\n",
         "non-ASCII line"),
        (LINE[:17] + b"X" * 21 + LINE[37:], "wrong field layout"),  # a 21-character ID
        (b"A" * 70 + b"\r\n", "wrong field layout"),
        (LINE.replace(b"110101", b"11\x00101"), "non-ASCII line"),
        (LINE.replace(b",0,132", b";0,132"), "wrong field layout"),
        (LINE.replace(b"2024,05,01", b"2024,02,30"), "invalid date"),
        (LINE.replace(b"132", b"1 2"), "bad systolic field"),
        (LINE.replace(b",0,132", b",x,132"), "bad error field"),
        (LINE.replace(b"132,085", b"1320,85"), "bad systolic field"),
        (LINE.replace(b"132", b"   "), "bad systolic field"),
    ],
)  # fmt: skip
def test_bad_lines_are_frame_errors(line: bytes, reason: str) -> None:
    """Malformed lines become FrameError values with a fixed reason and the next line decodes."""
    assert decode_all(line + LINE) == [FrameError(reason, offset=0, length=len(line)), READING]


@pytest.mark.parametrize(
    "variant",
    [
        b"2024,5,1,9,30,ID-7,0,132,85,71,0\r\n",  # unpadded, short ID (gateways re-emit lines)
        b"2024,05,01,09,30,110101199003074578  ,E0,132,085,071, \r\n",
    ],
)
def test_unpadded_variants_decode_like_the_documented_layout(variant: bytes) -> None:
    """Field order identifies format 5; padding and an E-prefixed error number are tolerated."""
    assert decode_all(variant) == [READING]


def test_overlong_line_is_capped_and_resyncs() -> None:
    """A line longer than the cap is dropped through its LF without buffering it whole."""
    decoder = omron9030.Omron9030Decoder()
    items = decoder.feed(b"A" * 500)
    assert items == [FrameError("line too long", offset=0, length=500)] or items == []
    items += decoder.feed(b"B" * 500 + b"\r\n" + LINE)
    assert [i for i in items if not isinstance(i, FrameError)] == [READING]
    assert sum(i.length for i in items if isinstance(i, FrameError)) == 1002


def test_subject_id_never_leaks() -> None:
    """The ID field appears in no event, repr or error reason."""
    line = omron9030.parse_line(LINE[:-2])
    assert SECRET_ID not in repr(line)
    bad = LINE.replace(b",0,132", b",x,132")
    for item in decode_all(LINE + bad):
        assert SECRET_ID not in repr(item)
        assert SECRET_ID not in str(item)


@given(omron_lines)
def test_round_trip(line: omron9030.ReadingLine) -> None:
    """Encoding a reading line and decoding it gives its result back."""
    assert decode_all(line.encode()) == [line.to_result()]


@given(st.lists(omron_lines, max_size=5), st.binary(max_size=40), st.lists(st.integers()))
def test_chunking_invariance(
    lines: list[omron9030.ReadingLine], noise: bytes, cuts: list[int]
) -> None:
    """However the stream is split, the decoder yields the same items."""
    stream = noise.join(line.encode() for line in lines)
    decoder = omron9030.Omron9030Decoder()
    items = [item for piece in chunked(stream, cuts) for item in decoder.feed(piece)]
    assert [*items, *decoder.flush()] == decode_all(stream)


@given(st.binary(max_size=300), st.lists(st.integers(), max_size=10))
def test_arbitrary_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    """Arbitrary bytes yield only results and FrameError values; nothing stays buffered."""
    decoder = omron9030.Omron9030Decoder()
    items = [item for piece in chunked(data, cuts) for item in decoder.feed(piece)]
    items += decoder.flush()
    assert all(isinstance(i, FrameError | BpResult) for i in items)
    assert not decoder.pending
