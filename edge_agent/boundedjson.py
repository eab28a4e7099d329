"""JSON from untrusted bytes, bounded before and while it is parsed.

`json.loads` alone lets any sender stop the process: a 5,000-digit integer exceeds Python's
int-digit limit (a ValueError that is not a JSONDecodeError), 5,000 levels of nesting raise
RecursionError, and `\\ud800` escapes produce lone surrogates that fail later when the text
is encoded. Here the size is checked first, the nesting depth is measured on the raw bytes
(strings stripped) before the parser runs, numbers longer than a cap are refused as they are
parsed, and NaN/Infinity are refused. Every failure is one MalformedJson.
"""

from __future__ import annotations

import json
import re
from typing import Any

from edge_agent.errors import AgentError

MAX_NUMBER_CHARS = 32  # far above any number a command carries (a 64-bit int has 20)

_ESCAPE_RE = re.compile(rb"\\.", re.DOTALL)
# After escapes are gone a string is a quote, non-quotes, a quote: linear, no backtracking.
_STRING_RE = re.compile(rb'"[^"]*"')
_AS_PARENS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


class MalformedJson(AgentError, ValueError):
    """The bytes are not JSON within the caps; the message names the cap, never the content."""


def nesting_depth_exceeds(payload: bytes, max_depth: int) -> bool:
    """True if arrays/objects in `payload` nest deeper than `max_depth` (or close unopened).

    Tokenises like JSON for every prefix the JSON parser would accept, so the parser can
    never recurse deeper than measured here.
    """
    without_strings = _STRING_RE.sub(b"", _ESCAPE_RE.sub(b"", payload))
    brackets = without_strings.translate(_AS_PARENS, delete=_NOT_BRACKETS)
    # Each pass removes every innermost "()" (one nesting level) at C speed: a balanced
    # sequence nested d deep is gone after exactly d passes. What is left after max_depth
    # passes is deeper, or unbalanced (a close before its open), and JSON refuses both.
    for _ in range(max_depth):
        if not brackets:
            return False
        brackets = brackets.replace(b"()", b"")
    return bool(brackets)


def _number(text: str) -> int | float:
    if len(text) > MAX_NUMBER_CHARS:
        raise MalformedJson(f"a number longer than {MAX_NUMBER_CHARS} characters")
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


def _no_constants(_name: str) -> Any:
    raise MalformedJson("NaN and Infinity are not JSON")


def loads_bounded(payload: bytes, *, max_bytes: int, max_depth: int) -> Any:
    """The JSON value in `payload` (strict UTF-8); MalformedJson if it breaks any cap."""
    if len(payload) > max_bytes:
        raise MalformedJson(f"larger than {max_bytes} bytes")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedJson("not UTF-8") from None
    if nesting_depth_exceeds(payload, max_depth):
        raise MalformedJson(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(
            text, parse_int=_number, parse_float=_number, parse_constant=_no_constants
        )
    except json.JSONDecodeError:
        raise MalformedJson("not JSON") from None
