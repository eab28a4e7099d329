"""适老化 audit of a live widget tree: text and target sizes, contrast, line height, clipping.

Run it on a laid-out screen (after a few frames). Font sizes are judged in pixels normalised to
a 1080-line screen; touch targets in dp at the actual window; contrast with the WCAG formula
against the nearest background a widget or its ancestors paint (`bg_color`), else the window's.
Hidden widgets (opacity 0, zero size) are skipped, as are disabled ones for contrast (WCAG
exempts inactive controls; they still must be big enough).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kivy.metrics import Metrics
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label

from kiosk.ui import theme

CLIP_TOLERANCE_PX = 2.0


@dataclass(frozen=True)
class Violation:
    """One failed check on one widget."""

    widget: str  # the widget's tag, or its class under the nearest tagged ancestor
    rule: str  # font_size | target_size | contrast | line_height | clipped
    detail: str


def _visible(widget: Any) -> bool:
    return bool(widget.opacity > 0 and widget.width > 0 and widget.height > 0)


def _walk_visible(widget: Any) -> Iterator[Any]:
    if not _visible(widget):
        return
    yield widget
    for child in reversed(widget.children):
        yield from _walk_visible(child)


def widget_name(widget: Any) -> str:
    """A readable id: `tag`, else `Class in tag-of-ancestor`."""
    tag = getattr(widget, "tag", "")
    if tag:
        return str(tag)
    node = widget.parent
    while node is not None and node is not node.parent:
        if getattr(node, "tag", ""):
            return f"{type(widget).__name__} in {node.tag}"
        if getattr(node, "name", "") and hasattr(node, "manager"):
            return f"{type(widget).__name__} on {node.name}"
        node = node.parent
    return type(widget).__name__


def background_of(widget: Any, window_bg: tuple[float, ...]) -> tuple[float, ...]:
    """The colour behind `widget`: the nearest painted `bg_color`, composited down to the window."""
    layers: list[tuple[float, ...]] = []
    node = widget
    while node is not None and node is not node.parent:
        colour = getattr(node, "bg_color", None)
        if colour is not None and len(colour) == 4 and colour[3] > 0:
            layers.append(tuple(colour))
            if colour[3] >= 1:
                break
        node = node.parent
    result: tuple[float, ...] = tuple(window_bg)
    for layer in reversed(layers):
        result = theme.composite(layer, result)
    return result


def _check_label(label: Any, window_height: float, window_bg: tuple[float, ...]) -> list[Violation]:
    name = widget_name(label)
    found: list[Violation] = []
    role = getattr(label, "role", "body")
    normalised = label.font_size * theme.REFERENCE_HEIGHT_PX / window_height
    if normalised + 0.01 < theme.min_font_px(role):
        detail = f"{normalised:.1f} px at 1080p < {theme.min_font_px(role):.0f} ({role})"
        found.append(Violation(name, "font_size", detail))
    if label.line_height + 1e-6 < theme.MIN_LINE_HEIGHT:
        found.append(Violation(name, "line_height", f"{label.line_height} < 1.3"))
    if not label.disabled:
        foreground = theme.composite(label.color, background_of(label, window_bg))
        ratio = theme.contrast_ratio(foreground, background_of(label, window_bg))
        if ratio + 0.005 < theme.MIN_CONTRAST:
            found.append(Violation(name, "contrast", f"{ratio:.2f}:1 < {theme.MIN_CONTRAST}:1"))
    text_width, text_height = label.texture_size
    if label.text_size[0] is not None and text_height > label.height + CLIP_TOLERANCE_PX:
        found.append(
            Violation(name, "clipped", f"text {text_height:.0f} px > box {label.height:.0f}")
        )
    elif label.text_size[0] is None and text_width > label.width + CLIP_TOLERANCE_PX:
        found.append(
            Violation(name, "clipped", f"text {text_width:.0f} px > box {label.width:.0f}")
        )
    return found


def audit(root: Any, *, window_height: float, window_bg: tuple[float, ...]) -> list[Violation]:
    """Every violation in the visible tree under `root`."""
    found: list[Violation] = []
    density = Metrics.density or 1.0
    for widget in _walk_visible(root):
        if isinstance(widget, Label) and widget.text.strip():
            found += _check_label(widget, window_height, window_bg)
        if isinstance(widget, ButtonBehavior):
            width_dp, height_dp = widget.width / density, widget.height / density
            if min(width_dp, height_dp) + 0.01 < theme.MIN_TARGET_DP:
                detail = f"{width_dp:.0f}×{height_dp:.0f} dp < {theme.MIN_TARGET_DP:.0f} dp"
                found.append(Violation(widget_name(widget), "target_size", detail))
    return found
