"""The simulator: scenarios as data, operator commands, and answers built from the same frames."""

from __future__ import annotations

import pytest

from drivers.errors import FrameError
from drivers.idcard import frames
from drivers.idcard.decoder import FrameDecoder
from drivers.idcard.frames import Response, encode
from drivers.idcard.simulator import SCENARIOS, SLOW_RESPONSE_DELAY_S, make_simulator
from drivers.simulation import SimOutput
from drivers.simulation import make_simulator as make_any_simulator


def exchange(scenario: str, *commands: frames.Command, now: float = 0.0) -> list[object]:
    sim = make_simulator(scenario)
    decoder = FrameDecoder()
    for command in commands:
        sim.feed(encode(command), now)
    out = sim.poll(now + 10.0)
    return list(decoder.feed(out.data))


def test_every_named_scenario_builds() -> None:
    """All scenarios listed in the brief exist and are reachable through the shared registry."""
    expected = {
        "default", "resident", "absent", "hkmotw_permit", "foreign_pr_2017", "foreign_pr_2023",
        "fingerprint", "slow", "checksum_corruption", "garbage_bursts", "unplug", "rare_name",
        "invalid_check_digit",
    }  # fmt: skip
    assert expected <= set(SCENARIOS)
    for name in expected:
        assert make_any_simulator("idcard", name) is not None


def test_unknown_scenario_and_option_are_refused() -> None:
    """Typos in scenario names or options raise ValueError naming the known ones."""
    with pytest.raises(ValueError, match="known"):
        make_simulator("residnet")
    with pytest.raises(ValueError, match="options"):
        make_simulator("resident", colour="red")


def test_read_flow_answers() -> None:
    """find, select and read are answered with 9F, 90 and the card's read data."""
    items = exchange("resident", frames.FIND_CARD, frames.SELECT_CARD, frames.READ_CARD)
    assert items[:2] == [Response(0x9F, bytes(4)), Response(0x90, bytes(8))]
    assert isinstance(items[2], Response)
    assert items[2].sw3 == 0x90
    assert len(items[2].data) == 4 + 256 + 1024


def test_absent_card_and_unknown_command() -> None:
    """No card answers 0x80/0x81/0x41; an unknown command answers 0x21."""
    items = exchange(
        "absent", frames.FIND_CARD, frames.SELECT_CARD, frames.READ_CARD, frames.Command(0x77, 1)
    )
    assert [i.sw3 for i in items if isinstance(i, Response)] == [0x80, 0x81, 0x41, 0x21]


def test_bad_host_checksum_is_answered_with_0x10() -> None:
    """A host frame with a bad checksum gets the SAM's checksum-error status."""
    sim = make_simulator("resident")
    bad = bytearray(encode(frames.STATUS))
    bad[-1] ^= 1
    sim.feed(bytes(bad), 0.0)
    assert FrameDecoder().feed(sim.poll(0.0).data) == [Response(0x10)]


def test_slow_scenario_answers_late() -> None:
    """The slow reader's answer is due only after its delay; poll says when to come back."""
    sim = make_simulator("slow")
    sim.feed(encode(frames.STATUS), 0.0)
    early = sim.poll(0.0)
    assert early == SimOutput(data=b"", wake_at_s=SLOW_RESPONSE_DELAY_S)
    assert FrameDecoder().feed(sim.poll(SLOW_RESPONSE_DELAY_S).data) == [Response(0x90)]


def test_unplug_follows_a_read_in_a_poll_of_its_own() -> None:
    """The unplug scenario sends the read answer first, then asks to be unplugged."""
    sim = make_simulator("unplug")
    for command in (frames.FIND_CARD, frames.SELECT_CARD, frames.READ_CARD):
        sim.feed(encode(command), 0.0)
    first = sim.poll(0.0)
    assert first.data
    assert not first.unplug
    assert first.wake_at_s is not None
    assert sim.poll(first.wake_at_s).unplug


def test_garbage_bursts_still_carry_every_answer() -> None:
    """Noise precedes each answer, and the decoder still finds every one of them."""
    items = exchange("garbage_bursts", *[frames.STATUS] * 20)
    assert sum(isinstance(i, FrameError) for i in items) >= 20
    assert [i for i in items if isinstance(i, Response)] == [Response(0x90)] * 20


def test_checksum_corruption_corrupts_every_other_read() -> None:
    """The first read answer has a bad checksum, the retry is clean."""
    items = exchange(
        "checksum_corruption",
        frames.FIND_CARD,
        frames.SELECT_CARD,
        frames.READ_CARD,
        frames.READ_CARD,
    )
    assert [getattr(i, "reason", None) for i in items[2:3]] == ["bad checksum"]
    assert isinstance(items[3], Response)


def test_operator_commands() -> None:
    """insert / remove / scenario change what the reader holds; anything else is refused."""
    sim = make_simulator("absent")
    assert sim.control("insert foreign_pr_2023", 0.0) == "inserted foreign_pr_2023"
    assert sim.card is not None
    assert sim.control("remove", 0.0) == "removed"
    assert sim.card is None
    assert sim.control("scenario hkmotw_permit", 0.0) == "scenario hkmotw_permit"
    assert sim.card is not None
    for bad in ("insert passport", "eject", "scenario nope", "remove now"):
        with pytest.raises(ValueError, match="unknown command"):
            sim.control(bad, 0.0)
