"""Technician tool: decode QR codes in image files (`python -m drivers qr IMAGE...`).

A code is printed as its kind, length and the first 8 hex digits of its SHA-256, never as text:
the codes residents show are credentials (DESIGN.md §2.3), and a technician testing the camera
with a resident's code must not copy it to a terminal, a scrollback or a ticket. The digest
still tells two codes apart and lets a technician confirm a known test code
(`printf %s TEXT | sha256sum`).
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


def code_record(text: str) -> Record:
    """What may be printed about one decoded code."""
    return {"kind": classify(text), "length": len(text), "sha256_8": QrToken(text).fingerprint()}


def decode_images(paths: Iterable[str | Path], backend: str | None = None) -> Iterator[Record]:
    """One `{"file", "codes"}` record per image (directories expand to their images)."""
    decoder = make_decoder(backend)
    for path in image_paths(list(paths)):
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        if frame is None:
            yield {"file": str(path), "error": "unreadable image"}
            continue
        texts = decoder.decode(to_gray(frame))
        yield {"file": str(path), "backend": decoder.name, "codes": [code_record(t) for t in texts]}
