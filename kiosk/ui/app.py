"""The Kivy app: one Screen per session state, switched on every step; theme and text size live.

The app draws what `KioskHost` (session + devices) says and forwards touches; it owns the Kivy
clocks: a one-second tick (Tick, agent requests, log lines, outbox state, watchdog), and the
marshalling of device inputs from worker threads onto the main thread.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.graphics.opengl import glFlush
from kivy.metrics import Metrics
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from config.model import KioskConfig
from kiosk.core import inputs as i
from kiosk.core.i18n import load_strings
from kiosk.core.machine import State
from kiosk.core.session import Step
from kiosk.core.views import Views
from kiosk.runtime import systemd
from kiosk.ui import theme
from kiosk.ui.bootstrap import RecentLines
from kiosk.ui.host import KioskHost, OffsetClock

log = logging.getLogger(__name__)

TICK_S = 1.0
# `make bench` (bench/kiosk_bench.py): the app writes time.monotonic() here once the first frame
# of the attract screen is drawn; CLOCK_MONOTONIC is shared by all processes of the machine.
BENCH_FIRST_FRAME_ENV = "KIOSK_BENCH_FIRST_FRAME_FILE"


class KioskApp(App):
    """The resident-facing touchscreen app."""

    # rebind=True: kv rules read through these (`app.palette.bg`), so they must re-run when
    # the object is replaced, not only when it is mutated
    views = ObjectProperty(None, allownone=True, rebind=True)
    strings = ObjectProperty(None, rebind=True)
    palette = ObjectProperty(theme.NORMAL, rebind=True)
    unit = NumericProperty(1.0)  # window pixels per design pixel (design: 1080 lines)
    font_unit = NumericProperty(1.0)  # unit × text scale (大字) × Metrics.fontscale
    dev_panel = BooleanProperty(False)

    def __init__(
        self,
        kiosk_config: KioskConfig,
        *,
        clock: OffsetClock | None = None,
        recent_lines: RecentLines | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kiosk_config = kiosk_config
        self.title = kiosk_config.identity.centre_name or "kiosk"
        self._clock = clock
        self._recent = recent_lines
        self.host: KioskHost | None = None
        self.manager: ScreenManager | None = None
        self.exit_code = 0
        self._ready_sent = False
        self.dev_panel = kiosk_config.ui.show_dev_panel

    # --- Kivy lifecycle -----------------------------------------------------------------------

    def build(self) -> BoxLayout:
        self.host = KioskHost(
            self.kiosk_config,
            schedule=_schedule,
            clock=self._clock,
            log_source=self._recent.drain if self._recent is not None else None,
        )
        # stop on the next frame, outside the clock callback that took the request
        self.host.on_restart = lambda: Clock.schedule_once(lambda _dt: self.stop(), 0)
        self._apply_accessibility(self.host.views)
        self.views = self.host.views
        Window.bind(
            size=self._on_window_size,
            on_request_close=self._on_request_close,
            on_flip=_hand_frame_to_gl,
        )
        self._on_window_size(Window, Window.size)

        from kiosk.ui.screens import SCREENS  # loads the .kv files: after the font is set

        self.manager = ScreenManager(transition=NoTransition())
        for state in State:
            self.manager.add_widget(SCREENS[state](name=state.value, views=self.host.views))
        root = BoxLayout(orientation="vertical")
        root.add_widget(self.manager)
        if self.dev_panel:
            from kiosk.ui.devpanel import DevPanel

            root.add_widget(DevPanel())
        self.host.subscribe(self._on_step)
        self._show(self.host.views, entering=True)
        Clock.schedule_interval(self._every_second, TICK_S)
        Clock.schedule_once(self._first_frame, 0)
        return root

    def on_start(self) -> None:
        assert self.host is not None
        self.host.start()
        if os.environ.get(BENCH_FIRST_FRAME_ENV):
            Window.bind(on_flip=self._bench_first_frame)

    def on_stop(self) -> None:
        systemd.notify_stopping()
        if self.host is not None:
            self.host.stop()

    # --- used by kv rules and screens -------------------------------------------------------

    def fs(self, role: str, font_unit: float) -> float:
        """Font size in pixels for a text role (kv passes `app.font_unit` so it rebinds)."""
        return theme.font_px(role, font_unit)

    def send(self, event: i.Input) -> None:
        """A touch from a screen → the session."""
        assert self.host is not None
        self.host.handle(event)

    def speak_current(self) -> None:
        """Read the current screen's main text aloud (语音 / 朗读)."""
        if self.host is None or self.manager is None:
            return
        text = self.manager.current_screen.speech_text()
        self.host.speaker.say(text, self.host.views.accessibility.language)

    @property
    def current_screen(self) -> Any:
        """The screen on display."""
        assert self.manager is not None
        return self.manager.current_screen

    # --- internals -----------------------------------------------------------------------

    def _on_step(self, step: Step, views: Views) -> None:
        entering = step.state is not step.previous
        voice_switched_on = views.accessibility.voice and not self.views.accessibility.voice
        printing_before = self.views.printing.text
        # the points screen changes phase without a new screen (wait → voucher): read it anew
        phase_changed = views.points.phase != self.views.points.phase and bool(views.points.phase)
        self._apply_accessibility(views)
        self.views = views
        self._show(views, entering=entering)
        if voice_switched_on or ((entering or phase_changed) and views.accessibility.voice):
            self.speak_current()
        elif (
            self.host is not None
            and views.accessibility.voice
            and views.printing.text
            and views.printing.text != printing_before
        ):
            # the print status changes without a new screen: read the new words aloud
            self.host.speaker.say(views.printing.text, views.accessibility.language)

    def _show(self, views: Views, *, entering: bool) -> None:
        assert self.manager is not None
        screen = self.manager.get_screen(views.state.value)
        screen.views = views
        if entering or self.manager.current != screen.name:
            self.manager.current = screen.name

    def _apply_accessibility(self, views: Views) -> None:
        access = views.accessibility
        strings = load_strings(access.language)
        if self.strings is not strings:
            self.strings = strings
        palette = theme.palette_for(access.high_contrast)
        if self.palette is not palette:
            self.palette = palette
        Window.clearcolor = palette.bg
        self._update_font_unit(access.text_scale)

    def _update_font_unit(self, text_scale: float) -> None:
        self.font_unit = self.unit * text_scale * Metrics.fontscale

    def _on_window_size(self, _window: Any, size: tuple[int, int]) -> None:
        self.unit = size[1] / theme.REFERENCE_HEIGHT_PX
        if self.views is not None:
            self._update_font_unit(self.views.accessibility.text_scale)

    def _on_request_close(self, *_args: Any, **_kwargs: Any) -> bool:
        # Production kiosks refuse to close (True = handled); dev windows close normally.
        return self.kiosk_config.ui.fullscreen

    def _first_frame(self, _dt: float) -> None:
        if not self._ready_sent:
            self._ready_sent = True
            systemd.notify_ready()
            log.info("kiosk ready")
            Window.bind(on_flip=self._warm_up_after_first_frame)

    def _warm_up_after_first_frame(self, window: Any) -> None:
        # The pinyin search keys and OpenCV take a few hundred ms of CPU: load them on a thread
        # once the first frame is out, so the attract screen shows at once (docs/design.md §3).
        window.unbind(on_flip=self._warm_up_after_first_frame)
        if self.host is not None:
            threading.Thread(target=self.host.warm_up, name="warm-up", daemon=True).start()

    def _bench_first_frame(self, window: Any) -> None:
        # on_flip handlers run after on_draw, before the swap: glFinish waits for the pixels
        if self.manager is None or self.manager.current != State.ATTRACT.value:
            return
        window.unbind(on_flip=self._bench_first_frame)
        from kivy.graphics.opengl import glFinish

        glFinish()
        drawn_s = time.monotonic()
        with open(os.environ[BENCH_FIRST_FRAME_ENV], "w", encoding="ascii") as out:
            out.write(f"{drawn_s!r}\n")

    def _every_second(self, _dt: float) -> None:
        assert self.host is not None
        self.host.every_second()
        if systemd.watchdog_interval_s() is not None:
            systemd.notify_watchdog()


def _hand_frame_to_gl(_window: Any) -> None:
    # A swap on a real screen flushes the frame; an offscreen window's (tests, bench,
    # screenshots) does not, so software GL kept every frame unrendered until something
    # waited on it: the next label texture update then paid for all of them at once
    # (docs/design.md §2.5). Flushing here starts each frame's rendering when it is drawn.
    glFlush()


def _schedule(callback: Callable[[], None]) -> None:
    """Run `callback` on the Kivy main thread (safe to call from any thread)."""
    Clock.schedule_once(lambda _dt: callback(), 0)


def run_app(config: KioskConfig, recent: RecentLines | None) -> int:
    """Run the app until it stops; returns the exit code. SIGTERM (systemd, `make run`) stops it
    cleanly from the main loop: devices closed and files flushed, not killed mid-frame."""
    app = KioskApp(config, recent_lines=recent)
    signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda _dt: app.stop(), 0))
    app.run()
    return app.exit_code
