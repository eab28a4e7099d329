"""QR payloads as opaque credentials: a token that never prints itself, and a coarse kind.

Codes residents show (医保电子凭证, 电子社保卡, health codes) are short-lived tokens only an online
service can verify (docs/design.md §2.3): they are routed, never logged, printed or stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NoReturn, get_args

TokenKind = Literal[
    "url",
    "numeric",
    "medical_insurance_code",
    "e_social_security_card",
    "health_code",
    "unknown",
]
TOKEN_KINDS: tuple[TokenKind, ...] = get_args(TokenKind)

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)
_WEB_SCHEMES = ("http://", "https://")


class QrToken:
    """An opaque payload: `reveal()` is the only way to the text; repr/str/pickle never show it."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def reveal(self) -> str:
        """The payload text, for handing to the service that verifies it (and nothing else)."""
        return self._text

    def fingerprint(self, hex_chars: int = 8) -> str:
        """The first `hex_chars` hex digits of the payload's SHA-256 (for telling codes apart)."""
        return hashlib.sha256(self._text.encode("utf-8")).hexdigest()[:hex_chars]

    def __len__(self) -> int:
        return len(self._text)

    def __repr__(self) -> str:
        return f"QrToken(<redacted, {len(self._text)} chars>)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QrToken):
            return NotImplemented
        return hmac.compare_digest(self._text.encode("utf-8"), other._text.encode("utf-8"))

    def __hash__(self) -> int:
        return hash(self._text)

    def __reduce__(self) -> NoReturn:
        # Pickling is how tokens would end up on disk or in a queue file: refuse it.
        raise TypeError("QrToken is a credential and cannot be pickled or stored")


@dataclass(frozen=True)
class KindRule:
    """A deployment's rule: payloads starting with `prefix` are of `kind`.

    The formats of 医保电子凭证, 电子社保卡 and health codes are not public and differ by
    province and issuing app, so no such prefixes are built in; a city adds the ones its
    verifying service documents.
    """

    prefix: str
    kind: TokenKind
    case_sensitive: bool = True

    def matches(self, text: str) -> bool:
        """True if `text` starts with this rule's prefix."""
        if self.case_sensitive:
            return text.startswith(self.prefix)
        return text.lower().startswith(self.prefix.lower())


def classify(text: str, rules: Sequence[KindRule] = ()) -> TokenKind:
    """The payload's coarse kind: the first matching deployment rule, else url/numeric/unknown."""
    for rule in rules:
        if rule.matches(text):
            return rule.kind
    if _URL.match(text) and text.lower().startswith(_WEB_SCHEMES):
        return "url"
    if text.isascii() and text.isdigit():
        return "numeric"
    return "unknown"


@dataclass(frozen=True)
class QrScanned:
    """A code was read: the opaque token, its coarse kind and length, and where it came from."""

    token: QrToken
    kind: TokenKind
    length: int
    source: Literal["serial", "camera"] = "serial"

    @classmethod
    def of(
        cls,
        text: str,
        *,
        rules: Sequence[KindRule] = (),
        source: Literal["serial", "camera"] = "serial",
    ) -> QrScanned:
        """Wrap a decoded payload text."""
        return cls(QrToken(text), classify(text, rules), len(text), source)

    def summary(self) -> dict[str, str | int]:
        """A record safe to print or log: kind and length, never the payload."""
        return {"kind": "qr", "token_kind": self.kind, "length": self.length}
