"""The kiosk config's `requests` section (诉求, docs/requests.md): what a resident may file.

Categories (ids are the contract's `category`), the centre's buildings and units (sent as
`location` the way the centre names them), preset phrases per category (many residents cannot
type well), and the city's X25519 request key that a call-back phone number is sealed to
(docs/contract/README.md "Resident requests"). A kiosk without this section offers no requests.

    requests:
      key: {key_id: req2026, public_key: "base64 of 32 bytes"}
      buildings:
        - label: {zh: 5栋, en: Building 5}
          units: [{zh: 1单元, en: Unit 1}, {zh: 2单元, en: Unit 2}]
      categories:            # optional: these five are the default
        - id: repairs
          label: {zh: 维修报修, en: Repairs}
          phrases: [{zh: 楼道灯坏了, en: The stairway light is broken}]
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from config.schema import field

CATEGORY_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")  # the contract's category pattern
KEY_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
X25519_KEY_BYTES = 32
MAX_CATEGORIES = 12
MAX_PHRASES = 16
MAX_BUILDINGS = 60
MAX_UNITS = 20
MAX_LABEL_CHARS = 20  # a unit label's contract limit; buildings may have 40
MAX_BUILDING_CHARS = 40
MAX_PHRASE_CHARS = 60


def _chars(limit: int) -> Any:
    def check(value: Any) -> str | None:
        text = str(value)
        if not text.strip() or len(text) > limit or any(ord(c) < 0x20 for c in text):
            return f"must be 1-{limit} characters, no control characters"
        return None

    return check


@dataclass(frozen=True)
class Label:
    """A short text in both languages (a category, a unit)."""

    zh: str = field(check=_chars(MAX_LABEL_CHARS))
    en: str = field(check=_chars(MAX_LABEL_CHARS))

    def get(self, language: str) -> str:
        """The English text for `"en"`, else the Chinese."""
        return self.en if language == "en" else self.zh


@dataclass(frozen=True)
class BuildingLabel:
    """A building's name in both languages (the contract allows 40 characters)."""

    zh: str = field(check=_chars(MAX_BUILDING_CHARS))
    en: str = field(check=_chars(MAX_BUILDING_CHARS))

    def get(self, language: str) -> str:
        """The English text for `"en"`, else the Chinese."""
        return self.en if language == "en" else self.zh


@dataclass(frozen=True)
class Phrase:
    """A preset phrase the resident taps to add to the text."""

    zh: str = field(check=_chars(MAX_PHRASE_CHARS))
    en: str = field(check=_chars(MAX_PHRASE_CHARS))

    def get(self, language: str) -> str:
        """The English text for `"en"`, else the Chinese."""
        return self.en if language == "en" else self.zh


def _bounded(limit: int) -> Any:
    def check(value: Any) -> str | None:
        return None if len(value) <= limit else f"at most {limit} entries"

    return check


def _category_id(value: Any) -> str | None:
    if CATEGORY_RE.fullmatch(str(value)):
        return None
    return "use 1-32 lowercase letters, digits or '_', starting with a letter (e.g. repairs)"


@dataclass(frozen=True)
class RequestCategory:
    """One category: its id (the event's `category`), its label and its preset phrases."""

    id: str = field(check=_category_id)
    label: Label = field(doc="the big button's text")
    phrases: tuple[Phrase, ...] = field((), check=_bounded(MAX_PHRASES))


@dataclass(frozen=True)
class Building:
    """One of the centre's buildings, with its units (none: the building is the place)."""

    label: BuildingLabel
    units: tuple[Label, ...] = field((), check=_bounded(MAX_UNITS))


def _public_key(value: Any) -> str | None:
    try:
        raw = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return "expected base64 of the raw 32-byte X25519 public key"
    if len(raw) != X25519_KEY_BYTES:
        return f"the key is {len(raw)} bytes; an X25519 public key is {X25519_KEY_BYTES}"
    if len(set(raw)) < 2:
        return "one byte repeated (e.g. all zero): not a public key"
    return None


def _key_id(value: Any) -> str | None:
    return None if KEY_ID_RE.fullmatch(str(value)) else "use 1-64 letters, digits, '_' or '-'"


@dataclass(frozen=True)
class RequestKey:
    """The city's request key: a call-back number is sealed to it (the private key stays in the
    city's request service)."""

    key_id: str = field(check=_key_id, doc="names the key in callback.key_id")
    public_key: str = field(check=_public_key, doc="base64 of the raw 32-byte X25519 key")

    @property
    def raw(self) -> bytes:
        """The 32 key bytes."""
        return base64.b64decode(self.public_key)


def _l(zh: str, en: str) -> Label:
    return Label(zh, en)


def _p(*pairs: tuple[str, str]) -> tuple[Phrase, ...]:
    return tuple(Phrase(zh, en) for zh, en in pairs)


DEFAULT_CATEGORIES: tuple[RequestCategory, ...] = (
    RequestCategory(
        "repairs",
        _l("维修报修", "Repairs"),
        _p(
            ("楼道灯坏了", "The stairway light is broken"),
            ("电梯故障", "The lift is out of order"),
            ("水管漏水", "A water pipe is leaking"),
            ("门禁坏了", "The entrance door lock is broken"),
        ),
    ),
    RequestCategory(
        "sanitation",
        _l("环境卫生", "Environment"),
        _p(
            ("垃圾没有及时清运", "Rubbish is not collected on time"),
            ("楼道堆放杂物", "Things are piled up in the stairway"),
            ("下水道堵塞", "A drain is blocked"),
            ("有异味", "There is a bad smell"),
        ),
    ),
    RequestCategory(
        "dispute",
        _l("邻里纠纷", "Neighbours"),
        _p(
            ("噪音扰民", "Noise from neighbours"),
            ("楼上漏水到我家", "Water leaks from the flat above"),
            ("占用公共空间", "Shared space is taken over"),
            ("希望社区帮助调解", "Please help us settle it"),
        ),
    ),
    RequestCategory(
        "elderly_care",
        _l("养老服务", "Elderly care"),
        _p(
            ("需要上门探访", "I would like a home visit"),
            ("需要助餐服务", "I need help with meals"),
            ("独居老人需要关照", "An elderly person living alone needs care"),
            ("咨询养老补贴", "A question about elderly care subsidies"),
        ),
    ),
    RequestCategory(
        "other",
        _l("其他", "Other"),
        _p(
            ("希望有人联系我", "Please contact me"),
            ("有意见建议", "I have a suggestion"),
        ),
    ),
)


def _unique_ids(categories: Any) -> str | tuple[str, str] | None:
    if not categories:
        return "give at least one category (or leave `categories` out for the defaults)"
    if len(categories) > MAX_CATEGORIES:
        return f"at most {MAX_CATEGORIES} categories (big buttons on one screen)"
    seen: dict[str, int] = {}
    for index, category in enumerate(categories):
        if category.id in seen:
            return f"[{index}].id", f"duplicate of categories[{seen[category.id]}]"
        seen[category.id] = index
    return None


@dataclass(frozen=True)
class Requests:
    """诉求 at this kiosk; `key` absent: no call-back phone is offered (it could not be sealed)."""

    categories: tuple[RequestCategory, ...] = field(DEFAULT_CATEGORIES, check=_unique_ids)
    buildings: tuple[Building, ...] = field((), check=_bounded(MAX_BUILDINGS))
    key: RequestKey | None = field(None, doc="the city's X25519 request key")

    def category(self, category_id: str) -> RequestCategory | None:
        """The category with this id, or None."""
        return next((c for c in self.categories if c.id == category_id), None)
