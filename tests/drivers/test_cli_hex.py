"""Hex captures arrive in whatever a technician's tool wrote: plain hex, xxd, hexdump -C."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.cli import parse_hex_capture

RAW = bytes.fromhex("aaaaaa966900040000909468656c6c6f20776f726c642030313233343536373839")

XXD = """\
00000000: aaaa aa96 6900 0400 0090 9468 656c 6c6f  ....i......hello
00000010: 2077 6f72 6c64 2030 3132 3334 3536 3738   world 012345678
00000020: 39                                       9
"""

HEXDUMP_C = """\
00000000  aa aa aa 96 69 00 04 00  00 90 94 68 65 6c 6c 6f  |....i......hello|
00000010  20 77 6f 72 6c 64 20 30  31 32 33 34 35 36 37 38  | world 012345678|
00000020  39                                                |9|
00000021
"""


@pytest.mark.parametrize("text", [XXD, HEXDUMP_C, RAW.hex(), RAW.hex(" "), RAW.hex(":")])
def test_common_dump_formats_give_the_same_bytes(text: str) -> None:
    """Offsets and text columns are dropped; separators are ignored."""
    assert parse_hex_capture(text) == RAW


def test_comments_and_c_style_bytes() -> None:
    """`#` comments and 0x-prefixed, comma-separated bytes are accepted."""
    assert parse_hex_capture("AA AA AA 96 69  # preamble\n0x00,0x04\n") == RAW[:7]


def test_odd_digit_count_is_a_clear_error() -> None:
    """Half a byte is refused with a message, not silently dropped."""
    with pytest.raises(ValueError, match="odd number"):
        parse_hex_capture("AA A")


@given(st.binary(max_size=200), st.integers(min_value=1, max_value=40))
def test_plain_hex_round_trips_whatever_the_line_length(data: bytes, width: int) -> None:
    """Plain hex split into lines of any width parses back to the same bytes."""
    text = data.hex()
    lines = "\n".join(text[i : i + 2 * width] for i in range(0, len(text), 2 * width))
    assert parse_hex_capture(lines) == data
