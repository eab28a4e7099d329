"""ESC/POS bytes: recorded command frames, encoder ⇄ decoder round trips, hostile streams."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import FrameError
from drivers.printer import frames as f
from drivers.printer.decoder import (
    MAX_COMMAND_BYTES,
    MAX_TEXT_RUN_BYTES,
    EscPosDecoder,
    PrinterEvent,
    decode_all,
)
from tests.drivers.printer.strategies import commands, merge_text, printable_text, qr_payloads

# (command, the bytes the ESC/POS reference gives for it)
RECORDED: list[tuple[f.Command, bytes]] = [
    (f.Initialize(), b"\x1b@"),
    (f.ChineseMode(on=True), b"\x1c&"),
    (f.ChineseMode(on=False), b"\x1c."),
    (f.CodePage(0), b"\x1bt\x00"),
    (f.Bold(True), b"\x1bE\x01"),
    (f.CharacterSize(2, 2), b"\x1d!\x11"),
    (f.CharacterSize(1, 3), b"\x1d!\x02"),
    (f.Justify(f.Align.CENTER), b"\x1ba\x01"),
    (f.LineFeed(), b"\n"),
    (f.FeedLines(4), b"\x1bd\x04"),
    (f.Cut(partial=True, feed_dots=0), b"\x1dVB\x00"),
    (f.Cut(partial=False, feed_dots=16), b"\x1dVA\x10"),
    (f.QrModel(), b"\x1d(k\x04\x001A2\x00"),
    (f.QrModuleSize(6), b"\x1d(k\x03\x001C\x06"),
    (f.QrErrorCorrection(f.QrErrorLevel.M), b"\x1d(k\x03\x001E1"),
    (f.QrStore(b"A-42"), b"\x1d(k\x07\x001P0A-42"),
    (f.QrPrint(), b"\x1d(k\x03\x001Q0"),
    (f.RasterImage(1, 2, b"\xf0\x0f"), b"\x1dv0\x00\x01\x00\x02\x00\xf0\x0f"),
    (f.StatusRequest(f.StatusKind.PAPER_SENSOR), b"\x10\x04\x04"),
    (f.text("社区A"), "社区A".encode("gb18030")),
]


def _feed_in_pieces(data: bytes, cuts: list[int]) -> list[PrinterEvent]:
    decoder = EscPosDecoder()
    events: list[PrinterEvent] = []
    start = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        events += decoder.feed(data[start:cut])
        start = max(start, cut)
    return events + decoder.feed(data[start:]) + decoder.finish()


@pytest.mark.parametrize(("command", "wire"), RECORDED, ids=lambda v: type(v).__name__)
def test_recorded_frames_encode_and_decode(command: f.Command, wire: bytes) -> None:
    """Each command encodes to the reference bytes and those bytes decode back to it."""
    assert f.encode(command) == wire
    assert decode_all(wire) == [command]


def test_gb18030_four_byte_characters_pass_as_text() -> None:
    """Characters outside GBK (four-byte GB 18030) are text, not commands."""
    data = f.text("𠀀龘€").data
    assert any(0x30 <= b <= 0x39 for b in data)
    assert decode_all(data + b"\n") == [f.Text(data), f.LineFeed()]


@pytest.mark.parametrize("bad", ["a\x1bb", "x\ny", "\x7f", "tab\there"])
def test_text_with_control_characters_is_refused(bad: str) -> None:
    """A receipt string cannot smuggle ESC/POS commands (or bare newlines) onto the wire."""
    with pytest.raises(ValueError, match="control"):
        f.text(bad)


@pytest.mark.parametrize(
    "command",
    [
        f.CharacterSize(9, 1),
        f.QrModuleSize(17),
        f.QrStore(b""),
        f.QrStore(b"x" * (f.MAX_QR_PAYLOAD_BYTES + 1)),
        f.RasterImage(73, 1, b"\x00" * 73),
        f.RasterImage(1, 2, b"\x00"),
        f.Text(b"\x1b@"),
    ],
)
def test_encoder_refuses_values_a_printer_cannot_take(command: f.Command) -> None:
    """Out-of-range parameters raise ValueError instead of producing garbage bytes."""
    with pytest.raises(ValueError, match=r"\S"):
        f.encode(command)


@settings(max_examples=150, deadline=None)
@given(st.lists(commands, max_size=25), st.lists(st.integers(0, 10**6), max_size=6))
def test_encoder_decoder_round_trip_in_any_split(cmds: list[f.Command], cuts: list[int]) -> None:
    """Any command sequence decodes back to itself however the bytes are split."""
    wire = f.encode_all(cmds)
    assert _feed_in_pieces(wire, cuts) == merge_text(cmds)


@settings(max_examples=100, deadline=None)
@given(printable_text)
def test_any_gb18030_text_round_trips(value: str) -> None:
    """Arbitrary GB 18030-encodable text comes back from the decoder character for character."""
    (event, feed) = decode_all(f.encode(f.text(value)) + b"\n")
    assert isinstance(event, f.Text)
    assert event.data.decode("gb18030") == value
    assert feed == f.LineFeed()


@settings(max_examples=60, deadline=None)
@given(qr_payloads)
def test_qr_payloads_up_to_the_bound_round_trip(payload: bytes) -> None:
    """A QR store of any size up to MAX_QR_PAYLOAD_BYTES decodes to the same payload."""
    cmds = list(f.qr_commands(payload))
    assert decode_all(f.encode_all(cmds)) == cmds


def test_unknown_commands_are_skipped_and_the_stream_goes_on() -> None:
    """Unknown ESC/GS sequences and stray controls become FrameErrors; later commands survive."""
    wire = b"\x1b\x7f" + b"\x07" + b"\x1d(Z\x02\x00ab" + b"\x1bE\x01ok\n"
    events = decode_all(wire)
    errors = [e for e in events if isinstance(e, FrameError)]
    assert [e.reason for e in errors] == ["unknown_command"] * 3
    assert [(e.offset, e.length) for e in errors] == [(0, 2), (2, 1), (3, 7)]
    assert [e for e in events if not isinstance(e, FrameError)] == [
        f.Bold(True),
        f.Text(b"ok"),
        f.LineFeed(),
    ]


def test_ignored_commands_are_consumed_with_their_parameters() -> None:
    """ESC ! n, ESC - n, FS C n … are swallowed whole, so their parameter is never text."""
    assert decode_all(b"\x1b!\x41\x1b-\x01\x1c!\x0c\x1b2A\n") == [f.Text(b"A"), f.LineFeed()]


def test_oversize_qr_store_is_skipped_without_being_stored() -> None:
    """A GS ( k longer than the QR bound is reported once and counted past, never buffered."""
    size = 60_000
    wire = b"\x1d(k" + bytes([size & 0xFF, size >> 8]) + b"1P0" + b"x" * (size - 3) + b"\x1b@"
    decoder = EscPosDecoder()
    events: list[PrinterEvent] = []
    for start in range(0, len(wire), 997):
        events += decoder.feed(wire[start : start + 997])
        assert decoder.buffered <= 997
    assert events == [FrameError("oversize", offset=0, length=size + 5), f.Initialize()]


def test_oversize_raster_is_skipped() -> None:
    """A raster taller than MAX_RASTER_HEIGHT_DOTS is skipped whole, then decoding resumes."""
    height = f.MAX_RASTER_HEIGHT_DOTS + 1
    wire = b"\x1dv0\x00\x01\x00" + bytes([height & 0xFF, height >> 8]) + b"\xff" * height + b"\n"
    assert decode_all(wire) == [FrameError("oversize", offset=0, length=8 + height), f.LineFeed()]


def test_long_text_runs_split_on_character_boundaries() -> None:
    """A text run past MAX_TEXT_RUN_BYTES is emitted in pieces that each decode cleanly."""
    value = "政务" * MAX_TEXT_RUN_BYTES
    events = decode_all(f.encode(f.text(value)))
    assert all(isinstance(e, f.Text) for e in events)
    pieces = [e.data.decode("gb18030") for e in events if isinstance(e, f.Text)]
    assert "".join(pieces) == value
    assert max(len(e.data) for e in events if isinstance(e, f.Text)) <= MAX_TEXT_RUN_BYTES


def test_truncated_command_at_end_of_stream_is_reported() -> None:
    """A command cut off by the end of the capture is one FrameError, not an exception."""
    assert decode_all(b"ok\n\x1d(k\x07\x001P") == [
        f.Text(b"ok"),
        f.LineFeed(),
        FrameError("truncated", offset=3, length=7),
    ]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_and_stay_bounded(data: bytes) -> None:
    """Hostile input decodes to commands and FrameErrors only, within the buffer bound."""
    decoder = EscPosDecoder()
    for start in range(0, len(data), 64):
        decoder.feed(data[start : start + 64])
        assert decoder.buffered <= MAX_COMMAND_BYTES
    decoder.finish()
    assert decoder.buffered == 0


def test_byte_by_byte_text_feed_gives_one_run() -> None:
    """A 4 KiB text run fed one byte at a time comes out as the same single run."""
    data = ("政务服务" * 512).encode("gb18030")[:MAX_TEXT_RUN_BYTES] + b"\n"
    decoder = EscPosDecoder()
    events: list[PrinterEvent] = []
    for index in range(len(data)):
        events += decoder.feed(data[index : index + 1])
    assert events == [f.Text(data[:-1]), f.LineFeed()]
