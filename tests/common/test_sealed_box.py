"""The call-back phone number sealed to the city's key (docs/contract/README.md, requests)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.ids import uuid7
from common.pii import mask_phone
from common.sealed_box import (
    SEALED_CHARS,
    SealError,
    generate_key_pair,
    is_phone_number,
    open_phone,
    seal_phone,
)

SCHEMA = Path(__file__).parents[2] / "docs/contract/schemas/request.submitted.schema.json"
MOBILES = st.from_regex(r"\A1[3-9][0-9]{9}\Z")
LANDLINES = st.from_regex(r"\A0[1-9][0-9]{1,2}-?[0-9]{7,8}\Z")


@settings(max_examples=40, deadline=None)
@given(phone=st.one_of(MOBILES, LANDLINES))
def test_a_sealed_number_opens_with_the_private_key_and_has_one_length(phone: str) -> None:
    private, public = generate_key_pair()
    request_id = uuid7()
    sealed = seal_phone(phone, public, request_id)
    pattern = json.loads(SCHEMA.read_text())["properties"]["data"]["properties"]["callback"]
    assert re.fullmatch(pattern["properties"]["sealed"]["pattern"], sealed)
    assert len(sealed) == SEALED_CHARS
    assert phone not in sealed
    assert open_phone(sealed, private, request_id) == phone


def test_another_key_or_another_request_does_not_open_it() -> None:
    private, public = generate_key_pair()
    other_private, _ = generate_key_pair()
    request_id = uuid7()
    sealed = seal_phone("13812345678", public, request_id)
    with pytest.raises(SealError):
        open_phone(sealed, other_private, request_id)
    with pytest.raises(SealError):
        open_phone(sealed, private, uuid7())


def test_two_seals_of_one_number_differ() -> None:
    _, public = generate_key_pair()
    request_id = uuid7()
    assert seal_phone("13812345678", public, request_id) != seal_phone(
        "13812345678", public, request_id
    )


@settings(max_examples=200, deadline=None)
@given(garbage=st.text(max_size=200))
def test_garbage_is_a_seal_error_never_another_exception(garbage: str) -> None:
    private, _ = generate_key_pair()
    with pytest.raises(SealError):
        open_phone(garbage, private, uuid7())


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(min_size=92, max_size=92))
def test_random_bytes_of_the_right_length_do_not_open(raw: bytes) -> None:
    import base64

    private, _ = generate_key_pair()
    sealed = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    with pytest.raises(SealError):
        open_phone(sealed, private, uuid7())


def test_what_is_not_a_phone_number_is_not_sealed() -> None:
    _, public = generate_key_pair()
    for text in ("", "12345", "11010519491231002X", "1381234567８", "138123456789"):
        assert not is_phone_number(text)
        with pytest.raises(SealError):
            seal_phone(text, public, uuid7())
    with pytest.raises(SealError):
        seal_phone("13812345678", b"short", uuid7())


def test_masking_keeps_the_first_three_and_last_four() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0755-12345678") == "075*****5678"
