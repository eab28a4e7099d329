"""Every device error code has a stable key and a plain-words message."""

from __future__ import annotations

import pytest

from drivers.bp import omron9030, suntech
from drivers.bp.messages import ERROR_MESSAGES, UNKNOWN_ERROR_KEY, message_for

ALL_CODES = [(suntech.error_key_for, c) for c in suntech.ERROR_KEYS] + [
    (omron9030.error_key_for, c) for c in omron9030.ERROR_KEYS
]


@pytest.mark.parametrize(("key_for", "code"), ALL_CODES)
def test_every_code_maps_to_a_catalogued_key(key_for: object, code: int) -> None:
    """Each documented device code maps to a key that has an English message."""
    assert callable(key_for)
    key = key_for(code)
    assert key in ERROR_MESSAGES


@pytest.mark.parametrize("key_for", [suntech.error_key_for, omron9030.error_key_for])
def test_success_and_unknown_codes(key_for: object) -> None:
    """Code 0 has no key; an undocumented code gets the generic device-error key."""
    assert callable(key_for)
    assert key_for(0) is None
    assert key_for(250) == UNKNOWN_ERROR_KEY


def test_documented_suntech_codes_are_decimal() -> None:
    """The SunTech table uses the manual's decimal codes (87 = 0x57 loose cuff); firmware that
    sends them as decimal digits (0x87) means the same (issue 10 item 13 changed this)."""
    assert suntech.error_key_for(87) == "cuff_leak"
    assert suntech.error_key_for(0x87) == "cuff_leak"


@pytest.mark.parametrize("key", sorted(ERROR_MESSAGES))
def test_messages_are_plain_words(key: str) -> None:
    """Messages are sentences for residents: no codes, hex or jargon."""
    message = ERROR_MESSAGES[key]
    assert message.endswith(".")
    for jargon in ("0x", "error code", "NIBP", "EEPROM", "transducer", "oscillometric"):
        assert jargon.lower() not in message.lower()


def test_unknown_key_falls_back() -> None:
    """An unknown key gets the generic message rather than failing."""
    assert message_for("no-such-key") == ERROR_MESSAGES[UNKNOWN_ERROR_KEY]
