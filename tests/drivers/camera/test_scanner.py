"""CameraScanner: once per presentation (injected clock), bounded worker, sources, clean logs."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera.backends import Frame, make_decoder, to_gray
from drivers.camera.presentation import PresentationTracker
from drivers.camera.scanner import CameraScanner
from drivers.camera.source import ImageFilesSource, OpenCvSource, image_paths, open_source
from drivers.qrscan.token import QrScanned
from tests.drivers.camera.scenes import SHORT_TOKEN

WAIT_S = 10.0


class FakeClock:
    """Monotonic seconds that only move when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ScriptedDecoder:
    """Returns the next scripted result per frame, ignoring pixels."""

    name = "scripted"

    def __init__(self, script: list[list[str]]) -> None:
        self._script = list(script)

    def decode(self, gray: Frame) -> list[str]:
        """The next scripted texts (empty once the script runs out)."""
        return self._script.pop(0) if self._script else []


class BlockingDecoder:
    """Blocks inside decode until released, to make the worker busy on demand."""

    name = "blocking"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def decode(self, gray: Frame) -> list[str]:
        """Signal entry, wait for release, find nothing."""
        self.calls += 1
        self.entered.set()
        assert self.release.wait(WAIT_S)
        return []


def blank(value: int = 0) -> Frame:
    """A small gray frame."""
    return np.full((48, 64), value, dtype=np.uint8)


def test_tracker_reports_once_until_gone_for_frames_and_time() -> None:
    """A code returns to reporting only after N missed frames AND T seconds without it."""
    tracker = PresentationTracker(absent_frames=3, absent_s=1.0)
    assert tracker.update(["A"], 0.0) == ["A"]
    assert tracker.update(["A", "A"], 0.1) == []
    assert tracker.update([], 0.2) == []
    assert tracker.update([], 0.3) == []
    assert tracker.update(["A"], 0.4) == []  # back within a flicker: same presentation
    for t in (0.5, 0.6, 0.7):
        assert tracker.update([], t) == []  # 3 missed frames, but only 0.3 s
    assert tracker.update(["A"], 0.8) == []
    assert tracker.update([], 1.0) == []
    assert tracker.update([], 1.9) == []  # 1.5 s gone, only 2 frames
    assert tracker.update([], 2.0) == []  # 3 frames and 1.6 s: now gone
    assert tracker.tracked == 0
    assert tracker.update(["A"], 2.1) == ["A"]


def test_tracker_handles_two_codes_independently() -> None:
    """Two codes in view are each reported once; one leaving does not affect the other."""
    tracker = PresentationTracker(absent_frames=1, absent_s=0.0)
    assert tracker.update(["A", "B"], 0.0) == ["A", "B"]
    assert tracker.update(["B"], 1.0) == []
    assert tracker.update(["A", "B"], 2.0) == ["A"]
    tracker.reset()
    assert tracker.update(["B"], 3.0) == ["B"]


def test_scanner_once_per_presentation_with_injected_clock() -> None:
    """Frames through `process` report a code on appearance and after it left long enough."""
    clock = FakeClock()
    script = [["X"], ["X"], [], [], ["X"], [], [], [], ["X"]]
    scanner = CameraScanner(
        decoder=ScriptedDecoder(script), clock=clock, absent_frames=2, absent_s=1.0
    )
    reported = []
    for _ in script:
        reported += [s.length for s in scanner.process(blank())]
        clock.now += 0.4
    # reported at frame 0; frames 2-3 missed for 0.8 s only; frames 5-7 missed 1.2 s → again.
    assert reported == [1, 1]
    assert scanner.stats().reported == 2


def test_worker_drops_frames_while_busy() -> None:
    """Frames offered during a slow decode replace each other; one waits, the rest are dropped."""
    decoder = BlockingDecoder()
    with CameraScanner(decoder=decoder) as scanner:
        assert scanner.submit(blank(1))
        assert decoder.entered.wait(WAIT_S)
        accepted = [scanner.submit(blank(v)) for v in range(10)]
        assert accepted == [True] + [False] * 9
        decoder.release.set()
        assert scanner.wait_idle(WAIT_S)
        stats = scanner.stats()
    assert (stats.submitted, stats.dropped, stats.decoded) == (11, 9, 2)
    assert decoder.calls == 2


def test_latest_frame_is_shared_read_only_and_preview_is_small() -> None:
    """The latest frame is the submitted array itself (read-only); the preview is downscaled."""
    decoder = BlockingDecoder()
    decoder.release.set()
    scanner = CameraScanner(decoder=decoder)
    assert scanner.latest_frame() == (None, 0)
    assert scanner.preview() is None
    frame = np.zeros((720, 1280, 3), dtype=np.uint8)
    scanner.submit(frame)
    latest, seq = scanner.latest_frame()
    assert latest is frame
    assert seq == 1
    assert not frame.flags.writeable
    preview = scanner.preview(max_width=320)
    assert preview is not None
    assert preview.shape == (180, 320, 3)


def test_threaded_scanner_with_looping_image_source(scene_dir: Path) -> None:
    """A looping single-image source reports its code once to the queue, then stays quiet."""
    source = ImageFilesSource([scene_dir / "short_480p.png"], loop=True)
    with CameraScanner(source, make_decoder("zxing")) as scanner:
        scanned = scanner.get(WAIT_S)
        assert scanned is not None
        assert scanned.token.reveal() == SHORT_TOKEN
        assert scanned.source == "camera"
        assert scanner.get(0.3) is None
        assert scanner.stats().decoded >= 2


def test_callback_delivery_from_a_finite_directory_source(scene_dir: Path) -> None:
    """A directory source ends; codes found on the way reach the callback."""
    received: list[QrScanned] = []
    done = threading.Event()

    def on_scan(scanned: QrScanned) -> None:
        received.append(scanned)
        done.set()

    source = ImageFilesSource([scene_dir / "short_720p.png"])
    with CameraScanner(source, on_scan=on_scan) as scanner:
        assert done.wait(WAIT_S)
        assert scanner.wait_idle(WAIT_S)
    assert [s.kind for s in received] == ["url"]
    assert source.finished


def test_image_file_source_reads_directory_in_order_and_skips_unreadable(
    scene_dir: Path, tmp_path: Path
) -> None:
    """Images come in name order; unreadable files are skipped; the source then finishes."""
    (tmp_path / "a.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("ignored")
    for name in ("b", "c"):
        (tmp_path / f"{name}.png").write_bytes((scene_dir / "short_480p.png").read_bytes())
    assert [p.name for p in image_paths(tmp_path)] == ["a.png", "b.png", "c.png"]
    source = open_source(tmp_path)
    frames = [source.read(), source.read()]
    assert all(f is not None and f.shape == (480, 640, 3) for f in frames)
    assert source.read() is None
    assert source.finished


def test_video_file_source(scene_dir: Path, tmp_path: Path) -> None:
    """A video file plays its frames through OpenCV and then finishes."""
    path = tmp_path / "clip.avi"
    frame = cv2.imread(str(scene_dir / "short_480p.png"))
    assert frame is not None
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (640, 480))
    for _ in range(3):
        writer.write(frame)
    writer.release()
    source = open_source(path)
    assert isinstance(source, OpenCvSource)
    frames = []
    while (f := source.read()) is not None:
        frames.append(f)
    assert len(frames) == 3
    assert source.finished
    assert make_decoder().decode(to_gray(frames[0])) == [SHORT_TOKEN]


def test_scanning_logs_never_contain_the_payload(
    scene_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Debug logging of a full threaded scan shows kinds and lengths, never the payload."""
    caplog.set_level(logging.DEBUG)
    source = ImageFilesSource([scene_dir / "short_480p.png"], loop=True)
    with CameraScanner(source) as scanner:
        scanned = scanner.get(WAIT_S)
        assert scanned is not None
        logging.getLogger("test").info("got %r / %s", scanned, scanned.token)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "camera code reported" in text
    assert SHORT_TOKEN not in text
    assert "Qr7Tk2Lm9Xc4" not in text
