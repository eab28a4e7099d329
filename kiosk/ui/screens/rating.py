"""好差评: five big levels with words, optional reasons for the two lowest, skip always there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder

from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.ui.screens.base import KioskScreen, speech_join
from kiosk.ui.widgets import KTile


class RatingScreen(KioskScreen):
    """Five big levels in words; reasons for the two lowest; skip is always there."""

    state = State.RATING
    _shown: object = None

    def show(self, views: Any) -> None:
        view = views.rating
        key = (view, self.strings)
        if self._shown == key:
            return
        self._shown = key
        levels, reasons = self.ids.levels, self.ids.reasons
        levels.clear_widgets()
        reasons.clear_widgets()
        for level in view.levels:
            button = KTile(text=level.text, tag=f"level_{level.level}", selected=level.selected)
            button.intent = i.SelectLevel
            button.bind(on_release=lambda _w, n=level.level: self.send(i.SelectLevel(n)))
            levels.add_widget(button)
        for reason in view.reasons:
            button = KTile(
                text=reason.text, tag=f"reason_{reason.reason}", selected=reason.selected
            )
            button.intent = i.ToggleReason
            button.bind(on_release=lambda _w, r=reason.reason: self.send(i.ToggleReason(r)))
            reasons.add_widget(button)

    def speech_text(self) -> str:
        keys = ("rating.title", "rating.optional")
        return speech_join(self.strings.text(k) for k in keys)


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
