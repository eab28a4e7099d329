"""Technician access: scrypt PIN check, persisted escalating lockouts, the hidden corner gesture."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config import load_config
from config.pinhash import MIN_N
from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.core.technician import (
    CornerTapGesture,
    MemoryPinStore,
    PinGate,
    PinHashError,
    PinState,
    hash_pin,
    parse_pin_hash,
)
from kiosk.runtime.pin_store import FilePinStore
from tests.kiosk_core.support import LOCKOUT_STEPS_S, PIN, PIN_HASH, FakeClock, rig_in

DEV_CONFIG = Path(__file__).resolve().parents[2] / "config" / "dev.yaml"
WRONG = "000000"


def gate_on(store: object, clock: FakeClock, **kwargs: object) -> PinGate:
    """A gate as the kiosk builds it: five failures per lockout, the test's lockout steps."""
    options: dict[str, object] = {"max_failures": 5, "lockout_steps_s": LOCKOUT_STEPS_S}
    return PinGate(PIN_HASH, clock=clock, store=store, **{**options, **kwargs})  # type: ignore[arg-type]


def fail(gate: PinGate, times: int) -> list[str]:
    """Enter a wrong PIN `times` times; the statuses."""
    return [gate.verify(WRONG).status for _ in range(times)]


def test_dev_config_hash_is_scrypt_and_accepts_its_documented_pin() -> None:
    """The dev config's inline hash is scrypt (N=2^15, r=8) and verifies PIN 2580 only."""
    pin_hash = load_config(DEV_CONFIG, env={}).technician.pin_hash
    assert pin_hash is not None
    parsed = parse_pin_hash(pin_hash)
    assert (parsed.n, parsed.r) == (2**15, 8)
    assert parsed.matches("2580")
    assert not parsed.matches("2581")


def test_hash_pin_round_trips_with_fresh_salts() -> None:
    """hash_pin output parses and verifies; two hashes of one PIN differ by salt."""
    first, second = hash_pin("123456", n=MIN_N), hash_pin("123456", n=MIN_N)
    assert first != second
    assert parse_pin_hash(first).matches("123456")
    assert first.startswith(f"scrypt${MIN_N}$8$1$")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha1$1000$00$" + "0" * 64,
        f"scrypt$x$8$1${'00' * 16}${'0' * 64}",
        f"scrypt${MIN_N}$8$1$zz${'0' * 64}",
        f"scrypt${MIN_N}$8$1${'00' * 16}${'0' * 62}",
        f"scrypt$1024$8$1${'00' * 16}${'0' * 64}",  # not memory-hard enough
        f"scrypt${MIN_N + 1}$8$1${'00' * 16}${'0' * 64}",  # not a power of two
        f"scrypt$1073741824$8$1${'00' * 16}${'0' * 64}",  # would exhaust memory
        f"scrypt${MIN_N}$8$1$$" + "0" * 64,
    ],
)
def test_malformed_hash_is_refused_without_echoing_it(text: str) -> None:
    """A malformed hash raises PinHashError whose message never contains the hash."""
    with pytest.raises(PinHashError) as caught:
        parse_pin_hash(text)
    if text:
        assert text not in str(caught.value)


def test_old_pbkdf2_hash_is_refused_with_how_to_rehash() -> None:
    """A PBKDF2 hash (cracked offline in 112 s) is refused, telling the technician to re-hash."""
    old = "pbkdf2-sha256$200000$c70e548f89649ac2165dd6f0cdc1d35f$" + "25" * 32
    with pytest.raises(PinHashError, match=r"PBKDF2.*hash-pin --config"):
        parse_pin_hash(old)


def test_lockout_after_five_failures_for_the_first_step() -> None:
    """Five wrong PINs lock the gate; during the lockout even the right PIN is refused."""
    clock = FakeClock()
    gate = gate_on(MemoryPinStore(), clock)
    remaining = [gate.verify(WRONG).remaining for _ in range(4)]
    assert remaining == [4, 3, 2, 1]
    result = gate.verify(WRONG)
    assert (result.status, result.locked_for_s, result.lockout_level) == ("locked", 300.0, 1)
    assert gate.verify(PIN).status == "locked"
    clock.advance(299.0)
    assert gate.verify(PIN).status == "locked"
    clock.advance(1.0)
    assert gate.verify(PIN).accepted


def test_lockouts_escalate_and_expiry_does_not_reset_the_level() -> None:
    """Lockout n lasts step n (the last repeats); waiting one out keeps the level."""
    clock = FakeClock()
    gate = gate_on(MemoryPinStore(), clock)
    durations = []
    for _ in range(4):
        fail(gate, 4)
        result = gate.verify(WRONG)
        durations.append((result.lockout_level, result.locked_for_s))
        clock.advance(result.locked_for_s)
    assert durations == [(1, 300.0), (2, 900.0), (3, 3600.0), (4, 3600.0)]


def test_only_a_correct_pin_resets_the_level() -> None:
    """After a correct PIN the next lockout is the first step again."""
    clock = FakeClock()
    gate = gate_on(MemoryPinStore(), clock)
    fail(gate, 5)
    clock.advance(300.0)
    assert gate.verify(PIN).accepted
    assert gate.state == PinState()
    fail(gate, 4)
    assert gate.verify(WRONG).lockout_level == 1


def test_failures_and_lockouts_survive_a_restart(tmp_path: Path) -> None:
    """A new gate on the same state file (a kiosk restart) keeps the count and the lockout."""
    clock = FakeClock()
    path = tmp_path / "private" / "technician-pin-state.json"
    assert fail(gate_on(FilePinStore(path), clock), 4) == ["rejected"] * 4
    restarted = gate_on(FilePinStore(path), clock)
    assert restarted.verify(WRONG).lockout_level == 1
    again = gate_on(FilePinStore(path), clock)
    assert again.verify(PIN).status == "locked"
    clock.advance(300.0)
    fail(again, 4)
    assert gate_on(FilePinStore(path), clock).verify(WRONG).lockout_level == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_attempt_is_saved_before_the_hash_is_checked() -> None:
    """Killing the kiosk during the (slow) hash check still leaves the attempt counted."""

    class PeekingStore(MemoryPinStore):
        saved: list[PinState]

        def save(self, state: PinState) -> None:
            self.saved = [*getattr(self, "saved", []), state]
            super().save(state)

    store = PeekingStore()
    gate_on(store, FakeClock()).verify(WRONG)
    assert store.saved[0].failures == 1


def test_unreadable_state_fails_closed(tmp_path: Path) -> None:
    """A corrupt state file locks the gate for the first step instead of forgetting failures."""
    path = tmp_path / "state.json"
    path.write_text("{not json", encoding="utf-8")
    clock = FakeClock()
    gate = gate_on(FilePinStore(path), clock)
    assert gate.verify(PIN).status == "locked"
    assert json.loads(path.read_text(encoding="utf-8"))["lockouts"] == 1


def test_clock_set_back_never_lengthens_a_lockout() -> None:
    """A wall clock jumping back cannot lock the keypad for longer than the level's step."""
    clock = FakeClock(start_s=1_000_000.0)
    gate = gate_on(MemoryPinStore(), clock)
    fail(gate, 5)
    clock.now_s -= 86_400.0
    assert gate.locked_for_s() == 300.0


def test_short_pins_are_refused_outside_development() -> None:
    """With 6 digits required, a 4-digit PIN fails even if it is the hashed one."""
    four = hash_pin("2580", n=MIN_N)
    strict = PinGate(four, clock=FakeClock())
    assert strict.verify("2580").status == "rejected"
    dev = PinGate(four, clock=FakeClock(), min_digits=4)
    assert dev.verify("2580").accepted


def test_no_hash_configured_keeps_diagnostics_closed() -> None:
    """Without a configured hash every attempt is refused as disabled."""
    gate = PinGate(None, clock=FakeClock())
    assert gate.verify(PIN).status == "disabled"


def test_overlong_pin_is_refused_without_hashing() -> None:
    """A PIN longer than 64 characters never matches."""
    assert not parse_pin_hash(PIN_HASH).matches("1" * 10_000)


def test_session_pin_lockout_and_entry() -> None:
    """Through the session: 5 wrong PINs lock with a message; after the first step the PIN opens."""
    rig = rig_in(State.DIAGNOSTICS_PIN)
    for _ in range(5):
        assert rig.send(i.PinEntered("999999")) is State.DIAGNOSTICS_PIN
    assert "300" in rig.session.views.diagnostics.pin_message
    assert rig.session.views.diagnostics.locked_for_s == 300
    assert rig.send(i.PinEntered(PIN)) is State.DIAGNOSTICS_PIN
    rig.clock.advance(300.0)
    assert rig.send(i.PinEntered(PIN)) is State.DIAGNOSTICS


def test_session_tells_the_city_of_each_lockout() -> None:
    """Each lockout sends one contract-valid technician.lockout with level, duration, count."""
    rig = rig_in(State.DIAGNOSTICS_PIN)
    for _ in range(5):
        rig.send(i.PinEntered("999999"))
    rig.send(i.PinEntered(PIN))  # refused while locked: no second event
    rig.clock.advance(300.0)
    for _ in range(5):
        rig.send(i.PinEntered("999999"))
    lockouts = rig.sink.of_type("technician.lockout")
    assert lockouts == [
        {"level": 1, "lockout_s": 300.0, "failed_attempts": 5},
        {"level": 2, "lockout_s": 900.0, "failed_attempts": 10},
    ]


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
