"""SW3 status codes of the SAM module: successes, the "no card" result, and typed faults."""

from __future__ import annotations

from collections.abc import Mapping

from drivers.errors import DeviceFault

SW3_SUCCESS = 0x90
SW3_NO_CONTENT = 0x91  # the card holds nothing for this item (e.g. no appended address)
SW3_CARD_FOUND = 0x9F
SW3_NO_CARD = 0x80  # "find card failed": nothing on the reader — a result, never an exception
SW3_SELECT_FAILED = 0x81

# Meanings after the SAM serial protocol tables vendors ship with GA 467 readers.
STATUS_MEANINGS: Mapping[int, str] = {
    0x90: "success",
    0x91: "the card holds no content for this item",
    0x9F: "card found",
    0x10: "the SAM received a host frame with a bad checksum",
    0x11: "the SAM received a host frame with a bad length",
    0x21: "the SAM received an invalid command",
    0x23: "operation not permitted",
    0x24: "unrecognised error",
    0x31: "the card failed to authenticate the SAM",
    0x32: "the SAM failed to authenticate the card",
    0x33: "information verification failed",
    0x37: "fingerprint information verification failed",
    0x3F: "information length error",
    0x40: "unrecognised card type",
    0x41: "reading the card failed",
    0x47: "getting a random number failed",
    0x60: "SAM self-test failed; it cannot accept commands",
    0x66: "the SAM is not authorised and cannot be used",
    0x80: "no card found",
    0x81: "selecting the card failed",
}


class SamFault(DeviceFault):
    """A fault status (SW3) answered by the SAM module."""


class HostFrameRejected(SamFault):
    """The SAM rejected our frame (checksum, length or command): a link or driver problem."""


class SamAccessDenied(SamFault):
    """The SAM refuses the operation or is not authorised: needs the vendor or the police bureau."""


class SamInternalError(SamFault):
    """The SAM failed internally (self-test, random number, unrecognised error)."""


class CardAuthenticationFailed(SamFault):
    """Card and SAM did not authenticate each other, or the data failed verification."""


class CardReadFailed(SamFault):
    """The card could not be read (moved away, unknown type, length error)."""


class CardSelectFailed(SamFault):
    """The card was found but could not be selected (usually moved away)."""


class CardNotFound(SamFault):
    """SW3 0x80 where the caller required a card; `read_card` returns None instead."""


class UnknownStatus(SamFault):
    """A status code outside the published table."""


class UnexpectedStatus(SamFault):
    """A success code that does not answer the request in flight (e.g. 0x9F to a status query)."""


_FAULT_CLASSES: Mapping[int, type[SamFault]] = {
    0x10: HostFrameRejected,
    0x11: HostFrameRejected,
    0x21: HostFrameRejected,
    0x23: SamAccessDenied,
    0x66: SamAccessDenied,
    0x24: SamInternalError,
    0x47: SamInternalError,
    0x60: SamInternalError,
    0x31: CardAuthenticationFailed,
    0x32: CardAuthenticationFailed,
    0x33: CardAuthenticationFailed,
    0x37: CardAuthenticationFailed,
    0x3F: CardReadFailed,
    0x40: CardReadFailed,
    0x41: CardReadFailed,
    0x80: CardNotFound,
    0x81: CardSelectFailed,
}

SUCCESS_CODES = frozenset({SW3_SUCCESS, SW3_NO_CONTENT, SW3_CARD_FOUND})


def meaning(sw3: int) -> str:
    """Plain-words meaning of a status code."""
    return STATUS_MEANINGS.get(sw3, "status not in the published table")


def fault_for(sw3: int) -> SamFault:
    """The typed fault for a non-success status (ValueError for the success codes)."""
    if sw3 in SUCCESS_CODES:
        raise ValueError(f"0x{sw3:02X} is a success status, not a fault")
    return _FAULT_CLASSES.get(sw3, UnknownStatus)(sw3, meaning(sw3))


def fault_answering(request: str, sw3: int) -> SamFault:
    """The fault for `sw3` as the answer to `request`; misplaced success codes included."""
    if sw3 in SUCCESS_CODES:
        return UnexpectedStatus(sw3, f"{meaning(sw3)}, which does not answer {request}")
    return fault_for(sw3)
