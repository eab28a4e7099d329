"""The result: category in words + colour + icon shape, advice, trend; or the error in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder

from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.ui.screens.base import KioskScreen, PrintButton, speech_join


class HealthResultScreen(KioskScreen):
    """The result: category in words + colour + icon shape, advice, trend; or the error in words."""

    state = State.HEALTH_RESULT

    def __init__(self, **kwargs: Any) -> None:
        self._print = PrintButton(
            self, tag="print_slip", label_key="print.bp", intent=i.PrintBpSlip
        )
        super().__init__(**kwargs)

    def show(self, views: Any) -> None:
        self._print.sync(self.ids.footer, views.printing.can_print_bp)
        trend = list(views.health.trend)
        plot = self.ids.trend
        if list(plot.points) != trend:
            plot.points = trend

    def speech_text(self) -> str:
        result = self.views.health.result
        if result is None:
            return ""
        if not result.ok:
            return str(result.error_text)
        values = self.strings.text(
            "health.result.values", systolic=result.systolic, diastolic=result.diastolic
        )
        printing = self.views.printing
        status = printing.text if printing.kind == "bp" else ""
        return speech_join((values, result.category_text, result.advice_text, status))


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
