"""CameraScanner: capture thread → one-slot mailbox → decode worker → once-per-presentation.

The mailbox holds at most one frame: a frame that arrives while the worker is busy replaces
the waiting one (which is counted as dropped), so decoding always works on the freshest frame
and memory never grows. Results go to a callback (called on the worker thread) or to a bounded
queue read with `get(timeout_s)`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from common.selftest import SelfTestReport
from drivers.camera.backends import Frame, QrDecoder, make_decoder, to_gray
from drivers.camera.check import self_test_latest
from drivers.camera.presentation import ABSENT_FRAMES, ABSENT_S, PresentationTracker
from drivers.camera.source import FrameSource
from drivers.qrscan.token import KindRule, QrScanned

log = logging.getLogger(__name__)

MAX_PENDING_RESULTS = 8
NO_FRAME_RETRY_S = 0.02
PREVIEW_MAX_WIDTH_PX = 320
JOIN_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class ScannerStats:
    """Counters since start: frames offered, dropped unprocessed, decoded; codes reported."""

    submitted: int
    dropped: int
    decoded: int
    reported: int


class CameraScanner:
    """Decodes frames off the caller's thread and reports each code once per presentation."""

    def __init__(
        self,
        source: FrameSource | None = None,
        decoder: QrDecoder | None = None,
        *,
        on_scan: Callable[[QrScanned], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        absent_frames: int = ABSENT_FRAMES,
        absent_s: float = ABSENT_S,
        kind_rules: Sequence[KindRule] = (),
        max_pending_results: int = MAX_PENDING_RESULTS,
    ) -> None:
        self._source = source
        self._decoder = decoder or make_decoder()
        self._on_scan = on_scan
        self._clock = clock
        self._rules = tuple(kind_rules)
        self._tracker = PresentationTracker(absent_frames=absent_frames, absent_s=absent_s)
        self._results: queue.Queue[QrScanned] = queue.Queue(maxsize=max_pending_results)
        self._cond = threading.Condition()
        self._pending: Frame | None = None
        self._busy = False
        self._latest: Frame | None = None
        self._latest_seq = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._submitted = self._dropped = self._decoded = self._reported = 0

    @property
    def decoder_name(self) -> str:
        """The backend in use."""
        return self._decoder.name

    def start(self) -> None:
        """Start the decode worker and, if there is a source, the capture thread."""
        if self._threads:
            return
        self._stop.clear()
        self._threads.append(threading.Thread(target=self._work, name="qr-decode", daemon=True))
        if self._source is not None:
            self._threads.append(
                threading.Thread(target=self._capture, name="qr-capture", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop both threads and close the source; idempotent."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(JOIN_TIMEOUT_S)
        self._threads.clear()
        if self._source is not None:
            self._source.close()

    def __enter__(self) -> CameraScanner:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def submit(self, frame: Frame) -> bool:
        """Offer a frame for decoding; False if a waiting frame had to be dropped for it."""
        frame.flags.writeable = False  # shared with preview readers: nobody may draw on it
        with self._cond:
            self._submitted += 1
            self._latest = frame
            self._latest_seq += 1
            replaced = self._pending is not None
            if replaced:
                self._dropped += 1
            self._pending = frame
            self._cond.notify()
        return not replaced

    def get(self, timeout_s: float) -> QrScanned | None:
        """The next reported code within `timeout_s` (when no callback is set), else None."""
        try:
            return self._results.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def wait_idle(self, timeout_s: float) -> bool:
        """True once no frame waits and none is being decoded (for tests and file sources)."""
        deadline = time.monotonic() + timeout_s  # real time: this is a wait, not a timer
        with self._cond:
            while self._pending is not None or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def latest_frame(self) -> tuple[Frame | None, int]:
        """The most recent frame (read-only, not copied) and its sequence number."""
        with self._cond:
            return self._latest, self._latest_seq

    def self_test(self, timeout_s: float = 2.0) -> SelfTestReport:
        """A fresh frame must arrive from the running capture within `timeout_s`, with contrast."""
        return self_test_latest(self.latest_frame, timeout_s)

    def preview(self, max_width: int = PREVIEW_MAX_WIDTH_PX) -> Frame | None:
        """A small copy of the latest frame for a preview (only the small copy is made)."""
        frame, _ = self.latest_frame()
        if frame is None:
            return None
        height, width = frame.shape[:2]
        if width <= max_width:
            return frame
        size = (max_width, max(1, round(height * max_width / width)))
        return np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)

    def stats(self) -> ScannerStats:
        """A snapshot of the counters."""
        with self._cond:
            return ScannerStats(self._submitted, self._dropped, self._decoded, self._reported)

    def reset_presentations(self) -> None:
        """Forget codes in view, so the same code is reported again (a new session)."""
        with self._cond:
            self._tracker.reset()

    def process(self, frame: Frame) -> list[QrScanned]:
        """Decode one frame synchronously and apply once-per-presentation; returns new codes."""
        texts = self._decoder.decode(to_gray(frame))
        now = self._clock()
        with self._cond:
            self._decoded += 1
            fresh = self._tracker.update(texts, now)
            self._reported += len(fresh)
        return [QrScanned.of(t, rules=self._rules, source="camera") for t in fresh]

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                while self._pending is None and not self._stop.is_set():
                    self._cond.wait()
                if self._stop.is_set():
                    return
                frame = self._pending
                self._pending = None
                self._busy = True
            if frame is None:
                continue
            try:
                for scanned in self.process(frame):
                    self._deliver(scanned)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _deliver(self, scanned: QrScanned) -> None:
        log.debug("camera code reported (%s, %d chars)", scanned.kind, scanned.length)
        if self._on_scan is not None:
            try:
                self._on_scan(scanned)
            except Exception:
                log.exception("camera scan listener failed")
            return
        while True:
            try:
                self._results.put_nowait(scanned)
                return
            except queue.Full:
                # Nobody is reading: the oldest code is the stalest; keep the newest.
                with contextlib.suppress(queue.Empty):
                    self._results.get_nowait()

    def _capture(self) -> None:
        source = self._source
        assert source is not None
        while not self._stop.is_set():
            frame = source.read()
            if frame is not None:
                self.submit(frame)
            elif source.finished:
                return
            else:
                self._stop.wait(NO_FRAME_RETRY_S)
