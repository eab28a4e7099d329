"""Drive the running app from a script by real touches (UI tests, the screenshot script).

A script is a generator taking the Pilot; it yields `Wait`s (frames to draw, or a condition
with a deadline) and the pilot resumes it from the Kivy clock once the wait is over. Touches go
through Kivy's input dispatch at the widget's on-screen position, so a hidden, covered or
disabled button fails the way it would fail a resident.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kivy.base import EventLoop
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.input.motionevent import MotionEvent
from kivy.uix.scrollview import ScrollView

from kiosk.core.machine import State

log = logging.getLogger(__name__)

SETTLE_FRAMES = 4  # layout and text textures update on the frames after a change
DEFAULT_WAIT_S = 20.0  # a guard against a hung flow, not a pacing delay
_touch_ids = itertools.count(1000)


class PilotError(AssertionError):
    """The script could not go on (a widget was missing, a condition never came true)."""


@dataclass
class Wait:
    """Resume after `frames` more frames and once `until()` is true (or fail at the deadline)."""

    frames: int = 0
    until: Callable[[], bool] | None = None
    timeout_s: float = DEFAULT_WAIT_S
    what: str = ""


Script = Callable[["Pilot"], Iterator[Wait]]


class _Touch(MotionEvent):
    """A single-finger touch at window coordinates."""

    def __init__(self, x: float, y: float) -> None:
        width, height = Window.size
        args = {"x": x / max(1, width - 1), "y": y / max(1, height - 1)}
        super().__init__("pilot", next(_touch_ids), args, is_touch=True, type_id="touch")
        self.profile = ["pos"]

    def depack(self, args: dict[str, float]) -> None:
        self.sx, self.sy = args["x"], args["y"]
        super().depack(args)


def _scroll_parent(widget: Any) -> ScrollView | None:
    """The nearest ScrollView around `widget`, if any (the Window is its own parent)."""
    node = widget.parent
    while node is not None and node is not Window:
        if isinstance(node, ScrollView):
            return node
        node = node.parent
    return None


class Pilot:
    """Runs one script against the app; `error` holds the first failure, if any."""

    def __init__(self, app: Any, script: Script, *, on_done: Callable[[Pilot], None]) -> None:
        self.app = app
        self._script = script(self)
        self._on_done = on_done
        self._wait: Wait | None = None
        self._frames_left = 0
        self._deadline = 0.0
        self.error: BaseException | None = None
        self.notes: dict[str, Any] = {}

    def start(self) -> None:
        """Begin after the first frames are drawn."""
        self._wait = self.frames(SETTLE_FRAMES)
        self._arm()
        Clock.schedule_interval(self._on_frame, 0)

    # --- waits -------------------------------------------------------------------------------

    def frames(self, count: int = SETTLE_FRAMES) -> Wait:
        """Let `count` frames be drawn."""
        return Wait(frames=count)

    def until(
        self, condition: Callable[[], bool], what: str, timeout_s: float = DEFAULT_WAIT_S
    ) -> Wait:
        """Wait for `condition`, then let the screen settle."""
        return Wait(frames=SETTLE_FRAMES, until=condition, timeout_s=timeout_s, what=what)

    def state(self, state: State, timeout_s: float = DEFAULT_WAIT_S) -> Wait:
        """Wait until the session shows `state`."""
        return self.until(lambda: self.views.state is state, f"state {state.name}", timeout_s)

    @property
    def views(self) -> Any:
        """The session's current view-models."""
        return self.app.host.views

    # --- finding and touching ----------------------------------------------------------------

    def find(self, tag: str) -> Any:
        """The widget tagged `tag` on the current screen (or anywhere in the window)."""
        roots = [self.app.current_screen, *Window.children]
        for root in roots:
            for widget in root.walk(restrict=True):
                if getattr(widget, "tag", None) == tag:
                    return widget
        raise PilotError(f"no widget tagged {tag!r} on {self.app.current_screen.name}")

    def tap(self, tag: str) -> Iterator[Wait]:
        """Scroll `tag` into view if needed, then touch down and up on its centre."""
        widget = self.find(tag)
        scroll = _scroll_parent(widget)
        if scroll is not None:
            scroll.scroll_to(widget, padding=10, animate=False)
            yield self.frames(2)
        if widget.disabled:
            raise PilotError(f"{tag!r} is disabled")
        x, y = widget.to_window(*widget.center)
        yield from self.tap_at(x, y)

    def tap_at(self, x: float, y: float) -> Iterator[Wait]:
        """Touch down and up at window coordinates."""
        touch = _Touch(x, y)
        EventLoop.post_dispatch_input("begin", touch)
        EventLoop.post_dispatch_input("end", touch)
        yield self.frames(2)

    def screenshot(self, path: Path) -> Iterator[Wait]:
        """Save the window as `path` (Kivy appends a counter; the file is renamed)."""
        yield self.frames(SETTLE_FRAMES)
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = Window.screenshot(name=str(path.with_suffix("")) + ".png")
        if saved is None:
            raise PilotError("screenshot failed")
        os.replace(saved, path)

    # --- the clock ------------------------------------------------------------------------------

    def _arm(self) -> None:
        assert self._wait is not None
        self._frames_left = self._wait.frames
        self._deadline = time.monotonic() + self._wait.timeout_s

    def _on_frame(self, _dt: float) -> bool:
        wait = self._wait
        assert wait is not None
        if wait.until is not None and not wait.until():
            if time.monotonic() > self._deadline:
                return self._finish(PilotError(f"timed out waiting for {wait.what}"))
            return True
        if self._frames_left > 0:
            self._frames_left -= 1
            return True
        try:
            self._wait = next(self._script)
        except StopIteration:
            return self._finish(None)
        except Exception as exc:  # noqa: BLE001 — reported by the caller with its traceback
            return self._finish(exc)
        self._arm()
        return True

    def _finish(self, error: BaseException | None) -> bool:
        self.error = error
        if error is not None:
            log.error("pilot stopped: %s", error, exc_info=error)
        self._on_done(self)
        return False
