"""Technician output rebuilds no ID number (issue 10 item 2): every field, alone and combined."""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.idcard.card import IdCard
from drivers.idcard.frames import encode
from drivers.idcard.idnumber import check_digit_731, complete_gb11643, is_valid_id_number
from drivers.idcard.samples import SAMPLE_CARDS
from drivers.idcard.simulator import SCENARIOS, read_response
from drivers.idcard.tool import card_record, decode_capture, probe

# An attacker holding one record must be left with at least this many equally likely numbers.
MIN_CANDIDATES = 12
EARLIEST_YEAR, LATEST_YEAR = 1900, 2030
CARD_SCENARIOS = sorted({s.card for s in SCENARIOS.values() if s.card is not None})


def dates_in(year: int) -> Iterator[str]:
    day = datetime.date(year, 1, 1)
    while day.year == year:
        yield day.strftime("%Y%m%d")
        day += datetime.timedelta(days=1)


def candidates(record: dict[str, Any]) -> list[str]:
    """Every number consistent with all the record prints, enumerated the way an attacker would.

    18 characters (GB 11643): the mask hides the birth date; the printed birth gives its year.
    15 characters (2017 PR): the mask hides the office code and YYMM; the printed authority gives
    the visible part of the office code, the printed birth the year. The validity flag prunes.
    """
    masked: str = record["id_number_masked"]
    year = record["birth"]
    years = [int(year)] if year else list(range(EARLIEST_YEAR, LATEST_YEAR))
    if len(masked) == 18:
        fills = [date for y in years for date in dates_in(y)]
        numbers = [masked[:6] + fill + masked[14:] for fill in fills]
    else:
        assert len(masked) == 15
        office_prefix = record["authority"].rstrip("*")
        offices = [
            office_prefix + "".join(rest)
            for rest in itertools.product("0123456789", repeat=4 - len(office_prefix))
        ]
        months = [f"{y % 100:02d}{m:02d}" for y in years for m in range(1, 13)]
        numbers = [
            masked[:3] + office + yymm + masked[11:] for office in offices for yymm in months
        ]
    return [n for n in numbers if is_valid_id_number(n) == record["id_number_valid"]]


def assert_reconstructs_nothing(card: IdCard, records: list[dict[str, Any]]) -> None:
    output = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    hidden = card.id_number[6:14] if len(card.id_number) == 18 else card.id_number[3:11]
    for secret in (
        card.id_number,
        hidden,
        card.birth,
        card.name,
        card.english_name,
        card.address,
        card.pass_number,
    ):
        if secret:
            assert secret not in output
    for record in (r for r in records if "id_number_masked" in r):
        found = candidates(record)
        assert card.id_number in found, "the enumeration must cover the true number"
        assert len(found) >= MIN_CANDIDATES


@pytest.mark.parametrize("key", sorted(SAMPLE_CARDS))
def test_decoded_record_leaves_many_candidate_numbers(key: str) -> None:
    """`decode idcard` on a read of each sample card prints nothing that narrows the number."""
    card = SAMPLE_CARDS[key]
    wire = encode(read_response(card, with_fingerprint=card.fingerprint is not None))
    records = list(decode_capture(wire))
    assert len(records) == 1
    assert records[0]["birth"] == card.birth[:4]
    assert_reconstructs_nothing(card, records)


@pytest.mark.parametrize("key", CARD_SCENARIOS)
def test_probe_output_leaves_many_candidate_numbers(key: str) -> None:
    """`probe idcard` on each simulated card prints nothing that narrows the number."""
    records = list(probe(f"sim://idcard?scenario={key}", 3.0))
    assert_reconstructs_nothing(SAMPLE_CARDS[key], records)


def test_2017_pr_card_office_code_shows_its_province_part_only() -> None:
    """The 2017 PR card's office code is digits 4-7 of its number: only its first 2 print."""
    card = SAMPLE_CARDS["foreign_pr_2017"]
    (record,) = decode_capture(encode(read_response(card, with_fingerprint=False)))
    assert record["authority"] == card.authority[:2] + "**"


birth_dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2025, 12, 31))


@settings(max_examples=40, deadline=None)
@given(
    birth_dates,
    st.sampled_from(["110105", "350503", "640104", "810000", "911840"]),
    st.integers(min_value=0, max_value=999),
)
def test_any_gb11643_card_leaves_many_candidates(
    birth: datetime.date, area: str, sequence: int
) -> None:
    """Whatever the area, birth date and sequence, a printed record leaves ≥ 12 numbers."""
    number = complete_gb11643(f"{area}{birth:%Y%m%d}{sequence:03d}")
    card = dataclasses.replace(SAMPLE_CARDS["resident"], id_number=number, birth=f"{birth:%Y%m%d}")
    assert_reconstructs_nothing(card, [card_record(card)])


@settings(max_examples=40, deadline=None)
@given(
    birth_dates,
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    st.integers(min_value=0, max_value=9999),
    st.integers(min_value=0, max_value=9),
)
def test_any_2017_pr_card_leaves_many_candidates(
    birth: datetime.date, nationality: str, office: int, sequence: int
) -> None:
    """Whatever the nationality, office code, birth date and sequence of a 2017 PR card."""
    body = f"{nationality}{office:04d}{birth:%y%m%d}{sequence}"
    card = dataclasses.replace(
        SAMPLE_CARDS["foreign_pr_2017"],
        id_number=body + check_digit_731(body),
        nation_code=nationality,
        authority=f"{office:04d}",
        birth=f"{birth:%Y%m%d}",
    )
    assert_reconstructs_nothing(card, [card_record(card)])
