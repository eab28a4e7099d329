"""Plug-in point for decoding the card photo (vendor WLT compression; no open decoder exists).

Nothing is registered by default and no vendor binary is shipped: a site that licenses a decoder
registers a callable `bytes (WLT) -> bytes (e.g. BMP/PNG)` at start-up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

PhotoDecoder = Callable[[bytes], bytes]

_lock = threading.Lock()
_decoder: PhotoDecoder | None = None


def register_photo_decoder(decoder: PhotoDecoder | None) -> None:
    """Install (or with None remove) the process-wide photo decoder."""
    global _decoder  # noqa: PLW0603 -- one registry per process is the point of a plug-in hook
    with _lock:
        _decoder = decoder


def decode_photo(photo: bytes) -> bytes | None:
    """The decoded image, or None when no decoder is registered or the photo is empty."""
    with _lock:
        decoder = _decoder
    if decoder is None or not photo:
        return None
    return decoder(photo)
