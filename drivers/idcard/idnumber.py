"""Checks of the numbers printed on cards: GB 11643 (18 characters) and the 2017 PR number.

A card read through the SAM is genuine, so "valid" only says the number is well formed; the area
code is information, never a reason to refuse (python-stdnum's area table lacks current districts
such as 350503 and the 81/82/83 and 9… prefixes of permits, so `ric.validate` is not used).
"""

from __future__ import annotations

import datetime
import re

from stdnum.cn import ric

_GB11643 = re.compile(r"[0-9]{17}[0-9X]")
_PR2017 = re.compile(r"[A-Z]{3}[0-9]{12}")
_WEIGHTS_731 = (7, 3, 1)
EARLIEST_BIRTH_YEAR = 1850


def _is_real_date(text: str) -> bool:
    try:
        day = datetime.date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return False
    return day.year >= EARLIEST_BIRTH_YEAR


def is_valid_gb11643(number: str) -> bool:
    """18 characters, real birth date at 7–14, MOD 11-2 check digit (resident, permit, PR 2023)."""
    if not _GB11643.fullmatch(number):
        return False
    if not _is_real_date(number[6:14]):
        return False
    return bool(ric.calc_check_digit(number) == number[-1])


def check_digit_731(body: str) -> str:
    """The 7-3-1 check digit over digits and capital letters (A=10 … Z=35)."""
    total = 0
    for index, char in enumerate(body):
        value = int(char) if char.isdigit() else ord(char) - ord("A") + 10
        total += value * _WEIGHTS_731[index % 3]
    return str(total % 10)


def is_valid_pr2017(number: str) -> bool:
    """2017 PR number: nationality (3 letters), area (4), YYMMDD, sequence, 7-3-1 check digit."""
    if not _PR2017.fullmatch(number):
        return False
    yymmdd = number[7:13]
    if not (_is_real_date("19" + yymmdd) or _is_real_date("20" + yymmdd)):
        return False
    return check_digit_731(number[:-1]) == number[-1]


def is_valid_id_number(number: str) -> bool:
    """Either form above; anything else (first-generation 15-digit numbers too) is not valid."""
    if len(number) == 18:
        return is_valid_gb11643(number)
    if len(number) == 15:
        return is_valid_pr2017(number)
    return False


def complete_gb11643(first17: str) -> str:
    """Append the MOD 11-2 check digit (for simulators and tests)."""
    return first17 + str(ric.calc_check_digit(first17 + "0"))
