"""Technician tool: decode QR codes in image files (`python -m drivers qr IMAGE...`).

The images a technician tests the camera with may hold a resident's code (a credential,
docs/design.md §2.3), so by default each code prints as its kind and length only:
`{"file": ..., "codes": [{"kind": ..., "length": ...}]}`. `--payload` adds the decoded `text`
to each code, for the technician's own test images; nothing else ever prints a payload.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2

from drivers.camera.backends import make_decoder, to_gray
from drivers.camera.source import image_paths
from drivers.qrscan.token import classify

Record = dict[str, Any]


def code_record(text: str, *, payload: bool = False) -> Record:
    """What is printed about one decoded code: kind and length, and the text only if asked."""
    record: Record = {"kind": classify(text), "length": len(text)}
    if payload:
        record["text"] = text
    return record


def decode_images(
    paths: Iterable[str | Path], backend: str | None = None, *, payload: bool = False
) -> Iterator[Record]:
    """One `{"file", "codes"}` record per image (directories expand to their images)."""
    decoder = make_decoder(backend)
    for path in image_paths(list(paths)):
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        if frame is None:
            yield {"file": str(path), "error": "unreadable image"}
            continue
        texts = decoder.decode(to_gray(frame))
        yield {"file": str(path), "codes": [code_record(t, payload=payload) for t in texts]}
