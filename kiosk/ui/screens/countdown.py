"""The idle countdown: full screen, big remaining seconds, one big 继续办理."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder

from kiosk.core.machine import State
from kiosk.ui.screens.base import KioskScreen, speech_join


class CountdownScreen(KioskScreen):
    """The idle countdown: full screen, big remaining seconds, one big 继续办理."""

    state = State.COUNTDOWN

    def speech_text(self) -> str:
        return speech_join((self.strings.text("countdown.title"), self.views.countdown.message))


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
