"""QR decoder backends behind one interface: grayscale frame in, payload texts out.

Measured on this project's generated perturbation set (bench/qr_bench.py, docs/design.md §2.5):
zxing-cpp is both the fastest and the most successful single backend; a second zxing pass on an
unsharp-masked frame when the first finds nothing recovers defocused codes for ~1.8 ms more
per empty 720p frame, and is the default. A pyzbar or OpenCV fallback added nothing measurable
at 5-10× zxing's cost on empty frames (most frames a kiosk camera sees are empty).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]


class QrDecoder(Protocol):
    """Decodes every QR code it finds in a frame; never raises on image content."""

    name: str

    def decode(self, gray: Frame) -> list[str]:
        """Payload texts of the QR codes in a 2-D uint8 grayscale frame."""
        ...


def to_gray(frame: npt.NDArray[Any]) -> Frame:
    """A 2-D uint8 view or conversion of a BGR/BGRA/grayscale frame (no copy if already gray)."""
    if frame.ndim == 2:
        return np.asarray(frame, dtype=np.uint8)
    if frame.shape[2] == 4:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY), dtype=np.uint8)
    if frame.shape[2] == 1:
        return frame[:, :, 0]
    return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def _unique(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(t for t in texts if t))


class ZxingDecoder:
    """zxing-cpp restricted to QR Code (all formats is ~10× slower, docs/design.md §2.5)."""

    name = "zxing"

    def __init__(self) -> None:
        import zxingcpp

        self._zxing = zxingcpp
        self._formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

    def decode(self, gray: Frame) -> list[str]:
        """See `QrDecoder.decode`."""
        results = self._zxing.read_barcodes(gray, formats=self._formats)
        return _unique([str(r.text) for r in results if r.valid])


class PyzbarDecoder:
    """ZBar through pyzbar, QR symbols only; payloads that are not UTF-8 are dropped."""

    name = "pyzbar"

    def __init__(self) -> None:
        from pyzbar import pyzbar

        self._pyzbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]

    def decode(self, gray: Frame) -> list[str]:
        """See `QrDecoder.decode`."""
        texts = []
        for result in self._pyzbar.decode(gray, symbols=self._symbols):
            try:
                texts.append(bytes(result.data).decode("utf-8"))
            except UnicodeDecodeError:
                continue  # a guessed charset would hand on a corrupted credential
        return _unique(texts)


class OpenCvDecoder:
    """OpenCV's QRCodeDetector (or QRCodeDetectorAruco with `aruco=True`)."""

    def __init__(self, *, aruco: bool = False) -> None:
        self.name = "opencv_aruco" if aruco else "opencv"
        self._detector = cv2.QRCodeDetectorAruco() if aruco else cv2.QRCodeDetector()

    def decode(self, gray: Frame) -> list[str]:
        """See `QrDecoder.decode`."""
        try:
            ok, texts, _points, _straight = self._detector.detectAndDecodeMulti(gray)
        except cv2.error:
            return []  # OpenCV asserts on some degenerate detections
        return _unique([str(t) for t in texts]) if ok else []


class FallbackDecoder:
    """Try decoders in order; the first that finds anything wins (cost: all, on empty frames)."""

    def __init__(self, name: str, decoders: list[QrDecoder]) -> None:
        self.name = name
        self._decoders = decoders

    def decode(self, gray: Frame) -> list[str]:
        """See `QrDecoder.decode`."""
        for decoder in self._decoders:
            texts = decoder.decode(gray)
            if texts:
                return texts
        return []


# Tuned on a perturbation set seeded differently from the benchmark's, so the bench is fair.
SHARPEN_SIGMA_PX = 3.0
SHARPEN_AMOUNT = 2.0


def unsharp(gray: Frame) -> Frame:
    """Unsharp mask: gray + amount·(gray − blur(gray)), saturated to uint8."""
    blurred = cv2.GaussianBlur(gray, (0, 0), SHARPEN_SIGMA_PX)
    sharpened = cv2.addWeighted(gray, 1.0 + SHARPEN_AMOUNT, blurred, -SHARPEN_AMOUNT, 0.0)
    return np.asarray(sharpened, dtype=np.uint8)


class PreprocessedDecoder:
    """Another decoder run on a transformed frame."""

    def __init__(self, name: str, decoder: QrDecoder, transform: Callable[[Frame], Frame]) -> None:
        self.name = name
        self._decoder = decoder
        self._transform = transform

    def decode(self, gray: Frame) -> list[str]:
        """See `QrDecoder.decode`."""
        return self._decoder.decode(self._transform(gray))


def _zxing_then_sharpened() -> QrDecoder:
    zxing = ZxingDecoder()
    return FallbackDecoder(
        "zxing+sharpen", [zxing, PreprocessedDecoder("zxing(unsharp)", zxing, unsharp)]
    )


BACKENDS: Mapping[str, Callable[[], QrDecoder]] = {
    "zxing": ZxingDecoder,
    "pyzbar": PyzbarDecoder,
    "opencv": OpenCvDecoder,
    "opencv_aruco": lambda: OpenCvDecoder(aruco=True),
    "zxing+pyzbar": lambda: FallbackDecoder("zxing+pyzbar", [ZxingDecoder(), PyzbarDecoder()]),
    "zxing+sharpen": _zxing_then_sharpened,
}
DEFAULT_BACKEND = "zxing+sharpen"


def make_decoder(name: str | None = None) -> QrDecoder:
    """The named backend (default: `DEFAULT_BACKEND`); ValueError for an unknown name."""
    chosen = name or DEFAULT_BACKEND
    try:
        factory = BACKENDS[chosen]
    except KeyError:
        known = ", ".join(BACKENDS)
        raise ValueError(f"unknown QR backend {chosen!r}; known: {known}") from None
    return factory()
