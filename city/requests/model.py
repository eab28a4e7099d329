"""A request's life as a table (sans-I/O): states, staff actions, and the texts staff write.

received → assigned → answered → closed (docs/contract/README.md "Resident requests"). Every
(state, action) pair either is in TRANSITIONS or is refused with a TransitionError
(tests/city/test_requests_model.py walks them all). An answer is what the resident reads at the
kiosk: plain words, at most 500 characters, and no phone or ID number in it (refused, not
masked: staff rewrite it).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Literal

from common.pii import mask_phone

State = Literal["received", "assigned", "answered", "closed"]
Action = Literal["assign", "answer", "close"]
STATES: tuple[State, ...] = ("received", "assigned", "answered", "closed")
ACTIONS: tuple[Action, ...] = ("assign", "answer", "close")
OPEN_STATES: tuple[State, ...] = ("received", "assigned")  # waiting for an answer
ANSWER_STATES: tuple[State, ...] = ("answered", "closed")  # the resident sees the answer

# (state, action) → the state after it. Re-assigning keeps an answered request answered;
# answering again while answered corrects the answer. Closed is final.
TRANSITIONS: dict[tuple[State, Action], State] = {
    ("received", "assign"): "assigned",
    ("assigned", "assign"): "assigned",
    ("answered", "assign"): "answered",
    ("assigned", "answer"): "answered",
    ("answered", "answer"): "answered",
    ("answered", "close"): "closed",
}

MAX_ANSWER_CHARS = 500
MAX_NOTE_CHARS = 500
# Digits with separators in between count as one number: "138 0013 8000" is a phone number.
_DIGIT_RUN = re.compile(r"[0-9０-９](?:[ \-.()（）]{0,2}[0-9０-９])*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


class TransitionError(ValueError):
    """The action is not allowed in the request's state; `state` and `action` say which."""

    def __init__(self, state: str, action: str) -> None:
        super().__init__(f"{action} is not allowed on a request that is {state}")
        self.state = state
        self.action = action


class TextError(ValueError):
    """An answer or note that cannot be stored; the message says why (never the text)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def next_state(state: str, action: str) -> State:
    """The state after `action`; TransitionError when the table does not allow it."""
    for (known, act), after in TRANSITIONS.items():
        if known == state and act == action:
            return after
    raise TransitionError(state, action)


def allowed_actions(state: str) -> tuple[Action, ...]:
    """The actions the table allows in `state` (what the request page offers)."""
    return tuple(a for a in ACTIONS if (state, a) in TRANSITIONS)


def _digits(run: str) -> str:
    return "".join(str(unicodedata.digit(c)) for c in run if c.isdigit())


def _is_number(digits: str) -> bool:
    # The kiosk's rule (docs/contract/README.md "Resident requests") plus landlines with their
    # area code, as common/sealed_box.py knows them: dates, times and unit numbers stay.
    return bool(
        re.search(r"1[3-9][0-9]{9}", digits)
        or re.search(r"0[1-9][0-9]{8,10}", digits)
        or len(digits) >= 17
    )


def looks_like_number(text: str) -> bool:
    """Whether `text` holds a phone number (11 digits starting 1, a landline with its area
    code) or an ID number (17 digits and a digit or X), spaces or dashes between digits too."""
    return any(_is_number(_digits(m.group())) for m in _DIGIT_RUN.finditer(text))


def hide_numbers(text: str) -> str:
    """`text` with every phone or ID number masked (138****5678): what a page or an export
    shows of a resident's text, in case a kiosk let one through (its own check refuses them)."""

    def mask(match: re.Match[str]) -> str:
        digits = _digits(match.group())
        if not _is_number(digits):
            return match.group()
        return mask_phone(digits)  # ten digits or more: the first 3 and the last 4 stay

    return _DIGIT_RUN.sub(mask, text)


def clean_text(text: str, max_chars: int, *, what: str, required: bool) -> str:
    """Trimmed, line breaks normalised; TextError when empty (if required), too long, with
    control characters, or holding a phone or ID number."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        if required:
            raise TextError("empty", f"the {what} must not be empty")
        return ""
    if len(text) > max_chars:
        raise TextError("too_long", f"the {what} is longer than {max_chars} characters")
    if _CONTROL.search(text.replace("\n", "")):
        raise TextError("control", f"the {what} holds control characters")
    if looks_like_number(text):
        raise TextError("number", f"the {what} holds a phone or ID number")
    return text


def parse_answer(text: str) -> str:
    """An answer for the resident: 1-500 characters, no phone or ID numbers."""
    return clean_text(text, MAX_ANSWER_CHARS, what="answer", required=True)


def parse_note(text: str) -> str:
    """A staff note in the history (optional): ≤ 500 characters, no phone or ID numbers."""
    return clean_text(text, MAX_NOTE_CHARS, what="note", required=False)


def parse_request_id(text: str) -> str:
    """A request id from a URL: a UUID (lower-case, hyphenated); ValueError otherwise."""
    if len(text) > 64:
        raise ValueError("not a request id")
    try:
        return str(uuid.UUID(text.strip()))
    except (ValueError, AttributeError):
        raise ValueError("not a request id") from None
