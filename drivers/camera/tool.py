"""Technician tool: decode QR codes in image files (`python -m drivers qr IMAGE...`).

The tool exists for testing the camera with sample images, so by default it prints what each
image decodes to: `{"file": ..., "codes": ["text", ...]}`. Images that may hold a resident's
code (credentials, docs/design.md §2.3) are checked with `--redact`, which prints each code as its
kind, length and the first 8 hex digits of its SHA-256 instead: enough to tell codes apart or
confirm a known test code (`printf %s TEXT | sha256sum`) without copying a credential into a
terminal, a scrollback or a ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2

from drivers.camera.backends import make_decoder, to_gray
from drivers.camera.source import image_paths
from drivers.qrscan.token import QrToken, classify

Record = dict[str, Any]


def redacted_code(text: str) -> Record:
    """What may be printed about one decoded code that may be a credential."""
    return {"kind": classify(text), "length": len(text), "sha256_8": QrToken(text).fingerprint()}


def decode_images(
    paths: Iterable[str | Path], backend: str | None = None, *, redact: bool = False
) -> Iterator[Record]:
    """One `{"file", "codes"}` record per image (directories expand to their images)."""
    decoder = make_decoder(backend)
    for path in image_paths(list(paths)):
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        if frame is None:
            yield {"file": str(path), "error": "unreadable image"}
            continue
        texts = decoder.decode(to_gray(frame))
        codes: list[Any] = [redacted_code(t) for t in texts] if redact else list(texts)
        yield {"file": str(path), "codes": codes}
