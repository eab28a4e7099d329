"""Technician tool: replay captures and probe readers, one JSON-ready dict per record (masked)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from drivers.errors import FrameError
from drivers.idcard.card import CardType, IdCard, decode_text_block, with_media
from drivers.idcard.decoder import FrameDecoder
from drivers.idcard.device import IdCardReader
from drivers.idcard.frames import Command, Response, parse_read_data
from drivers.idcard.status import SW3_SUCCESS, meaning

Record = dict[str, Any]

BIRTH_YEAR_DIGITS = 4
# The 2017 PR card's "authority" is the acceptance-office code, which is also characters 4-7 of
# its number: print the province part only, as the address mask does.
PR2017_AUTHORITY_VISIBLE_CHARS = 2


def birth_year(birth: str) -> str:
    """`YYYYMMDD` → `YYYY`: month and day are the digits the masked number hides."""
    year = birth[:BIRTH_YEAR_DIGITS]
    return year if len(year) == BIRTH_YEAR_DIGITS and year.isascii() and year.isdigit() else ""


def printed_authority(card: IdCard) -> str:
    """The issuing office; on a 2017 PR card only the province part of its office code."""
    if card.card_type is not CardType.FOREIGN_PR_2017:
        return card.authority
    visible = card.authority[:PR2017_AUTHORITY_VISIBLE_CHARS]
    return visible + "*" * (len(card.authority) - len(visible))


def card_record(card: IdCard) -> Record:
    """The masked JSON record of a card: no field, alone or combined, gives back a clear name,
    number or address (the birth is the year only, as the number's mask hides the date)."""
    return {
        "card_type": card.card_type.value,
        "name_masked": card.name_masked,
        "sex": card.sex.value,
        "nation": card.nation,
        "birth": birth_year(card.birth),
        "id_number_masked": card.id_number_masked,
        "id_number_valid": card.id_number_valid,
        "valid_from": card.valid_from,
        "valid_to": card.valid_to,
        "authority": printed_authority(card),
        "address_masked": card.address_masked,
    }


def _card_of(response: Response) -> IdCard | None:
    """The card in a successful read response; None for every other response."""
    if response.sw3 != SW3_SUCCESS:
        return None
    try:
        read = parse_read_data(response.data)
    except FrameError:
        return None  # SAM id, select, appended address: not a card
    return with_media(decode_text_block(read.text), read.photo, read.fingerprint)


def status_record(response: Response) -> Record:
    """A reply that is not a card, as its status bytes and their meaning (never its data)."""
    return {
        "kind": "status",
        "sw1": response.sw1,
        "sw2": response.sw2,
        "sw3": response.sw3,
        "meaning": meaning(response.sw3),
    }


def decode_capture(data: bytes, **options: str) -> Iterator[Record]:
    """Cards, every other reply (as a status) and discards in a raw capture (reader side only,
    or both directions interleaved; host commands are skipped)."""
    if options:
        raise ValueError(f"unknown idcard decode options: {', '.join(sorted(options))}")
    decoder = FrameDecoder()
    located = decoder.feed_located(data)
    located += [(error.offset, error) for error in decoder.flush()]
    for offset, item in located:
        if isinstance(item, FrameError):
            yield {"error": item.reason, "offset": offset}
        elif isinstance(item, Command):
            continue  # host side of a two-way capture
        else:
            card = _card_of(item)
            yield status_record(item) if card is None else card_record(card)


def probe(url: str, timeout_s: float, **options: str) -> Iterator[Record]:
    """Status and SAM id, then one read: a card record, or `{"kind": "no_card"}`."""
    if options:
        raise ValueError(f"unknown idcard probe options: {', '.join(sorted(options))}")
    with IdCardReader(url) as reader:
        yield {"kind": "status", "status": reader.status(), "sam_id": reader.sam_id()}
        card = reader.read_card(timeout_s)
        yield card_record(card) if card is not None else {"kind": "no_card", "timeout_s": timeout_s}
