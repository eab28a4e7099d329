"""Pictures drawn with canvas instructions: severity icons, the cuff gauge, the how-to-sit guide,
QR codes (segno → one texture) and the small camera preview. No image files are shipped.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import segno
from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import Color, Ellipse, Line, Mesh, Rectangle, RoundedRectangle
from kivy.graphics.texture import Texture
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from kiosk.ui import theme

QR_BORDER_MODULES = 4  # the quiet zone QR readers need
PREVIEW_MAX_FPS = 5.0  # docs/design.md §2.5: a live preview costs a core with software GL
PREVIEW_WIDTH_PX = 320
GAUGE_MAX_MMHG = 300
# Icon shape per severity: colour is never the only signal, the outline differs too.
ICON_SIDES = {"bp_normal": 0, "bp_high_normal": 4, "bp_grade_1": 3, "bp_grade_2": 6, "warning": 3}
ICON_DEFAULT_SIDES = 8  # grade 3: an octagon, like a stop sign
WHITE = (1.0, 1.0, 1.0, 1.0)
MIN_PICTURE_PX = 60  # below this the identify picture is left out (a notice took the room)
# The identify picture's stylised code: three finder squares and some modules, 11 × 11.
PICTURE_CODE = (
    "11111011111",
    "10001010001",
    "10101110101",
    "10001010001",
    "11111011111",
    "00000101100",
    "11111010110",
    "10001101001",
    "10101011010",
    "10001100101",
    "11111010011",
)
PICTURE_CODE_MODULES = len(PICTURE_CODE)


def _polygon(cx: float, cy: float, r: float, sides: int, turn: float) -> list[float]:
    """Vertices of a regular polygon for a triangle-fan Mesh (centre first, then closed)."""
    vertices = [cx, cy, 0.0, 0.0]
    for k in range(sides + 1):
        angle = turn + 2 * math.pi * k / sides
        vertices += [cx + r * math.cos(angle), cy + r * math.sin(angle), 0.0, 0.0]
    return vertices


class SeverityIcon(Widget):
    """A filled shape in the category colour with a white mark: ✓ for normal, ! otherwise."""

    icon = StringProperty("")
    colour = StringProperty("#000000")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, icon=self._draw, colour=self._draw)

    def _draw(self, *_args: Any) -> None:
        self.canvas.clear()
        if not self.icon:
            return
        cx, cy = self.center
        r = min(self.width, self.height) / 2
        sides = ICON_SIDES.get(self.icon, ICON_DEFAULT_SIDES)
        with self.canvas:
            Color(*theme.hex_rgba(self.colour))
            if sides == 0:
                Ellipse(pos=(cx - r, cy - r), size=(2 * r, 2 * r))
            else:
                turn = math.pi / 2 if sides % 2 else math.pi / sides
                verts = _polygon(cx, cy, r, sides, turn)
                Mesh(vertices=verts, indices=list(range(len(verts) // 4)), mode="triangle_fan")
            Color(*WHITE)
            stroke = max(2.0, r * 0.12)
            if self.icon == "bp_normal":
                Line(
                    points=[
                        cx - r * 0.45,
                        cy,
                        cx - r * 0.1,
                        cy - r * 0.35,
                        cx + r * 0.5,
                        cy + r * 0.35,
                    ],
                    width=stroke,
                )
            else:
                top = cy + r * (0.25 if sides == 3 else 0.45)
                Line(points=[cx, top, cx, cy - r * 0.15], width=stroke)
                Ellipse(pos=(cx - stroke, cy - r * 0.45 - stroke), size=(2 * stroke, 2 * stroke))


class Gauge(Widget):
    """A 270° arc showing the cuff pressure (the number beside it carries the value)."""

    value = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, value=self._draw)
        App.get_running_app().bind(palette=self._draw)

    def _draw(self, *_args: Any) -> None:
        palette = App.get_running_app().palette
        cx, cy = self.center
        r = min(self.width, self.height) / 2 * 0.9
        share = max(0.0, min(1.0, self.value / GAUGE_MAX_MMHG))
        width = max(3.0, r * 0.1)
        self.canvas.clear()
        with self.canvas:
            Color(*palette.border)
            Line(circle=(cx, cy, r, -135, 135), width=width / 3)
            Color(*palette.primary)
            if share > 0:
                Line(circle=(cx, cy, r, -135, -135 + 270 * share), width=width)
            angle = math.radians(90 + 135 - 270 * share)
            Color(*palette.text)
            Line(
                points=[cx, cy, cx + r * 0.8 * math.cos(angle), cy + r * 0.8 * math.sin(angle)],
                width=width / 3,
            )
            Ellipse(pos=(cx - width, cy - width), size=(2 * width, 2 * width))


class CuffGuide(Widget):
    """How to sit: back against the chair, feet flat, forearm on the table at heart height,
    the cuff on the bare upper arm (highlighted)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw)
        App.get_running_app().bind(palette=self._draw)

    def _draw(self, *_args: Any) -> None:
        palette = App.get_running_app().palette
        s = min(self.width / 1.2, self.height)  # the drawing is 1.2 s wide and s high
        x0 = self.center_x - 0.6 * s
        y0 = self.center_y - 0.5 * s

        def p(x: float, y: float) -> tuple[float, float]:
            return (x0 + x * s, y0 + y * s)

        line = max(2.0, s * 0.018)
        self.canvas.clear()
        with self.canvas:
            Color(*palette.surface)
            RoundedRectangle(pos=self.pos, size=self.size, radius=[s * 0.03])
            Color(*palette.border)
            Line(points=[*p(0.05, 0.05), *p(1.15, 0.05)], width=line)  # floor
            Line(
                points=[*p(0.18, 0.05), *p(0.18, 0.40), *p(0.48, 0.40), *p(0.48, 0.05)], width=line
            )  # chair seat and legs
            Line(points=[*p(0.18, 0.40), *p(0.16, 0.85)], width=line)  # chair back
            Line(points=[*p(0.62, 0.52), *p(1.12, 0.52)], width=line * 1.6)  # table top
            Line(points=[*p(0.70, 0.52), *p(0.70, 0.05)], width=line)
            Line(points=[*p(1.05, 0.52), *p(1.05, 0.05)], width=line)
            Color(*palette.text)
            Ellipse(pos=p(0.17, 0.80), size=(0.16 * s, 0.16 * s))  # head
            Line(points=[*p(0.25, 0.79), *p(0.23, 0.44)], width=line * 2.2)  # back upright
            Line(
                points=[*p(0.23, 0.44), *p(0.50, 0.44), *p(0.52, 0.07), *p(0.62, 0.07)],
                width=line * 2,
            )  # thigh, shin, foot flat on the floor
            Line(points=[*p(0.25, 0.74), *p(0.34, 0.56)], width=line * 2)  # upper arm
            Line(points=[*p(0.34, 0.56), *p(0.80, 0.56)], width=line * 2)  # forearm on the table
            Color(*palette.primary)
            Line(points=[*p(0.268, 0.70), *p(0.318, 0.60)], width=line * 5)  # the cuff


class IdentifyPicture(Widget):
    """Two ways to identify, side by side: an ID card laid on the reader, and a phone showing a
    QR code in a viewfinder. A stylised code, not a real one: nothing here can be scanned."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw)
        App.get_running_app().bind(palette=self._draw)

    def _draw(self, *_args: Any) -> None:
        palette = App.get_running_app().palette
        s = min(self.width / 2.4, self.height)  # the drawing is 2.4 s wide and s high
        self.canvas.clear()
        if s < MIN_PICTURE_PX:
            return
        x0 = self.center_x - 1.2 * s
        y0 = self.center_y - 0.5 * s

        def p(x: float, y: float) -> tuple[float, float]:
            return (x0 + x * s, y0 + y * s)

        def box(x: float, y: float, w: float, h: float) -> dict[str, Any]:
            return {"pos": p(x, y), "size": (w * s, h * s)}

        line = max(2.0, s * 0.02)
        with self.canvas:
            Color(*palette.border)
            RoundedRectangle(**box(0.05, 0.06, 1.0, 0.26), radius=[s * 0.05])  # the reader
            Line(points=[*p(0.10, 0.46), *p(0.10, 0.80)], width=line)  # down onto the reader
            Line(points=[*p(0.04, 0.54), *p(0.10, 0.44), *p(0.16, 0.54)], width=line)
            Color(*palette.surface)
            for r in (0.07, 0.12):  # contactless waves on the reader's face
                Line(circle=(*p(0.55, 0.12), r * s, -50, 50), width=line * 0.8)
            Color(*palette.primary)
            RoundedRectangle(**box(0.20, 0.36, 0.80, 0.50), radius=[s * 0.05])  # the card
            Color(*palette.on_primary)
            RoundedRectangle(**box(0.74, 0.46, 0.19, 0.30), radius=[s * 0.02])  # its photo
            for y, length in ((0.75, 0.40), (0.64, 0.34), (0.53, 0.40), (0.44, 0.26)):
                Line(points=[*p(0.28, y), *p(0.28 + length, y)], width=line * 0.8)
            Color(*palette.border)
            Line(points=[*p(1.22, 0.12), *p(1.22, 0.88)], width=line * 0.5)  # "or"
            Color(*palette.text)
            Line(rounded_rectangle=(*p(1.62, 0.04), 0.52 * s, 0.92 * s, s * 0.07), width=line)
            Line(points=[*p(1.83, 0.88), *p(1.93, 0.88)], width=line)  # the phone's speaker
            self._code(p, s, palette)

    def _code(self, p: Any, s: float, palette: Any) -> None:
        module = 0.36 * s / PICTURE_CODE_MODULES
        ox, oy = p(1.70, 0.30)
        Color(*theme.QR_LIGHT)  # codes are dark on light in every theme, as on a real phone
        Rectangle(pos=(ox - module, oy - module), size=(0.36 * s + 2 * module,) * 2)
        Color(*theme.QR_DARK)
        for row, bits in enumerate(PICTURE_CODE):
            for col, bit in enumerate(bits):
                if bit == "1":
                    y = oy + (PICTURE_CODE_MODULES - 1 - row) * module
                    Rectangle(pos=(ox + col * module, y), size=(module, module))
        Color(*palette.primary)  # viewfinder corners around the code
        reach, pad = 0.09 * s, 0.05 * s  # outside the light square: visible in every theme
        left, bottom = ox - pad, oy - pad
        right, top = ox + 0.36 * s + pad, oy + 0.36 * s + pad
        width = max(2.0, s * 0.018)
        for cx, cy, dx, dy in ((left, bottom, 1, 1), (left, top, 1, -1)):
            Line(points=[cx, cy + dy * reach, cx, cy, cx + dx * reach, cy], width=width)
        for cx, cy, dx, dy in ((right, bottom, -1, 1), (right, top, -1, -1)):
            Line(points=[cx, cy + dy * reach, cx, cy, cx + dx * reach, cy], width=width)


def qr_texture(data: str) -> Texture:
    """A QR code of `data` as one RGBA texture, dark on light with its quiet zone."""
    code = segno.make(data, error="m", micro=False)
    modules = np.array(list(code.matrix_iter(scale=1, border=QR_BORDER_MODULES)), dtype=bool)
    dark = np.array([round(c * 255) for c in theme.QR_DARK], dtype=np.uint8)
    light = np.array([round(c * 255) for c in theme.QR_LIGHT], dtype=np.uint8)
    pixels = np.where(modules[::-1, :, None], dark, light)  # GL rows run bottom-up
    texture = Texture.create(size=(modules.shape[1], modules.shape[0]), colorfmt="rgba")
    texture.blit_buffer(pixels.reshape(-1).tobytes(), colorfmt="rgba", bufferfmt="ubyte")
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    return texture


class CameraPreview(Image):
    """The technician's live camera view: one texture, refreshed at most PREVIEW_MAX_FPS."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._event: Any = None

    def start(self) -> None:
        """Begin refreshing from the hub's camera (if one runs)."""
        if self._event is None:
            self._event = Clock.schedule_interval(self._refresh, 1.0 / PREVIEW_MAX_FPS)

    def stop(self) -> None:
        """Stop refreshing (leaving diagnostics)."""
        if self._event is not None:
            self._event.cancel()
            self._event = None
        self.texture = None

    def _refresh(self, _dt: float) -> None:
        camera = App.get_running_app().host.hub.camera
        frame = None if camera is None else camera.preview(PREVIEW_WIDTH_PX)
        if frame is None:
            return
        height, width = frame.shape[:2]
        texture = self.texture
        if texture is None or tuple(texture.size) != (width, height):
            texture = Texture.create(size=(width, height), colorfmt="bgr")
            texture.flip_vertical()
        texture.blit_buffer(frame.reshape(-1), colorfmt="bgr", bufferfmt="ubyte")
        self.texture = texture
        self.canvas.ask_update()


class Swatch(Widget):
    """A small marker used in legends: a filled circle or square in a palette colour."""

    shape = StringProperty("circle")
    colour_name = StringProperty("primary")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, shape=self._draw)
        App.get_running_app().bind(palette=self._draw)

    def _draw(self, *_args: Any) -> None:
        colour = getattr(App.get_running_app().palette, self.colour_name)
        side = min(self.width, self.height) * 0.6
        pos = (self.center_x - side / 2, self.center_y - side / 2)
        self.canvas.clear()
        with self.canvas:
            Color(*colour)
            if self.shape == "circle":
                Ellipse(pos=pos, size=(side, side))
            else:
                Rectangle(pos=pos, size=(side, side))
