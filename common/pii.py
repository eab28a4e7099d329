"""Masking of personal data for anything shown or printed (PIPL: masked by default everywhere)."""

from __future__ import annotations

MASK = "*"


def _keep_ends(text: str, head: int, tail: int) -> str:
    hidden = len(text) - head - tail
    if hidden <= 0:
        return MASK * len(text)
    return text[:head] + MASK * hidden + text[len(text) - tail :]


def mask_id_number(number: str) -> str:
    """`110105199001010123` → `110105********0123`; 15 characters keep 3+4, others show 1+1."""
    number = number.strip()
    if len(number) == 18:
        return _keep_ends(number, 6, 4)
    if len(number) == 15:
        return _keep_ends(number, 3, 4)
    return _keep_ends(number, 1, 1)


def mask_name(name: str) -> str:
    """`张三` → `张*`, `欧阳娜娜` → `欧***`; Latin names keep each word's initial (`J*** S****`)."""
    name = name.strip()
    if not name:
        return ""
    if name.isascii():
        return " ".join(word[:1] + MASK * (len(word) - 1) for word in name.split())
    return name[0] + MASK * (len(name) - 1)


def mask_phone(phone: str) -> str:
    """`13812348000` → `138****8000`, `0755-12345678` → `075*****5678` (digits only: the first
    3 and the last 4); fewer than 8 digits are all masked."""
    digits = phone.strip().replace("-", "")
    if len(digits) < 8:
        return MASK * len(digits)
    return _keep_ends(digits, 3, 4)


ADDRESS_VISIBLE_CHARS = 6


def mask_address(address: str) -> str:
    """Keep the first six characters (province/city level) and hide the rest behind a fixed mask."""
    address = address.strip()
    if not address:
        return ""
    return address[:ADDRESS_VISIBLE_CHARS] + MASK * 4
