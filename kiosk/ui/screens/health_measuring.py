"""Measuring: the live cuff pressure, big, with a gauge; stop is always there."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder

from kiosk.core.machine import State
from kiosk.ui.screens.base import KioskScreen


class HealthMeasuringScreen(KioskScreen):
    """Measuring: the live cuff pressure, big, with a gauge; stop is always there."""

    state = State.HEALTH_MEASURING

    def speech_text(self) -> str:
        return self.strings.text("health.measuring")


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
