"""Replies with SW1/SW2 ≠ 00 (issue 10 item 10): told from host commands by structure, not SW1."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import FrameError
from drivers.idcard import frames
from drivers.idcard.decoder import FrameDecoder
from drivers.idcard.device import IdCardReader
from drivers.idcard.frames import Command, Response, decode, encode
from drivers.idcard.protocol import Done, ReaderProtocol, Send
from drivers.idcard.status import CardReadFailed
from drivers.idcard.tool import decode_capture
from tests.drivers.idcard.strategies import chunkings, noise, responses

# Field replies whose SW1 SW2 are not 00 00 (vendor tables print `XX XX 31/41/47/81`), wire
# bytes written out by hand: XOR of LEN..SW3. Two of them start with a command's own code.
RECORDED_REPLIES = [
    ("AAAAAA9669 0004 123441 63", Response(0x41, sw1=0x12, sw2=0x34)),
    ("AAAAAA9669 0004 FFFF31 35", Response(0x31, sw1=0xFF, sw2=0xFF)),
    ("AAAAAA9669 0004 000147 42", Response(0x47, sw1=0x00, sw2=0x01)),
    ("AAAAAA9669 0004 200181 A4", Response(0x81, sw1=0x20, sw2=0x01)),  # SW1 SW2 = find card
    ("AAAAAA9669 0004 10FF80 6B", Response(0x80, sw1=0x10, sw2=0xFF)),  # SW1 SW2 = reset
]
GARBAGE = b"\x00\x13\x37\x55"


def wire(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(("raw", "reply"), RECORDED_REPLIES)
def test_recorded_reply_decodes_as_a_reply(raw: str, reply: Response) -> None:
    """A reply with non-zero SW1/SW2 is a Response with those bytes, and encodes back the same."""
    assert decode(wire(raw)) == reply
    assert encode(reply) == wire(raw)


def test_recorded_replies_fed_whole_byte_by_byte_and_with_garbage() -> None:
    """The decoder finds every recorded reply whole, split into single bytes, and among noise."""
    stream = b"".join(wire(raw) for raw, _ in RECORDED_REPLIES)
    expected = [reply for _, reply in RECORDED_REPLIES]
    assert FrameDecoder().feed(stream) == expected
    decoder = FrameDecoder()
    assert [item for byte in stream for item in decoder.feed(bytes([byte]))] == expected
    noisy = GARBAGE + GARBAGE.join(wire(raw) for raw, _ in RECORDED_REPLIES) + GARBAGE
    decoded = FrameDecoder()
    items = decoded.feed(noisy) + decoded.flush()
    assert [i for i in items if not isinstance(i, FrameError)] == expected
    assert all(i.reason == "garbage" for i in items if isinstance(i, FrameError))


def test_known_commands_still_decode_as_commands() -> None:
    """Every GA 467 command (CMD PARA, no data) is still a command, not a 2-byte reply."""
    for cmd, para in frames.COMMAND_NAMES:
        assert decode(encode(Command(cmd, para))) == Command(cmd, para)


@given(responses, noise, noise, st.data())
def test_any_reply_survives_noise_and_chunking(
    reply: Response, before: bytes, after: bytes, data: st.DataObject
) -> None:
    """A reply with any SW1/SW2/SW3 decodes to itself in any chunking, with noise around it."""
    decoder = FrameDecoder()
    items = []
    for chunk in data.draw(chunkings(before + encode(reply) + after)):
        items += decoder.feed(chunk)
    items += decoder.flush()
    assert [i for i in items if not isinstance(i, FrameError)] == [reply]


def test_read_failure_with_nonzero_status_bytes_ends_the_read_at_its_deadline() -> None:
    """A `12 34 41` answer to the read is a read failure (place the card again), not silence."""
    proto = ReaderProtocol()
    proto.start_read_card(0.0, timeout_s=0.5)
    now = 0.0
    answers = {
        frames.FIND_CARD: Response(0x9F, bytes(4), sw1=0x12, sw2=0x34),
        frames.SELECT_CARD: Response(0x90, bytes(8), sw1=0x12, sw2=0x34),
        frames.READ_CARD: Response(0x41, sw1=0x12, sw2=0x34),
    }

    def run_until_outcome() -> None:
        nonlocal now
        for _ in range(50):
            action = proto.poll(now)
            assert not isinstance(action, Done)
            if isinstance(action, Send):
                now += 0.01
                proto.receive(decode(encode(answers[action.command])), now)
            else:
                now = action.until_s

    with pytest.raises(CardReadFailed):
        run_until_outcome()
    assert now < 1.0


def test_reader_with_nonzero_status_bytes_reads_cards_over_a_pty() -> None:
    """A reader that sets SW1/SW2 in every reply is read normally (status, SAM id, card)."""
    with IdCardReader("sim://idcard?scenario=nonzero_sw") as reader:
        assert reader.status() == "ok"
        card = reader.read_card(3.0)
    assert card is not None
    assert card.card_type.value == "resident"


def test_unreadable_card_is_reported_within_the_poll_not_after_retries() -> None:
    """`XX XX 41` to every read raises CardReadFailed by the poll deadline (~1 s), not ~9 s."""
    with IdCardReader("sim://idcard?scenario=unreadable_nonzero_sw") as reader:
        started = time.monotonic()
        with pytest.raises(CardReadFailed):
            reader.read_card(1.0)
        elapsed_s = time.monotonic() - started
    assert elapsed_s < 2.5


def test_decode_prints_every_reply_of_a_failing_reader() -> None:
    """A failing reader's log shows each non-read reply as status bytes and their meaning."""
    log = b"".join(wire(raw) for raw, _ in RECORDED_REPLIES[:2]) + encode(frames.FIND_CARD)
    assert list(decode_capture(log)) == [
        {
            "kind": "status",
            "sw1": 0x12,
            "sw2": 0x34,
            "sw3": 0x41,
            "meaning": "reading the card failed",
        },
        {
            "kind": "status",
            "sw1": 0xFF,
            "sw2": 0xFF,
            "sw3": 0x31,
            "meaning": "the card failed to authenticate the SAM",
        },
    ]
