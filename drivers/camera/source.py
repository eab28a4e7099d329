"""Frame sources: an OpenCV camera (device index) or video file, or a list/directory of images."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from drivers.camera.backends import Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff"})
# A USB camera that returns this many failed reads in a row is reopened (unplugged, reset).
MAX_FAILED_READS = 30


class FrameSource(Protocol):
    """Frames, one per `read()`; `finished` once a finite source is exhausted."""

    @property
    def finished(self) -> bool:
        """True when no more frames will ever come."""
        ...

    def read(self) -> Frame | None:
        """The next BGR or grayscale frame, or None if none is available now."""
        ...

    def close(self) -> None:
        """Release the device or files; idempotent."""
        ...


class OpenCvSource:
    """`cv2.VideoCapture` on a device index (reopened after repeated failures) or a video file."""

    def __init__(
        self,
        device: int | str | Path,
        *,
        width: int | None = None,
        height: int | None = None,
        opener: Callable[[int | str], cv2.VideoCapture] | None = None,
    ) -> None:
        self._device: int | str = device if isinstance(device, int) else str(device)
        self._size = (width, height)
        self._open = opener or cv2.VideoCapture
        self._is_file = not isinstance(device, int)
        self._failed_reads = 0
        self._finished = False
        self._capture = self._open_capture()

    def _open_capture(self) -> cv2.VideoCapture:
        capture = self._open(self._device)
        width, height = self._size
        if width and height and not self._is_file:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        return capture

    @property
    def finished(self) -> bool:
        """True once a video file has ended (a camera never finishes)."""
        return self._finished

    def read(self) -> Frame | None:
        """See `FrameSource.read`."""
        if self._finished:
            return None
        ok, frame = self._capture.read()
        if ok and frame is not None:
            self._failed_reads = 0
            return np.asarray(frame, dtype=np.uint8)
        if self._is_file:
            self._finished = True
            return None
        self._failed_reads += 1
        if self._failed_reads >= MAX_FAILED_READS:
            log.warning("camera %s returned no frames; reopening", self._device)
            self._capture.release()
            self._capture = self._open_capture()
            self._failed_reads = 0
        return None

    def close(self) -> None:
        """See `FrameSource.close`."""
        self._finished = True
        self._capture.release()


def image_paths(items: Sequence[str | Path] | str | Path) -> list[Path]:
    """Expand a directory (its images, sorted by name) or a list of paths to image paths."""
    if isinstance(items, str | Path):
        items = [items]
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            paths.append(path)
    return paths


class ImageFilesSource:
    """Still images played as a camera would: one per read, optionally paced and looped."""

    def __init__(
        self,
        items: Sequence[str | Path] | str | Path,
        *,
        interval_s: float = 0.0,
        loop: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.paths = image_paths(items)
        self._interval_s = interval_s
        self._loop = loop
        self._sleep = sleep
        self._index = 0
        self._closed = False

    @property
    def finished(self) -> bool:
        """True once every image was read (never, when looping over a non-empty list)."""
        if self._closed:
            return True
        return self._index >= len(self.paths) and not (self._loop and self.paths)

    def read(self) -> Frame | None:
        """The next image; unreadable files are skipped with a warning."""
        while not self.finished:
            if self._index >= len(self.paths):
                self._index = 0
            path = self.paths[self._index]
            self._index += 1
            if self._interval_s:
                self._sleep(self._interval_s)
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is not None:
                return np.asarray(frame, dtype=np.uint8)
            log.warning("cannot read image %s", path.name)
        return None

    def close(self) -> None:
        """See `FrameSource.close`."""
        self._closed = True


def open_source(spec: int | str | Path | Sequence[str | Path]) -> FrameSource:
    """A camera index (`0` or `"0"`), a video file, an image file, a directory or a list."""
    if isinstance(spec, int):
        return OpenCvSource(spec)
    if isinstance(spec, str) and spec.isdigit():
        return OpenCvSource(int(spec))
    if isinstance(spec, str | Path):
        path = Path(spec)
        if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageFilesSource(path)
        return OpenCvSource(path)
    return ImageFilesSource(spec)
