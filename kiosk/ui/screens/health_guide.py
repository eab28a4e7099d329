"""How to sit and place the cuff (a drawn picture), then 开始测量."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder

from kiosk.core.machine import State
from kiosk.ui.screens.base import KioskScreen, speech_join


class HealthGuideScreen(KioskScreen):
    """How to sit and place the cuff (a drawn picture), then 开始测量."""

    state = State.HEALTH_GUIDE

    def speech_text(self) -> str:
        return speech_join(
            (self.strings.text("health.guide.title"), self.strings.text("health.guide.steps"))
        )


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
