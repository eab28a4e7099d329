"""The one catalogue of resident-facing BP error messages, keyed by stable error keys.

Every protocol maps its device codes to these keys; the kiosk translates keys (not the English)
into Chinese. Messages are plain words for elderly residents: what to do next, never jargon.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

UNKNOWN_ERROR_KEY = "device_error"

ERROR_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "movement": "Please keep your arm still, do not talk, and try again.",
        "weak_signal": (
            "The meter could not feel your pulse. Please check the cuff is snug on your bare "
            "upper arm and try again."
        ),
        "cuff_leak": (
            "The cuff is loose or leaking air. Please wrap it snugly around your upper arm and "
            "try again."
        ),
        "cuff_position": (
            "The cuff is not wrapped correctly. Please wrap it around your upper arm at heart "
            "height and try again."
        ),
        "cuff_overpressure": (
            "The cuff pressure went too high and was released for your safety. Please keep still "
            "and try again."
        ),
        "tube_blocked": "The cuff tube seems bent or blocked. Please straighten it and try again.",
        "out_of_range": (
            "The reading was outside what the meter can measure. Please rest for five minutes "
            "and try again. If it happens again, please ask staff for help."
        ),
        "timeout": "The measurement took too long. Please sit still, relax and try again.",
        "safety_timeout": (
            "The measurement was stopped for your safety because it took too long. Please rest "
            "and try again."
        ),
        "no_reading": "The meter could not get a reading. Please relax, keep still and try again.",
        "implausible_reading": "The reading looks wrong. Please measure again.",
        "irregular": (
            "The meter noticed an irregular pulse. Please rest for a few minutes and try again."
        ),
        "aborted": "The measurement was stopped. Press start to try again.",
        "meter_not_ready": (
            "The meter is not ready yet. Please wait a moment and try again. If it happens again, "
            "please ask staff for help."
        ),
        "hardware_fault": "The meter has a technical problem. Please ask staff for help.",
        UNKNOWN_ERROR_KEY: (
            "The meter could not finish the measurement. Please try again. If it happens again, "
            "please ask staff for help."
        ),
    }
)


def message_for(error_key: str) -> str:
    """The English message for a key; unknown keys get the generic device-error message."""
    return ERROR_MESSAGES.get(error_key, ERROR_MESSAGES[UNKNOWN_ERROR_KEY])
