"""Text blocks of the four card types, tables, masking and the photo plug-in."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import FrameError
from drivers.idcard import photo
from drivers.idcard.card import (
    NATIONS,
    CardType,
    IdCard,
    Sex,
    decode_text_block,
    encode_text_block,
)
from drivers.idcard.samples import SAMPLE_CARDS
from drivers.idcard.tool import card_record


def block(fields: dict[tuple[int, int], str]) -> bytes:
    """A text block built straight from byte offsets (independent of the card layouts)."""
    raw = bytearray(" ".encode("utf-16-le") * 128)
    for (start, end), text in fields.items():
        encoded = text.encode("utf-16-le")
        raw[start : start + len(encoded)] = encoded
        assert start + len(encoded) <= end
    return bytes(raw)


def test_resident_block_at_documented_offsets() -> None:
    """A resident card's fields are read from GA 467's offsets; space at 248 means resident."""
    card = decode_text_block(
        block(
            {
                (0, 30): "陈样卡",
                (30, 32): "2",
                (32, 36): "01",
                (36, 52): "19900307",
                (52, 122): "福建省泉州市丰泽区示例路88号",
                (122, 158): "350503199003070029",
                (158, 188): "泉州市公安局丰泽分局",
                (188, 204): "20150101",
                (204, 220): "长期",
            }
        )
    )
    assert card.card_type is CardType.RESIDENT
    assert (card.name, card.sex, card.nation, card.birth) == (
        "陈样卡",
        Sex.FEMALE,
        "汉",
        "19900307",
    )
    assert card.address == "福建省泉州市丰泽区示例路88号"
    assert card.id_number == "350503199003070029"
    assert card.authority == "泉州市公安局丰泽分局"
    assert (card.valid_from, card.valid_to) == ("20150101", "长期")
    assert card.id_number_valid


def test_hkmotw_permit_block() -> None:
    """Flag J: the pass number (220–238) and issue count (238–242) are read too."""
    card = decode_text_block(
        block(
            {
                (0, 30): "黄港样",
                (30, 32): "1",
                (122, 158): "810000198511120010",
                (220, 238): "H90000001",
                (238, 242): "01",
                (248, 250): "J",
            }
        )
    )
    assert card.card_type is CardType.HKMOTW_PERMIT
    assert (card.pass_number, card.issue_count) == ("H90000001", "01")
    assert card.id_number_valid


def test_foreign_pr_2017_block() -> None:
    """Flag I: English name 0–120, PR number, nationality, Chinese name, birth at 220."""
    card = decode_text_block(
        block(
            {
                (0, 120): "SAMPLE, ALEX JORDAN",
                (120, 122): "1",
                (122, 152): "USA110085010116",
                (152, 158): "USA",
                (158, 188): "萨样",
                (188, 204): "20170601",
                (204, 220): "20270601",
                (220, 236): "19850101",
                (236, 240): "02",
                (240, 248): "1100",
                (248, 250): "I",
            }
        )
    )
    assert card.card_type is CardType.FOREIGN_PR_2017
    assert (card.english_name, card.name, card.nation) == ("SAMPLE, ALEX JORDAN", "萨样", "USA")
    assert (card.birth, card.card_version, card.authority) == ("19850101", "02", "1100")
    assert card.sex is Sex.MALE
    assert card.id_number_valid


def test_foreign_pr_2023_block_joins_the_long_english_name() -> None:
    """Flag Y: the English name continues from 52–122 into 220–242; nationality at 242."""
    long_name = "SAMPLE-EXAMPLE, ANNA MARIA THEODORA KATHARINA"
    card = decode_text_block(
        block(
            {
                (0, 30): "示例安娜",
                (30, 32): "2",
                (32, 36): "00",
                (36, 52): "19920415",
                (52, 122): long_name[:35],
                (122, 158): "931586198001010028",
                (188, 204): "20230808",
                (204, 220): "20330807",
                (220, 242): long_name[35:],
                (242, 248): "PAK",
                (248, 250): "Y",
            }
        )
    )
    assert card.card_type is CardType.FOREIGN_PR_2023
    assert card.english_name == long_name
    assert (card.name, card.nation, card.renewal_count) == ("示例安娜", "PAK", "00")
    assert card.id_number_valid


@pytest.mark.parametrize("key", sorted(SAMPLE_CARDS))
def test_sample_cards_round_trip(key: str) -> None:
    """Every sample card encodes to 256 bytes and decodes back to the same text fields."""
    card = SAMPLE_CARDS[key]
    decoded = decode_text_block(encode_text_block(card))
    assert dataclasses.replace(decoded, photo=card.photo, fingerprint=card.fingerprint) == card


def test_rare_characters_survive() -> None:
    """A CJK Extension A character (䶮, U+4DAE) in a name decodes intact."""
    card = decode_text_block(encode_text_block(SAMPLE_CARDS["rare_name"]))
    assert "\u4dae" in card.name
    assert card.valid_to == "长期"


@given(st.binary(min_size=256, max_size=256))
def test_any_256_bytes_decode_without_raising(raw: bytes) -> None:
    """Arbitrary content never raises; odd codes read as unknown values."""
    card = decode_text_block(raw)
    assert isinstance(card.sex, Sex)
    assert isinstance(card.id_number_valid, bool)


@pytest.mark.parametrize("size", [0, 255, 257])
def test_wrong_block_size_is_a_frame_error(size: int) -> None:
    """Only a 256-byte block is a text block."""
    with pytest.raises(FrameError):
        decode_text_block(bytes(size))


def test_tables() -> None:
    """Sex codes 0/1/2/9 and all 56 GB 3304 groups plus 97 and 98 (and 59, 60) are known."""
    assert [s.value for s in Sex] == ["unknown", "male", "female", "unspecified"]
    assert len(NATIONS) == 60
    assert (NATIONS["01"], NATIONS["05"], NATIONS["56"]) == ("汉", "维吾尔", "基诺")
    assert (NATIONS["97"], NATIONS["98"]) == ("其他", "外国血统中国籍人士")
    card = SAMPLE_CARDS["resident"]
    assert dataclasses.replace(card, sex_code="7").sex is Sex.UNKNOWN
    assert dataclasses.replace(card, nation_code="77").nation == "77"


@pytest.mark.parametrize(("code", "name"), [("59", "穿青人"), ("60", "革家人")])
def test_groups_outside_gb3304_show_their_names(code: str, name: str) -> None:
    """Codes 59 and 60, carried by some cards though not in GB 3304, decode to their names."""
    card = dataclasses.replace(SAMPLE_CARDS["resident"], nation_code=code)
    assert decode_text_block(encode_text_block(card)).nation == name
    assert card_record(card)["nation"] == name


def test_repr_and_masked_views_hide_pii() -> None:
    """repr shows no name, full number or address; masked views keep only the allowed parts."""
    card = SAMPLE_CARDS["resident"]
    text = repr(card)
    for secret in (card.name, card.id_number, card.address, card.birth):
        assert secret not in text
    assert card.id_number_masked == card.id_number[:6] + "********" + card.id_number[-4:]
    assert card.name_masked == card.name[0] + "**"
    assert card.address_masked.startswith(card.address[:6])
    assert card.address[6:10] not in card.address_masked


def test_field_too_long_is_refused_by_the_encoder() -> None:
    """The encoder refuses a value that does not fit its field rather than truncating it."""
    with pytest.raises(ValueError, match="name"):
        encode_text_block(dataclasses.replace(SAMPLE_CARDS["resident"], name="长" * 16))


@pytest.fixture
def registered_decoder() -> Iterator[None]:
    photo.register_photo_decoder(lambda wlt: b"BMP" + wlt[:3])
    yield
    photo.register_photo_decoder(None)


def test_photo_stays_opaque_without_a_decoder() -> None:
    """With no plug-in registered, decoding a photo gives None; the bytes are kept as read."""
    card: IdCard = SAMPLE_CARDS["resident"]
    assert photo.decode_photo(card.photo) is None
    assert card.photo.startswith(b"WLT")


@pytest.mark.usefixtures("registered_decoder")
def test_photo_decoder_plug_in_is_used() -> None:
    """A registered decoder turns the WLT bytes into an image."""
    assert photo.decode_photo(SAMPLE_CARDS["resident"].photo) == b"BMPWLT"
    assert photo.decode_photo(b"") is None
