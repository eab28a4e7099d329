"""The trend plot of a consenting resident's recent readings: axes, grid, two marked lines.

Systolic is drawn with circles and diastolic with squares (shape, not colour alone); tick and
date labels are real KLabels so the accessibility audit checks their size and contrast.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.graphics import Color, Ellipse, Line, Rectangle
from kivy.properties import ListProperty
from kivy.uix.floatlayout import FloatLayout

from kiosk.core.views import TrendPoint
from kiosk.ui.widgets import KLabel

Y_STEP_MMHG = 20
Y_FLOOR_MMHG = 60
Y_CEILING_MMHG = 180
MAX_DATE_LABELS = 4
REFERENCE_SYSTOLIC_MMHG = 140  # grade 1 starts here (2018 guideline)


def y_range(points: list[TrendPoint]) -> tuple[int, int]:
    """Axis range in whole steps covering every reading and at least 60–180 mmHg."""
    low = min([Y_FLOOR_MMHG, *(p.diastolic for p in points)])
    high = max([Y_CEILING_MMHG, *(p.systolic for p in points)])
    return (low // Y_STEP_MMHG) * Y_STEP_MMHG, -(-high // Y_STEP_MMHG) * Y_STEP_MMHG


def date_label_indexes(count: int) -> list[int]:
    """Which points get a date label: first, last and evenly spread, at most MAX_DATE_LABELS."""
    if count <= MAX_DATE_LABELS:
        return list(range(count))
    step = (count - 1) / (MAX_DATE_LABELS - 1)
    return sorted({round(k * step) for k in range(MAX_DATE_LABELS)})


class TrendPlot(FloatLayout):
    """Draws `points` (oldest first) inside its box."""

    points = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        self.bind(pos=self._draw, size=self._draw, points=self._draw)
        app.bind(palette=self._draw, font_unit=self._draw)

    def _label(self, text: str, x: float, y: float, align: str) -> None:
        label = KLabel(text=text, role="small", size_hint=(None, None), halign=align)
        label.text_size = (None, None)  # measure the natural width: tick labels never wrap
        label.texture_update()
        label.size = label.texture_size
        if align == "right":
            label.pos = (x - label.width, y - label.height / 2)
        else:
            label.pos = (x - label.width / 2, y - label.height)
        self.add_widget(label)

    def _draw(self, *_args: Any) -> None:
        self.clear_widgets()
        self.canvas.before.clear()
        points: list[TrendPoint] = list(self.points)
        if not points:
            return
        app = App.get_running_app()
        palette, unit = app.palette, app.unit
        label_px = app.fs("small", app.font_unit)
        left = self.x + label_px * 3.2
        bottom = self.y + label_px * 1.8
        right, top = self.right - unit * 24, self.top - label_px * 0.8
        low, high = y_range(points)

        def ys(mmhg: float) -> float:
            return float(bottom + (mmhg - low) / (high - low) * (top - bottom))

        gap = (right - left) / max(1, len(points) - 1) if len(points) > 1 else 0
        xs = [left + gap * k if len(points) > 1 else (left + right) / 2 for k in range(len(points))]
        line = max(1.5, unit * 3)
        marker = max(6.0, unit * 18)
        with self.canvas.before:
            Color(*palette.surface)
            Rectangle(pos=self.pos, size=self.size)
            Color(*palette.border)
            for mmhg in range(low, high + 1, Y_STEP_MMHG):
                Line(points=[left, ys(mmhg), right, ys(mmhg)], width=1)
            Line(points=[left, top, left, bottom, right, bottom], width=line)
            Line(
                points=[left, ys(REFERENCE_SYSTOLIC_MMHG), right, ys(REFERENCE_SYSTOLIC_MMHG)],
                dash_length=8,
                dash_offset=6,
                width=1,
            )
            for series, colour, shape in (
                ([p.systolic for p in points], palette.primary, "circle"),
                ([p.diastolic for p in points], palette.text, "square"),
            ):
                Color(*colour)
                coords = [c for x, v in zip(xs, series, strict=True) for c in (x, ys(v))]
                if len(points) > 1:
                    Line(points=coords, width=line)
                for x, v in zip(xs, series, strict=True):
                    pos = (x - marker / 2, ys(v) - marker / 2)
                    if shape == "circle":
                        Ellipse(pos=pos, size=(marker, marker))
                    else:
                        Rectangle(pos=pos, size=(marker, marker))
        for mmhg in range(low, high + 1, Y_STEP_MMHG * 2):
            self._label(str(mmhg), left - unit * 12, ys(mmhg), "right")
        for k in date_label_indexes(len(points)):
            self._label(points[k].date_text, xs[k], bottom - unit * 6, "center")
