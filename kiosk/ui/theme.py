"""The kiosk's look in one place: palettes, type sizes, target sizes and the WCAG contrast formula.

Plain Python (no Kivy) so the numbers can be checked without a window. Sizes are in design
pixels of a 1080-pixel-high screen; the app scales them by `window height / 1080`, by the
resident's text scale (大字) and by Kivy's `Metrics.fontscale`, exactly as `sp` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kiosk.core.i18n import Strings

REFERENCE_HEIGHT_PX = 1080  # the 适老化 numbers below are stated for a 1080p screen

# 适老化 floors (docs/design.md §3, MIIT spec; body ≥28 px and headings ≥40 px at 1080p).
MIN_BODY_PX = 28.0
MIN_HEADING_PX = 40.0
MIN_TARGET_DP = 60.0
MIN_CONTRAST = 7.0  # WCAG AAA for body text; we hold every text to it
MIN_LINE_HEIGHT = 1.3

Role = Literal["small", "body", "button", "heading", "title", "huge", "giant"]
FONT_PX: dict[str, float] = {
    "small": 28.0,
    "body": 32.0,
    "button": 36.0,
    "heading": 44.0,
    "title": 56.0,
    # The three big entries on the attract screen; 80 px with two, 64 since 活动报名 made it
    # three: "Blood pressure" in large text then still fits its tile on two lines.
    "entry": 64.0,
    "huge": 96.0,
    "giant": 220.0,
    "dev": 18.0,  # the developer strip only (never on a resident screen; not audited)
}
HEADING_ROLES = frozenset({"heading", "title", "entry", "huge", "giant"})
TARGET_PX = 104.0  # main touch targets in design pixels: 69 px even on a 720-line window
GAP_PX = 24.0
RGBA = tuple[float, float, float, float]


def hex_rgba(text: str, alpha: float = 1.0) -> RGBA:
    """`#RRGGBB` → an (r, g, b, a) tuple of floats in 0..1."""
    value = text.lstrip("#")
    if len(value) != 6:
        raise ValueError("expected #RRGGBB")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


def rgba_hex(rgba: tuple[float, ...]) -> str:
    """(r, g, b[, a]) floats → `#RRGGBB` (alpha dropped)."""
    return "#" + "".join(f"{round(c * 255):02X}" for c in rgba[:3])


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def relative_luminance(rgba: tuple[float, ...]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour (alpha ignored)."""
    r, g, b = (_linear(c) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def composite(top: tuple[float, ...], below: tuple[float, ...]) -> RGBA:
    """`top` drawn with its alpha over an opaque `below`."""
    alpha = top[3] if len(top) > 3 else 1.0
    r, g, b = (top[i] * alpha + below[i] * (1 - alpha) for i in range(3))
    return (r, g, b, 1.0)


def contrast_ratio(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """WCAG contrast ratio (1..21) between two opaque colours."""
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@dataclass(frozen=True)
class Palette:
    """One theme's colours; every text/background pair used together is ≥ MIN_CONTRAST."""

    name: str
    bg: RGBA  # screen background
    surface: RGBA  # cards and panels
    text: RGBA  # body text on bg and surface
    heading: RGBA  # headings on bg and surface
    primary: RGBA  # main action buttons
    on_primary: RGBA
    secondary: RGBA  # other buttons
    on_secondary: RGBA
    danger: RGBA  # stop / cancel while measuring
    on_danger: RGBA
    notice: RGBA  # a problem to read (card fault, device error) — with an icon, never colour only
    on_notice: RGBA
    border: RGBA  # outlines of buttons and panels (non-text: ≥3:1 is enough)
    selected_border: RGBA

    def text_pairs(self) -> dict[str, tuple[RGBA, RGBA]]:
        """Every (foreground, background) pair the screens draw text with."""
        return {
            "text/bg": (self.text, self.bg),
            "text/surface": (self.text, self.surface),
            "heading/bg": (self.heading, self.bg),
            "heading/surface": (self.heading, self.surface),
            "on_primary/primary": (self.on_primary, self.primary),
            "on_secondary/secondary": (self.on_secondary, self.secondary),
            "on_danger/danger": (self.on_danger, self.danger),
            "on_notice/notice": (self.on_notice, self.notice),
        }


NORMAL = Palette(
    name="normal",
    bg=hex_rgba("#F5F4EF"),
    surface=hex_rgba("#FFFFFF"),
    text=hex_rgba("#1A1A1A"),
    heading=hex_rgba("#0A2A4A"),
    primary=hex_rgba("#0A4170"),
    on_primary=hex_rgba("#FFFFFF"),
    secondary=hex_rgba("#DCE3EA"),
    on_secondary=hex_rgba("#1A1A1A"),
    danger=hex_rgba("#8E1B1B"),
    on_danger=hex_rgba("#FFFFFF"),
    notice=hex_rgba("#FFF1CC"),
    on_notice=hex_rgba("#4A2A00"),
    border=hex_rgba("#5B6B7B"),
    selected_border=hex_rgba("#0A4170"),
)

# Yellow and white on black: the common high-contrast scheme for low vision.
HIGH_CONTRAST = Palette(
    name="high_contrast",
    bg=hex_rgba("#000000"),
    surface=hex_rgba("#000000"),
    text=hex_rgba("#FFFFFF"),
    heading=hex_rgba("#FFFF00"),
    primary=hex_rgba("#FFFF00"),
    on_primary=hex_rgba("#000000"),
    secondary=hex_rgba("#000000"),
    on_secondary=hex_rgba("#FFFFFF"),
    danger=hex_rgba("#FFFFFF"),
    on_danger=hex_rgba("#000000"),
    notice=hex_rgba("#000000"),
    on_notice=hex_rgba("#FFFF00"),
    border=hex_rgba("#FFFF00"),
    selected_border=hex_rgba("#FFFFFF"),
)

# QR codes are always dark on light with a quiet zone, whatever the theme: phones expect that.
QR_DARK = hex_rgba("#000000")
QR_LIGHT = hex_rgba("#FFFFFF")


def palette_for(high_contrast: bool) -> Palette:
    """The palette of the current accessibility mode."""
    return HIGH_CONTRAST if high_contrast else NORMAL


def font_px(role: str, unit: float) -> float:
    """Font size in window pixels for a role; `unit` = window px per design px × text scale."""
    return FONT_PX.get(role, FONT_PX["body"]) * unit


def min_font_px(role: str) -> float:
    """The 适老化 floor for a role at 1080p."""
    return MIN_HEADING_PX if role in HEADING_ROLES else MIN_BODY_PX


Variant = Literal["primary", "secondary", "danger"]


def button_colours(palette: Palette, variant: str, selected: bool) -> tuple[RGBA, RGBA]:
    """(background, text) of a button; a selected toggle looks primary and gets a tick mark."""
    if selected or variant == "primary":
        return palette.primary, palette.on_primary
    if variant == "danger":
        return palette.danger, palette.on_danger
    return palette.secondary, palette.on_secondary


def state_text(label_key: str, on: bool, strings: Strings) -> str:
    """`大字：开` — a toggle's label with its state in words (not colour alone)."""
    label = strings.text(label_key)
    return strings.text("access.on" if on else "access.off", label=label)
