"""The camera self-test: grab a fresh frame (from a source or a running scanner) and look at it.

A frame that arrives is the `frame` check; a frame with no contrast at all (lens covered, sensor
dark, a dead capture card's black picture) fails the `image` check.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from common.selftest import SelfTestReport
from drivers.camera.backends import Frame
from drivers.camera.source import FrameSource
from drivers.selftest import CheckRunner

# Grey-level standard deviation below which a frame shows nothing (a black or uniform picture).
MIN_CONTRAST_STD = 2.0
POLL_S = 0.02


def _look(runner: CheckRunner, frame: Frame | None, waited_s: float) -> SelfTestReport:
    if frame is None:
        runner.add("frame", False, f"no frame within {waited_s:g} s")
        return runner.report("camera")
    height, width = frame.shape[:2]
    runner.add("frame", True, f"{width}x{height}")
    spread = float(np.std(frame))
    if spread < MIN_CONTRAST_STD:
        runner.add("image", False, "the picture is uniform: lens covered or sensor dark")
    else:
        runner.add("image", True, "the picture has contrast")
    return runner.report("camera")


def self_test_source(
    source: FrameSource,
    timeout_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SelfTestReport:
    """Read frames from `source` until one arrives or `timeout_s` passes, then check it."""
    runner = CheckRunner(clock)
    deadline_s = clock() + timeout_s
    frame = None
    try:
        while frame is None and clock() < deadline_s and not source.finished:
            frame = source.read()
            if frame is None:
                sleep(POLL_S)
    except OSError as error:  # a capture device that fails hard
        runner.add("frame", False, f"{type(error).__name__}")
        return runner.report("camera")
    return _look(runner, frame, timeout_s)


def self_test_latest(
    latest: Callable[[], tuple[Frame | None, int]],
    timeout_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SelfTestReport:
    """Wait for a frame newer than the one shown now (a running scanner's `latest_frame`)."""
    runner = CheckRunner(clock)
    _frame, seen = latest()
    deadline_s = clock() + timeout_s
    while clock() < deadline_s:
        frame, seq = latest()
        if seq > seen:
            return _look(runner, frame, timeout_s)
        sleep(POLL_S)
    return _look(runner, None, timeout_s)
