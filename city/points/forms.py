"""The console's points forms and query parameters, parsed (sans-I/O, pure; fuzzed in
tests/city/test_points_forms.py). A problem is a `Problem(field, code)`; the page words it with
the message `points.problem.CODE` and shows the form again.

The rules are the ledger's own (city/migrations/0006_points.sql, city/points/ledger.py), checked
here first so staff read what is wrong instead of a database error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from city.points.ledger import MAX_EARN_POINTS, Resident

SUBJECT_RE = re.compile(r"^[0-9a-f]{64}$")
KEY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
REWARD_ID_RE = KEY_ID_RE  # the same rule in 0006_points.sql
HEX_RE = re.compile(r"^[0-9a-f]+$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NOTE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_REWARD_POINTS = 1_000_000
MAX_STOCK = 10_000_000
MAX_REFERENCE = 200
MAX_NOTE = 500
MAX_TITLE_ZH = 60
MAX_TITLE_EN = 80
OUTCOMES = ("redeemed", "refused")


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field: `code` names the message points.problem.CODE."""

    field: str
    code: str


@dataclass(frozen=True)
class EarnForm:
    """Points for a volunteering shift, to one pseudonym."""

    resident: Resident
    points: int
    reference: str
    note: str


@dataclass(frozen=True)
class RewardForm:
    """A reward as the create and edit forms give it."""

    reward_id: str
    title_zh: str
    title_en: str | None
    points: int
    stock: int | None
    active: bool


def pseudonym(key_id: str | None, subject: str | None) -> Resident | None:
    """A pseudonym from a path or form (subject lowercased), None when it is not one."""
    key = (key_id or "").strip()
    sub = (subject or "").strip().lower()
    if not KEY_ID_RE.match(key) or not SUBJECT_RE.match(sub):
        return None
    return Resident(key_id=key, subject=sub)


def search_prefix(value: str | None) -> str | None:
    """The pseudonym search: 1-64 hex digits (spaces and case ignored), None when empty.

    Raises ValueError for anything else (the page says a pseudonym is hexadecimal).
    """
    text = "".join((value or "").split()).lower()
    if not text:
        return None
    if len(text) > 64 or not HEX_RE.match(text):
        raise ValueError("a pseudonym is 64 hexadecimal digits; search by its start")
    return text


def _int(text: str, low: int, high: int) -> int | None:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    value = int(text)
    return value if low <= value <= high else None


def _text(text: str, high: int, *, multiline: bool = False) -> str | None:
    value = text.strip()
    if len(value) > high or (NOTE_CONTROL if multiline else CONTROL).search(value):
        return None
    return value


def parse_earn(form: Mapping[str, str]) -> EarnForm | list[Problem]:
    """The earn form: key_id, subject, points, reference (the shift), note."""
    problems: list[Problem] = []
    resident = pseudonym(form.get("key_id"), form.get("subject"))
    if resident is None:
        problems.append(Problem("subject", "pseudonym"))
    points = _int(form.get("points", ""), 1, MAX_EARN_POINTS)
    if points is None:
        problems.append(Problem("points", "earn_points"))
    reference = _text(form.get("reference", ""), MAX_REFERENCE)
    if not reference:
        problems.append(Problem("reference", "reference"))
    note = _text(form.get("note", ""), MAX_NOTE, multiline=True)
    if note is None:
        problems.append(Problem("note", "note"))
    if problems:
        return problems
    assert resident is not None
    assert points is not None
    assert reference
    assert note is not None
    return EarnForm(resident, points, reference, note)


def parse_reward(
    form: Mapping[str, str], reward_id: str | None = None
) -> RewardForm | list[Problem]:
    """The reward form; `reward_id` given (the edit form) instead of read from the form."""
    problems: list[Problem] = []
    rid = (form.get("reward_id", "") if reward_id is None else reward_id).strip()
    if not REWARD_ID_RE.match(rid):
        problems.append(Problem("reward_id", "reward_id"))
    title_zh = _text(form.get("title_zh", ""), MAX_TITLE_ZH)
    if not title_zh:
        problems.append(Problem("title_zh", "title_zh"))
    title_en = _text(form.get("title_en", ""), MAX_TITLE_EN)
    if title_en is None:
        problems.append(Problem("title_en", "title_en"))
    points = _int(form.get("points", ""), 1, MAX_REWARD_POINTS)
    if points is None:
        problems.append(Problem("points", "reward_points"))
    stock_text = form.get("stock", "").strip()
    stock = None if stock_text == "" else _int(stock_text, 0, MAX_STOCK)
    if stock_text != "" and stock is None:
        problems.append(Problem("stock", "stock"))
    active = form.get("active", "") in ("1", "on", "true")
    if problems:
        return problems
    assert title_zh
    assert title_en is not None
    assert points is not None
    return RewardForm(rid, title_zh, title_en or None, points, stock, active)


def outcome_param(value: str | None) -> str | None:
    """The redemptions filter: redeemed, refused or every one (None)."""
    if value in (None, "", "all"):
        return None
    if value not in OUTCOMES:
        raise ValueError("outcome: redeemed, refused or all")
    return value
