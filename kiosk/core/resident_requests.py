"""Resident requests (诉求) at the kiosk, the pure parts: tickets, text checks, the draft a resident
fills in, the private store's port, and merging the city's states with what this kiosk filed.

docs/requests.md has the flow; docs/contract/README.md "Resident requests" the exact formats.
Named `resident_requests` because kiosk/runtime/requests.py is the agent's requests to the kiosk.
PIPL: the phone number for a call back lives only in `RequestDraft.phone` (memory, one resident,
gone at the wipe) until it is sealed to the city's key; nothing here logs, stores or renders it
other than masked (common/pii.mask_phone).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, get_args

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U
TICKET_BITS = 50
TICKET_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}")
MAX_TEXT_CHARS = 200
MAX_PHONE_CHARS = 13  # 0755-12345678
STATUS_LIMIT = 10  # requests.status `limit`
MAX_ANSWER_CHARS = 500

RequestStep = Literal["menu", "category", "location", "text", "phone", "review", "ticket", "mine"]
CityState = Literal["received", "assigned", "answered", "closed"]
CITY_STATES: tuple[CityState, ...] = ("received", "assigned", "answered", "closed")
StatusPhase = Literal["idle", "asking", "ok", "failed"]
# Why there is no answer (plain words under requests.mine.failed.*; anything else: timeout).
STATUS_FAILURES = frozenset({"timeout", "offline", "unavailable", "busy"})
TextProblem = Literal["phone", "id_number", "empty"]
PhoneKey = Literal[
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "-", "back", "clear", "done", "edit", "remove"
]
PHONE_KEYS: frozenset[str] = frozenset(get_args(PhoneKey))

_UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_CATEGORY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
# Separators a resident (or a phrase) may put inside a number: dropped before the checks below.
_SEPARATORS = re.compile(r"[\s\-‐-―.·()（）]+")
_MOBILE = re.compile(r"(?<![0-9])1[0-9]{10}(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])0[1-9][0-9]{8,10}(?![0-9])")
_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9Xx])")


# --- tickets ------------------------------------------------------------------------------------


def ticket_of(value: int) -> str:
    """The ticket for a 50-bit number: Crockford base32, two groups of five (`7K2MQ-9XD3F`)."""
    if not 0 <= value < 1 << TICKET_BITS:
        raise ValueError("a ticket is 50 bits")
    chars = "".join(CROCKFORD[(value >> shift) & 31] for shift in range(45, -1, -5))
    return f"{chars[:5]}-{chars[5:]}"


def mint_ticket(randbits: Callable[[int], int] = secrets.randbits) -> str:
    """A fresh ticket: 50 random bits (docs/contract/README.md "Resident requests")."""
    return ticket_of(randbits(TICKET_BITS))


def spoken_ticket(ticket: str, separator: str = "，") -> str:
    """The ticket read aloud slowly: one character at a time, a pause between them."""
    return separator.join(c for c in ticket if c != "-")


# --- the text -----------------------------------------------------------------------------------


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """What may go into `text`: NFC, no control characters, runs of spaces as one, 200 at most."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    text = re.sub(r"[ \u3000]{2,}", " ", text).lstrip()
    return text[:limit]


def text_problem(text: str) -> TextProblem | None:
    """Why the text cannot be sent: it looks like a phone or an ID number (city staff read it,
    and the phone has its own sealed field), or it is empty. Full-width digits count as digits,
    and spaces, dashes or dots between the digits do not hide a number."""
    if not text.strip():
        return "empty"
    folded = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    if _ID_NUMBER.search(folded):
        return "id_number"
    if _MOBILE.search(folded) or _LANDLINE.search(folded):
        return "phone"
    return None


def add_phrase(text: str, phrase: str) -> str:
    """The text with a preset phrase appended (`，` between Chinese phrases, `. ` in English)."""
    if not text.strip():
        return clean_text(phrase)
    if phrase in text:
        return text  # tapped twice: once is enough
    last = text.rstrip()[-1]
    joiner = "" if last in "，。,.;；!！?？" else ("，" if not phrase.isascii() else ". ")
    return clean_text(f"{text.rstrip()}{joiner}{phrase}")


# --- the phone (memory only) --------------------------------------------------------------------


def press_phone_key(phone: str, key: str) -> str:
    """The typed number after one key of the number pad (digits and `-` only, 13 at most)."""
    if key == "back":
        return phone[:-1]
    if key == "clear":
        return ""
    if (key.isdigit() or key == "-") and len(key) == 1 and len(phone) < MAX_PHONE_CHARS:
        return phone + key
    return phone


# --- the draft ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmittedRequest:
    """What the ticket screen and slip show of the request just filed (no phone)."""

    request_id: str
    ticket: str
    category_id: str
    building: int | None
    unit: int | None
    text: str
    callback: bool  # a call back was asked for (the number itself is gone)
    submitted_at: datetime


@dataclass(frozen=True)
class CityRequest:
    """One request as the city's `requests.status` answer has it."""

    request_id: str
    ticket: str
    category: str
    state: CityState
    submitted_at: str
    updated_at: str
    answer: str = ""


@dataclass
class RequestDraft:
    """One resident's request in progress and their list of requests; replaced at every wipe."""

    step: RequestStep = "menu"
    category_id: str | None = None
    building: int | None = None  # index into the config's buildings
    unit: int | None = None
    location_chosen: bool = False  # "not at a building" is a choice too
    text: str = ""
    text_problem: TextProblem | None = None
    phone: str = ""  # PII: typed digits, memory only, sealed at submit, never rendered in full
    phone_typing: bool = False
    phone_invalid: bool = False
    submitted: SubmittedRequest | None = None
    notice: str | None = None  # key under requests.notice.*
    # my requests
    local: tuple[StoredRequest, ...] = ()
    status_phase: StatusPhase = "idle"
    status_reason: str | None = None
    status_call_id: str | None = None
    city: tuple[CityRequest, ...] = ()


# --- the private store's port -------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRequest:
    """A request this kiosk filed, as its private store keeps it (never the phone number)."""

    request_id: str
    ticket: str
    category_id: str
    building: str  # the zh label as sent in `location`, "" when none
    unit: str
    text: str
    submitted_at: datetime


class RequestStore(Protocol):
    """Requests keyed by pseudonym (64 hex characters), in the kiosk's private directory."""

    def add(self, subject: str, request: StoredRequest) -> None:
        """Keep a request just filed (before its event is sent)."""
        ...

    def for_subject(self, subject: str) -> list[StoredRequest]:
        """This resident's requests filed here, newest first."""
        ...


class NoRequests:
    """A RequestStore that keeps nothing (a kiosk without a private directory, some tests)."""

    def add(self, subject: str, request: StoredRequest) -> None:
        """Drop it."""

    def for_subject(self, subject: str) -> list[StoredRequest]:
        """Nothing kept."""
        return []


@dataclass(frozen=True)
class StatusCall:
    """The `requests.status` call the host makes for the session, off the UI thread."""

    call_id: str  # the session's token: the answer comes back with it (a new resident: dropped)
    subject: str
    key_id: str
    limit: int = STATUS_LIMIT


# --- the city's answer --------------------------------------------------------------------------


def parse_status_data(data: Mapping[str, Any]) -> tuple[CityRequest, ...] | None:
    """The requests of a `requests.status` answer's `data`; None if it is not what the contract
    says (outside input: the agent checked the schema, this checks again and never raises)."""
    items = data.get("requests") if isinstance(data, Mapping) else None
    if not isinstance(items, list) or len(items) > 20:
        return None
    parsed: list[CityRequest] = []
    for item in items:
        request = _city_request(item)
        if request is None:
            return None
        parsed.append(request)
    return tuple(parsed)


def _city_request(item: Any) -> CityRequest | None:
    if not isinstance(item, Mapping):
        return None
    names = ("request_id", "ticket", "category", "state", "submitted_at", "updated_at")
    values = [item.get(k) for k in names]
    answer = item.get("answer", "")
    texts = [v for v in values if isinstance(v, str)]
    if len(texts) != len(names) or not isinstance(answer, str):
        return None
    request_id, ticket, category, state, submitted_at, updated_at = texts
    ok = (
        _UUID7.fullmatch(request_id)
        and TICKET_RE.fullmatch(ticket)
        and _CATEGORY.fullmatch(category)
        and _TS.fullmatch(submitted_at)
        and _TS.fullmatch(updated_at)
        and len(answer) <= MAX_ANSWER_CHARS
    )
    city_state = next((s for s in CITY_STATES if s == state), None)
    if not ok or city_state is None:
        return None
    return CityRequest(
        request_id,
        ticket,
        category,
        city_state,
        submitted_at,
        updated_at,
        clean_text(answer, MAX_ANSWER_CHARS) if answer else "",
    )


MergedState = Literal["waiting", "received", "assigned", "answered", "closed"]


@dataclass(frozen=True)
class MergedRequest:
    """One line of "my requests": the city's state, or `waiting` (sent, not received yet)."""

    request_id: str
    ticket: str
    category_id: str
    state: MergedState
    submitted_at: datetime
    answer: str = ""
    text: str = ""  # this kiosk's copy of the text, when it filed it


def _parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def merge_requests(
    local: Sequence[StoredRequest], city: Sequence[CityRequest] | None
) -> tuple[MergedRequest, ...]:
    """The city's requests with this kiosk's own: a request the city does not know yet (still in
    the outbox, or in flight) is `waiting`; with no answer (`city` None) every local one is.
    Newest first, each request once (the city's state wins)."""
    known = {c.request_id: c for c in city or ()}
    mine = {s.request_id: s for s in local}
    merged = [
        MergedRequest(
            c.request_id,
            c.ticket,
            c.category,
            c.state,
            _parse_ts(c.submitted_at),
            c.answer,
            mine[c.request_id].text if c.request_id in mine else "",
        )
        for c in known.values()
    ]
    merged += [
        MergedRequest(s.request_id, s.ticket, s.category_id, "waiting", s.submitted_at, "", s.text)
        for s in local
        if s.request_id not in known
    ]
    merged.sort(key=lambda m: (m.submitted_at.astimezone(UTC), m.request_id), reverse=True)
    return tuple(merged)
