"""ID number checks: GB 11643 without stdnum's area table, and the 2017 PR number."""

from __future__ import annotations

import pytest
from stdnum.cn import ric

from drivers.idcard.idnumber import (
    check_digit_731,
    complete_gb11643,
    is_valid_id_number,
)


@pytest.mark.parametrize(
    "first17",
    [
        "35050319900307002",  # 泉州市丰泽区, missing from stdnum's table
        "35050519800101001",
        "35058219750505003",
        "81000019851112001",  # Hong Kong residence permit
        "82000019900101002",  # Macau
        "83000019700707003",  # Taiwan
        "91184019920415002",  # 2023 foreigner PR card
        "11010519491231002",
    ],
)
def test_valid_numbers_pass_even_where_stdnum_lacks_the_area(first17: str) -> None:
    """A well-formed number is valid whatever its area code; stdnum alone would refuse some."""
    assert is_valid_id_number(complete_gb11643(first17))


def test_stdnum_validate_really_rejects_a_current_district() -> None:
    """Pins why ric.validate is not used: it refuses 350503 (a real district) here."""
    number = complete_gb11643("35050319900307002")
    with pytest.raises(ric.ValidationError):
        ric.validate(number)
    assert is_valid_id_number(number)


def test_public_2023_sample_number_is_valid() -> None:
    """The 2023 PR sample number published by a reader vendor passes the MOD 11-2 check."""
    assert is_valid_id_number("931586198001010028")


def test_check_digit_x_is_accepted() -> None:
    """A check value of 10 is written X."""
    for seq in range(1000):
        number = complete_gb11643(f"11010519900101{seq:03d}")
        if number.endswith("X"):
            assert is_valid_id_number(number)
            assert not is_valid_id_number(number[:-1] + "0")
            return
    pytest.fail("no X check digit in the range")


@pytest.mark.parametrize(
    "number",
    [
        "350503199003070028",  # wrong check digit
        "350503199002300027",  # 30 February
        "35050319900307002",  # 17 characters
        "35050319900307002x",  # lower-case x
        "110105900307002",  # first-generation 15-digit number
        "",
        "USA110085010117",  # 2017 PR number, wrong check digit
        "USA110085133116",  # 2017 PR number, impossible date
    ],
)
def test_invalid_numbers(number: str) -> None:
    """Wrong check digit, impossible date, wrong length or format: not valid."""
    assert not is_valid_id_number(number)


def test_pr2017_number_uses_the_731_check() -> None:
    """The 15-character 2017 PR number is checked with weights 7-3-1 (letters A=10)."""
    body = "USA11008501011"
    assert is_valid_id_number(body + check_digit_731(body))
    assert check_digit_731("A") == str(10 * 7 % 10)
