"""Privacy building blocks: pseudonyms, masking, and logs that never carry PII."""

from __future__ import annotations

import hmac
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.pii import mask_address, mask_id_number, mask_name, mask_phone
from config.model import Privacy
from config.privacy import (
    PseudonymInputError,
    PseudonymKeyError,
    RedactingFilter,
    load_pseudonym_key,
    pseudonymise,
    redact_text,
)

KEY = bytes(range(32))
CITY = "440300"
ID_NUMBER = "11010519491231002X"
NAME = "张三丰"
ADDRESS = "北京市东城区景山前街4号"


@dataclass(frozen=True)
class FakeCard:
    """Stands in for a decoded ID card (a physical card cannot be had here)."""

    name: str = NAME
    id_number: str = ID_NUMBER
    address: str = ADDRESS


def test_masking_matches_the_design_examples() -> None:
    """110105********0123, 张*, 138****8000 — as docs/design.md §3 shows them."""
    assert mask_id_number("110105199001010123") == "110105********0123"
    assert mask_id_number("110105900101012") == "110********1012"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("JOHN SMITH") == "J*** S****"
    assert mask_phone("13812348000") == "138****8000"
    assert mask_address(ADDRESS) == "北京市东城区****"


@given(st.text(alphabet="0123456789X", min_size=15, max_size=18))
def test_masked_numbers_hide_the_middle(number: str) -> None:
    """However long, a masked number never shows more than its ends."""
    masked = mask_id_number(number)
    assert len(masked) == len(number)
    assert masked.count("*") >= len(number) - 10


def test_pseudonym_is_stable_keyed_and_case_insensitive() -> None:
    """Same number and key → same 64-hex pseudonym; another key → another pseudonym."""
    first = pseudonymise(ID_NUMBER, KEY, CITY)
    assert first == pseudonymise(ID_NUMBER.lower(), KEY, CITY)
    assert first == pseudonymise(f" {ID_NUMBER} ", KEY, CITY)
    assert first != pseudonymise(ID_NUMBER, bytes(32), CITY)
    assert len(first) == 64
    assert int(first, 16) >= 0
    assert ID_NUMBER not in first


def test_pseudonym_follows_the_contract_formula() -> None:
    """subject = hex(HMAC-SHA256(key, "civic-kiosk/pseudonym/v2|" + city + "|" + upper(id)))."""
    message = f"civic-kiosk/pseudonym/v2|{CITY}|{ID_NUMBER}".encode()
    assert (
        pseudonymise(ID_NUMBER.lower(), KEY, CITY) == hmac.new(KEY, message, "sha256").hexdigest()
    )


def test_pseudonym_separates_cities() -> None:
    """One number under one key gives different pseudonyms in two cities (domain separation)."""
    assert pseudonymise(ID_NUMBER, KEY, "440300") != pseudonymise(ID_NUMBER, KEY, "110000")


@pytest.mark.parametrize(
    "id_number",
    [
        "11010519491231002é",  # mapped to "?" before: collided with the next one
        "11010519491231002?",
        "１１０１０５１９４９１２３１００２X",  # full-width digits
        "straße",  # upper() would turn ß into SS
        "",
        "   ",
        "1101-0519",
        "1" * 33,
        "110105\x0019491231002X",
    ],
)
def test_pseudonym_refuses_anything_but_ascii_letters_and_digits(id_number: str) -> None:
    """Non-ASCII, punctuation, empty or over 32 characters: refused, never mapped to a stand-in."""
    with pytest.raises(PseudonymInputError) as caught:
        pseudonymise(id_number, KEY, CITY)
    if id_number.strip():
        assert id_number.strip() not in str(caught.value)


@pytest.mark.parametrize("number", ["H12345678", "C01234567", "ABC123456789012", "1" * 32])
def test_pseudonym_accepts_permits_and_foreigner_cards(number: str) -> None:
    """HK/Macau/Taiwan permit numbers and the 15-character foreigner card are pseudonymised."""
    assert len(pseudonymise(number, KEY, CITY)) == 64


def test_pseudonym_key_comes_from_config_inline_or_file(tmp_path: Path) -> None:
    """Hex inline, hex in a file, and a clear error when missing or short."""
    assert load_pseudonym_key(Privacy(pseudonym_key=KEY.hex())) == KEY
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text(KEY.hex() + "\n")
    assert load_pseudonym_key(Privacy(pseudonym_key_file=key_file)) == KEY
    with pytest.raises(PseudonymKeyError):
        load_pseudonym_key(Privacy())
    with pytest.raises(PseudonymKeyError):
        load_pseudonym_key(Privacy(pseudonym_key="00" * 8))


@pytest.mark.parametrize("weak", [bytes(32), b"\xff" * 64, b"\x01\x02" * 16, bytes(31) + b"\x01"])
def test_weak_pseudonym_keys_are_refused(weak: bytes) -> None:
    """All-zero, one repeated byte, a short pattern: not random keys, refused."""
    with pytest.raises(PseudonymKeyError, match="random"):
        load_pseudonym_key(Privacy(pseudonym_key=weak.hex()))


@pytest.fixture
def captured_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.privacy")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_a_logged_card_yields_no_id_number_or_name(
    captured_log: tuple[logging.Logger, io.StringIO],
) -> None:
    """However a card is logged — as an object, a dict, an extra field or text — no PII remains."""
    logger, stream = captured_log
    card = FakeCard()
    logger.info("card read: %s", card)
    logger.info("card read: %r", card)
    logger.info("card dict: %s", {"name": NAME, "id_number": ID_NUMBER, "card_type": "resident"})
    logger.info("card fields", extra={"id_number": ID_NUMBER, "address": ADDRESS})
    logger.warning("lookup failed for " + ID_NUMBER)  # noqa: G003 — the mistake under test
    logger.info("mapping %(name)s %(id_number)s", {"name": NAME, "id_number": ID_NUMBER})
    try:
        raise ValueError(f"bad card {ID_NUMBER}")
    except ValueError:
        logger.exception("while reading")
    output = stream.getvalue()
    assert "card read" in output
    assert logger.name == "tests.privacy"
    assert "resident" in output
    for secret in (ID_NUMBER, ID_NUMBER[:17], NAME, ADDRESS):
        assert secret not in output


def test_redaction_keeps_uuids_and_timestamps() -> None:
    """Event ids and times stay readable; phone and ID numbers do not."""
    text = "event 0b9a4c1e-2f3d-4e5f-8a6b-7c8d9e0f1a2b at 20261123081530123 from 13812348000"
    redacted = redact_text(text)
    assert "0b9a4c1e-2f3d-4e5f-8a6b-7c8d9e0f1a2b" in redacted
    assert "13812348000" not in redacted
    assert "20261123081530123" in redacted


def test_extra_fields_are_redacted_on_the_record(
    captured_log: tuple[logging.Logger, io.StringIO],
) -> None:
    """A formatter that prints extra fields sees only the marker."""
    logger, stream = captured_log
    handler = logger.handlers[0]
    handler.setFormatter(logging.Formatter("%(name)s %(message)s id=%(id_number)s"))
    logger.info("card", extra={"id_number": ID_NUMBER})
    assert stream.getvalue().strip() == "tests.privacy card id=[redacted]"
