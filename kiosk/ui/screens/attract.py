"""Attract screen: centre name, date and time, the two big entries, accessibility toggles.

Also hosts the hidden technician gesture: five taps in the top-left corner within three seconds
(CornerTapGesture works in screen fractions with the origin top-left; Kivy's y points up).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.core.window import Window
from kivy.lang import Builder

from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.core.technician import CornerTapGesture
from kiosk.ui.screens.base import KioskScreen, speech_join


class AttractScreen(KioskScreen):
    """办事 / 测血压; no ads."""

    state = State.ATTRACT

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gesture = CornerTapGesture()
        app = App.get_running_app()
        if app is not None and app.host is not None and not app.host.session.offers_requests:
            # a kiosk without a `requests` config section offers none (docs/requests.md)
            row = self.ids.neighbourhood
            row.remove_widget(next(w for w in row.children if w.tag == "start_requests"))

    def on_touch_down(self, touch: Any) -> bool:
        x = touch.x / max(1, Window.width)
        y = 1.0 - touch.y / max(1, Window.height)
        if self._gesture.feed(x, y, time.monotonic()):
            self.send(i.TechnicianGesture())
            return True
        return bool(super().on_touch_down(touch))

    def speech_text(self) -> str:
        # the title, then every entry offered, in reading order (Kivy keeps children reversed)
        tiles = [*self.ids.neighbourhood.children, *self.ids.entries.children]
        entries = [w.text for w in reversed(tiles)]
        return speech_join([self.strings.text("attract.title"), *entries])


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
