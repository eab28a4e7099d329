"""Technician access: pbkdf2 PIN check, lockout after 5 failures, the hidden corner gesture."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config import load_config
from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.core.technician import (
    CornerTapGesture,
    PinGate,
    PinHashError,
    hash_pin,
    parse_pin_hash,
)
from tests.kiosk_core.support import PIN, PIN_HASH, FakeClock, rig_in

DEV_CONFIG = Path(__file__).resolve().parents[2] / "config" / "dev.yaml"


def test_dev_config_hash_accepts_its_documented_pin() -> None:
    """The dev config's hash (200,000 iterations) verifies PIN 2580 and nothing else."""
    pin_hash = load_config(DEV_CONFIG, env={}).technician.pin_hash
    assert pin_hash is not None
    parsed = parse_pin_hash(pin_hash)
    assert parsed.matches("2580")
    assert not parsed.matches("2581")


def test_hash_pin_round_trips_with_fresh_salts() -> None:
    """hash_pin output parses and verifies; two hashes of one PIN differ by salt."""
    first, second = hash_pin("1234", iterations=1000), hash_pin("1234", iterations=1000)
    assert first != second
    assert parse_pin_hash(first).matches("1234")
    assert first.startswith("pbkdf2-sha256$1000$")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha1$1000$00$" + "0" * 64,
        "pbkdf2-sha256$x$00$" + "0" * 64,
        "pbkdf2-sha256$1000$zz$" + "0" * 64,
        "pbkdf2-sha256$1000$00$" + "0" * 62,
        "pbkdf2-sha256$10$00$" + "0" * 64,
        "pbkdf2-sha256$1000$$" + "0" * 64,
    ],
)
def test_malformed_hash_is_refused_without_echoing_it(text: str) -> None:
    """A malformed hash raises PinHashError whose message never contains the hash."""
    with pytest.raises(PinHashError) as caught:
        parse_pin_hash(text)
    if text:
        assert text not in str(caught.value)


def test_lockout_after_five_failures_for_lockout_s() -> None:
    """Five wrong PINs lock the gate; during the lockout even the right PIN is refused."""
    clock = FakeClock()
    gate = PinGate(PIN_HASH, max_failures=5, lockout_s=300.0, clock=clock)
    remaining = [gate.verify("0000").remaining for _ in range(4)]
    assert remaining == [4, 3, 2, 1]
    assert gate.verify("0000").status == "locked"
    assert gate.verify(PIN).status == "locked"
    clock.advance(299.0)
    assert gate.verify(PIN).status == "locked"
    clock.advance(1.0)
    assert gate.verify(PIN).accepted


def test_success_resets_the_failure_count() -> None:
    """Failures must be consecutive to lock."""
    gate = PinGate(PIN_HASH, max_failures=5, lockout_s=300.0, clock=FakeClock())
    for _ in range(4):
        gate.verify("0000")
    assert gate.verify(PIN).accepted
    assert gate.verify("0000").remaining == 4


def test_no_hash_configured_keeps_diagnostics_closed() -> None:
    """Without a configured hash every attempt is refused as disabled."""
    gate = PinGate(None, clock=FakeClock())
    assert gate.verify(PIN).status == "disabled"


def test_overlong_pin_is_refused_without_hashing() -> None:
    """A PIN longer than 64 characters never matches."""
    assert not parse_pin_hash(PIN_HASH).matches("1" * 10_000)


def test_session_pin_lockout_and_entry() -> None:
    """Through the session: 5 wrong PINs lock with a message; after lockout_s the PIN opens."""
    rig = rig_in(State.DIAGNOSTICS_PIN)
    for _ in range(5):
        assert rig.send(i.PinEntered("9999")) is State.DIAGNOSTICS_PIN
    assert "300" in rig.session.views.diagnostics.pin_message
    assert rig.session.views.diagnostics.locked_for_s == 300
    assert rig.send(i.PinEntered(PIN)) is State.DIAGNOSTICS_PIN
    rig.clock.advance(300.0)
    assert rig.send(i.PinEntered(PIN)) is State.DIAGNOSTICS


@given(st.lists(st.floats(0.0, 0.7), min_size=4, max_size=4))
def test_five_corner_taps_within_3_s_open(gaps: list[float]) -> None:
    """Five top-left taps within 3 s are recognised on the fifth tap only."""
    gesture = CornerTapGesture()
    now = 10.0
    assert not gesture.feed(0.01, 0.02, now)
    for n, gap in enumerate(gaps):
        now += gap
        assert gesture.feed(0.02, 0.01, now) is (n == 3)


def test_slow_or_stray_taps_do_not_open() -> None:
    """Taps spread over more than 3 s, or with a tap elsewhere in between, do not count."""
    gesture = CornerTapGesture()
    assert not any(gesture.feed(0.0, 0.0, t) for t in (0.0, 1.0, 2.0, 3.0, 3.5))
    gesture = CornerTapGesture()
    taps = [(0.0, 0.0), (0.0, 0.0), (0.5, 0.5), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0)]
    assert not any(gesture.feed(x, y, n * 0.1) for n, (x, y) in enumerate(taps))
