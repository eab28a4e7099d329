"""Scanner line frames: tables fed whole, byte by byte and inside garbage; Honeywell commands."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import FrameError
from drivers.qrscan.decoder import LineDecoder, ScannerEvent, decode_all
from drivers.qrscan.frames import (
    TRIGGER_OFF,
    TRIGGER_ON,
    MenuReply,
    MenuStatus,
    Suffix,
    encode_menu_command,
    encode_menu_reply,
)
from drivers.qrscan.token import KindRule, QrScanned, QrToken, classify

# (name, bytes, expected: ("qr", kind, length) | ("error", reason, offset, length) | ("menu", text))
FRAME_TABLE: list[tuple[str, bytes, list[tuple[object, ...]]]] = [
    ("url", b"https://x.example/a?b=1\r", [("qr", "url", 23)]),
    ("numeric", b"0123456789\r", [("qr", "numeric", 10)]),
    ("opaque", b"MIC0A1B2C3\r", [("qr", "unknown", 10)]),
    ("two codes", b"abc\rdef\r", [("qr", "unknown", 3), ("qr", "unknown", 3)]),
    ("empty line ignored", b"\r\rabc\r", [("qr", "unknown", 3)]),
    ("control byte", b"ab\x07cd\rok\r", [("error", "non_printable", 0, 6), ("qr", "unknown", 2)]),
    ("8-bit byte", b"\xe4\xbd\xa0\rok\r", [("error", "non_printable", 0, 4), ("qr", "unknown", 2)]),
    ("truncated tail", b"ok\rpartial", [("qr", "unknown", 2), ("error", "truncated", 3, 7)]),
    ("menu reply", b"TRGMOD0\x06!", [("menu", "TRGMOD0")]),
    ("menu then code", b"TRGMOD0\x06.123\r", [("menu", "TRGMOD0"), ("qr", "numeric", 3)]),
    ("garbage menu", b"\x00\x06.12\r", [("error", "non_printable", 0, 3), ("qr", "numeric", 2)]),
]


def _shape(event: ScannerEvent) -> tuple[object, ...]:
    if isinstance(event, QrScanned):
        return ("qr", event.kind, event.length)
    if isinstance(event, MenuReply):
        return ("menu", event.text)
    return ("error", event.reason, event.offset, event.length)


def _feed_bytewise(data: bytes, **options: object) -> list[ScannerEvent]:
    decoder = LineDecoder(**options)  # type: ignore[arg-type]
    events = [e for b in data for e in decoder.feed(bytes([b]))]
    return events + decoder.finish()


@pytest.mark.parametrize(("name", "data", "expected"), FRAME_TABLE, ids=[r[0] for r in FRAME_TABLE])
def test_frame_table_whole(name: str, data: bytes, expected: list[tuple[object, ...]]) -> None:
    """Each captured stream decodes to its expected events when fed whole."""
    assert [_shape(e) for e in decode_all(data)] == expected


@pytest.mark.parametrize(("name", "data", "expected"), FRAME_TABLE, ids=[r[0] for r in FRAME_TABLE])
def test_frame_table_bytewise(name: str, data: bytes, expected: list[tuple[object, ...]]) -> None:
    """Each captured stream decodes identically when it arrives one byte at a time."""
    assert [_shape(e) for e in _feed_bytewise(data)] == expected


@pytest.mark.parametrize(("name", "data", "expected"), FRAME_TABLE, ids=[r[0] for r in FRAME_TABLE])
def test_frame_table_after_garbage(
    name: str, data: bytes, expected: list[tuple[object, ...]]
) -> None:
    """Garbage and a suffix before a stream cost one error, then the stream decodes as usual."""
    garbage = b"\x00\xff\x1b[2J\x80\r"
    shapes = [_shape(e) for e in decode_all(garbage + data)]
    assert shapes[0] == ("error", "non_printable", 0, len(garbage))
    shifted = [
        (s[0], s[1], int(str(s[2])) + len(garbage), s[3]) if s[0] == "error" else s
        for s in expected
    ]
    assert shapes[1:] == shifted


@pytest.mark.parametrize("suffix", list(Suffix))
def test_each_suffix_terminates_lines(suffix: Suffix) -> None:
    """CR, LF and CRLF scanners all frame their payloads."""
    data = b"abc" + suffix.value + b"12" + suffix.value
    assert [_shape(e) for e in decode_all(data, suffix=suffix)] == [
        ("qr", "unknown", 3),
        ("qr", "numeric", 2),
    ]


def test_crlf_decoder_rejects_bare_cr_inside_a_line() -> None:
    """With CRLF configured, a lone CR is a control byte and spoils its line only."""
    events = decode_all(b"a\rb\r\nok\r\n", suffix="crlf")
    assert [_shape(e) for e in events] == [("error", "non_printable", 0, 5), ("qr", "unknown", 2)]


def test_payload_cap_is_enforced_and_resyncs() -> None:
    """A line longer than the cap is one oversize error; the next line decodes."""
    events = decode_all(b"x" * 11 + b"\rok\r", max_payload=10)
    assert [_shape(e) for e in events] == [("error", "oversize", 0, 12), ("qr", "unknown", 2)]
    assert [_shape(e) for e in decode_all(b"x" * 10 + b"\r", max_payload=10)] == [
        ("qr", "unknown", 10)
    ]


def test_buffer_stays_bounded_under_an_endless_line() -> None:
    """A megabyte without a suffix never grows the buffer past the cap."""
    decoder = LineDecoder(max_payload=64)
    for _ in range(1000):
        assert decoder.feed(b"y" * 1000) == []
        assert decoder.buffered <= 66
    assert [_shape(e) for e in decoder.feed(b"\rok\r")] == [
        ("error", "oversize", 0, 1_000_001),
        ("qr", "unknown", 2),
    ]


def test_honeywell_trigger_and_menu_bytes() -> None:
    """Trigger on/off and menu commands are the documented SYN sequences."""
    assert bytes.fromhex("16540d") == TRIGGER_ON
    assert bytes.fromhex("16550d") == TRIGGER_OFF
    assert encode_menu_command("TRGMOD0") == bytes.fromhex("164d0d") + b"TRGMOD0!"
    assert encode_menu_command("TRGMOD0", volatile=False).endswith(b"TRGMOD0.")
    with pytest.raises(ValueError, match="storage mark"):
        encode_menu_command("TRGMOD0.")
    with pytest.raises(ValueError, match="printable"):
        encode_menu_command("A\rB")


def test_menu_reply_statuses() -> None:
    """ENQ/NAK statuses are data on the reply, one per command in a sequence."""
    reply = decode_all(b"232BAD9\x15,DBS\x05.")[0]
    assert isinstance(reply, MenuReply)
    assert reply.text == "232BAD9,DBS"
    assert reply.statuses == (MenuStatus.NAK, MenuStatus.ENQ)
    assert not reply.ok
    assert not reply.volatile
    assert encode_menu_reply("X", MenuStatus.ACK, volatile=True) == b"X\x06!"


def test_token_never_shows_its_payload() -> None:
    """repr, str, f-strings and the scan's repr hide the text; pickling is refused."""
    secret = "https://pay.example/SECRET-TOKEN-123"
    scanned = QrScanned.of(secret)
    for shown in (repr(scanned), str(scanned), f"{scanned.token}", str(scanned.token)):
        assert "SECRET" not in shown
    assert scanned.token.reveal() == secret
    assert scanned.summary() == {"kind": "qr", "token_kind": "url", "length": len(secret)}
    with pytest.raises(TypeError, match="credential"):
        pickle.dumps(scanned)
    assert QrToken("a") == QrToken("a") != QrToken("b")


def test_classification_rules() -> None:
    """Built-in kinds are url/numeric/unknown; deployment prefix rules come first."""
    assert classify("HTTPS://A.B/c") == "url"
    assert classify("ftp://a.b/c") == "unknown"
    assert classify("0042") == "numeric"
    assert classify("٣٤") == "unknown"  # non-ASCII digits are not a numeric code
    rules = [KindRule("MIC", "medical_insurance_code"), KindRule("hc:", "health_code", False)]
    assert classify("MIC0A1B", rules) == "medical_insurance_code"
    assert classify("HC:xyz", rules) == "health_code"


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    """Any byte stream yields only typed values, and the buffer stays bounded."""
    decoder = LineDecoder(max_payload=50)
    events = decoder.feed(data) + decoder.finish()
    assert all(isinstance(e, QrScanned | MenuReply | FrameError) for e in events)
    assert decoder.buffered == 0


@given(
    st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from([b"\r", b"\n", b"\x06.", b"\x15!", b"ok\r", b"1234\r"]),
        ),
        max_size=30,
    ),
    st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=10),
    st.sampled_from(list(Suffix)),
)
def test_chunking_invariance(parts: list[bytes], cuts: list[int], suffix: Suffix) -> None:
    """However the stream is split into reads, the events (and offsets) are the same."""
    data = b"".join(parts)
    whole = [_shape(e) for e in decode_all(data, suffix=suffix, max_payload=24)]
    decoder = LineDecoder(suffix=suffix, max_payload=24)
    chunked: list[ScannerEvent] = []
    position, index = 0, 0
    while position < len(data):
        size = cuts[index % len(cuts)]
        chunked += decoder.feed(data[position : position + size])
        position += size
        index += 1
    chunked += decoder.finish()
    assert [_shape(e) for e in chunked] == whole


@given(
    st.binary(max_size=300),
    st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40
    ),
)
def test_recovers_after_garbage(garbage: bytes, payload: str) -> None:
    """After any garbage and one suffix, the next code decodes exactly."""
    events = decode_all(garbage + b"\r" + payload.encode() + b"\r", max_payload=400)
    last = events[-1]
    assert isinstance(last, QrScanned)
    assert last.token.reveal() == payload
