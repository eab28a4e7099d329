"""Privacy building blocks (PIPL): ID-number pseudonyms and a log filter that redacts PII.

Masking for display lives in common/pii.py (the shared leaf, so the technician CLI can use it).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from typing import Any

from config.keys import decode_key_text, weak_key_reason
from config.model import Privacy

REDACTED = "[redacted]"
PSEUDONYM_DOMAIN = "civic-kiosk/pseudonym/v2"  # CONTRACT-DECISIONS 8; bump on any change
ID_INPUT_RE = re.compile(r"[A-Z0-9]{1,32}")
CITY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

# Field names whose values are personal data wherever they appear (log `extra`, dict args).
PII_FIELDS = frozenset(
    {
        "id_number",
        "idnumber",
        "id_no",
        "name",
        "name_en",
        "chinese_name",
        "address",
        "new_address",
        "phone",
        "mobile",
        "birth",
        "photo",
        "fingerprint",
        "payload",
        "token",
        "qr",
        "qr_payload",
        "pass_number",
        "systolic",
        "diastolic",
        "pulse",
    }
)

# 18-digit resident numbers (last may be X), 15-digit old ones, mainland mobile numbers,
# HK/Macau/Taiwan pass numbers. Word-boundary-ish guards keep UUIDs and timestamps intact.
_PII_PATTERNS = (
    re.compile(r"(?<![0-9A-Za-z-])\d{17}[\dXx](?![0-9A-Za-z-])"),
    re.compile(r"(?<![0-9A-Za-z-])\d{15}(?![0-9A-Za-z-])"),
    re.compile(r"(?<![0-9A-Za-z-])1[3-9]\d{9}(?![0-9A-Za-z-])"),
    re.compile(r"(?<![0-9A-Za-z-])[HM]\d{8}(?![0-9A-Za-z-])"),
)


class PseudonymKeyError(ValueError):
    """No usable pseudonym key is configured."""


class PseudonymInputError(ValueError):
    """The ID number (or city code) cannot be pseudonymised; the message never shows it."""


def load_pseudonym_key(privacy: Privacy) -> bytes:
    """The city's pseudonym key from the config (inline or file); PseudonymKeyError if unusable."""
    if privacy.pseudonym_key_file is not None:
        try:
            text = privacy.pseudonym_key_file.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise PseudonymKeyError(f"cannot read pseudonym key file: {exc}") from None
    elif privacy.pseudonym_key is not None:
        text = privacy.pseudonym_key
    else:
        raise PseudonymKeyError("privacy.pseudonym_key or pseudonym_key_file is required")
    key = decode_key_text(text)
    weakness = None if key is None else weak_key_reason(key)
    if key is None or weakness is not None:
        reason = f": {weakness}" if weakness else ""
        raise PseudonymKeyError(
            f"the pseudonym key must be hex or base64 of at least 32 random bytes{reason}"
        )
    return key


def pseudonymise(id_number: str, key: bytes, city: str) -> str:
    """HMAC-SHA256 under the city's key of `PSEUDONYM_DOMAIN|city|ID`, as 64 hex characters.

    The ID (surrounding whitespace removed, upper-cased) must be 1-32 ASCII letters and digits:
    anything else raises PseudonymInputError (never mapped to a stand-in character, which made
    two different inputs collide). The city code in the input keeps two cities' pseudonyms of
    one person apart even under one key (domain separation; docs/contract/README.md, Pseudonyms).
    """
    stripped = id_number.strip()
    # ASCII before upper(): "ß".upper() is "SS", so a non-ASCII input could pass afterwards.
    normalised = stripped.upper() if stripped.isascii() else ""
    if not ID_INPUT_RE.fullmatch(normalised):
        raise PseudonymInputError("an ID number must be 1-32 ASCII letters and digits")
    if not CITY_RE.fullmatch(city):
        raise PseudonymInputError("the city code must be 1-64 ASCII letters, digits, '_' or '-'")
    message = f"{PSEUDONYM_DOMAIN}|{city}|{normalised}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def redact_text(text: str) -> str:
    """Replace ID-number-, phone- and pass-number-shaped substrings with a marker."""
    for pattern in _PII_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in PII_FIELDS else _redact_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if any(hasattr(value, f) for f in PII_FIELDS):
        # An object carrying personal fields (a card, a reading): log only what it is.
        return f"<{type(value).__name__} {REDACTED}>"
    return value


# Attributes every LogRecord has (`name` is the logger's name, not a person's).
_STANDARD_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})))


class RedactingFilter(logging.Filter):
    """Drops personal data from log records: PII-named fields, PII-carrying args, PII-shaped text.

    Install it on handlers (not loggers) so records from every library pass through it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        for attribute in list(vars(record)):
            if attribute not in _STANDARD_RECORD_ATTRIBUTES and attribute.lower() in PII_FIELDS:
                setattr(record, attribute, REDACTED)
        if record.args:
            safe_args = _redact_value(record.args)
            try:
                message = str(record.msg) % safe_args
            except (TypeError, ValueError, KeyError):
                message = f"{record.msg} {safe_args}"
            record.msg, record.args = message, None
        record.msg = redact_text(str(record.msg))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach one RedactingFilter to every handler of `logger` (default: root); returns it."""
    target = logger or logging.getLogger()
    redactor = RedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redactor)
    return redactor
