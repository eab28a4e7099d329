"""The kiosk's basic widgets: text, buttons and panels that take sizes and colours from the theme.

Sizes and colours are bound in widgets.kv to the app's `font_unit`, `unit` and `palette`, so a
change of text scale or theme restyles every widget live. `tag` names a widget for the audit,
the tests and the screenshot pilot; `bg_color` is what the audit measures text contrast against.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.core.text import Label as CoreLabel
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView

from kiosk.core import inputs as i
from kiosk.ui import (
    graphics,  # noqa: F401 — registers SeverityIcon for the kv rules
    linebreak,
    theme,
)


class KinsokuCoreLabel(CoreLabel):
    """Kivy's core label, with Chinese text broken into lines by 禁则 before Kivy lays it out.

    Only the layout pass sees the broken text (the widget's `text` is untouched); each line then
    fits, so Kivy breaks nothing again. Text without CJK characters goes through unchanged.
    """

    text: str  # Kivy's property (annotation only, for mypy)

    def render(self, real: bool = False) -> Any:
        text = self.text
        width = self._text_size[0]
        if real or width is None or self.options["shorten"] or not linebreak.has_wide(text):
            return super().render(real)
        padding = self.options["padding"]  # left, top, right, bottom
        available = width - padding[0] - padding[2]
        if available <= 0:  # not laid out yet: nothing worth breaking carefully
            return super().render(real)
        extents = self.get_cached_extents()
        self.text = linebreak.kinsoku_wrap(text, available, lambda part: extents(part)[0])
        try:
            return super().render(real)
        finally:
            self.text = text


class KText(Label):
    """Common base of labels and buttons: the kiosk font size for `role`, line height ≥1.3,
    Chinese line breaking (no `，` or `。` at a line start)."""

    role = StringProperty("body")
    tag = StringProperty("")

    def _create_label(self) -> None:
        super()._create_label()
        if type(self._label) is CoreLabel:  # not a markup label
            self._label.__class__ = KinsokuCoreLabel


class KLabel(KText):
    """Text that wraps to its width and is as tall as its lines."""


class KButtonBase(ButtonBehavior, KText):
    """A flat button with a drawn background; `selected` adds a tick mark, never colour only."""

    variant = StringProperty("secondary")
    selected = BooleanProperty(False)
    bg_color = ListProperty([0.0, 0.0, 0.0, 0.0])
    intent = ObjectProperty(None, allownone=True)  # the input type it sends (enabled per table)


class KButton(KButtonBase):
    """A button at least one touch target tall that grows with its wrapped text."""


class KTile(KButtonBase):
    """A button sized by its layout (grid tiles, keyboard keys, the two big entries)."""


class Panel(BoxLayout):
    """A box with a background (and the colour the audit reads for the text inside it)."""

    bg_color = ListProperty([0.0, 0.0, 0.0, 0.0])
    tag = StringProperty("")


class TileGrid(GridLayout):
    """A grid of KTiles of one height: the tallest wrapped text decides (uneven rows read badly)."""

    def add_widget(self, widget: Any, *args: Any, **kwargs: Any) -> None:
        super().add_widget(widget, *args, **kwargs)
        widget.bind(texture_size=self.fit)
        self.fit()

    def fit(self, *_args: Any) -> None:
        """Set the row height from the tallest tile text (at least one touch target)."""
        unit = _app().unit
        tallest = max((c.texture_size[1] for c in self.children), default=0)
        self.row_default_height = max(unit * theme.TARGET_PX, tallest + unit * 28)


class NoticeLabel(KText):
    """Text on the notice background (a problem the resident should read)."""


class Notice(Panel):
    """A problem in plain words with a warning mark; collapses when `text` is empty. `icon`
    'bp_normal' (a tick in a circle) marks good news instead, '' no mark (still in progress)."""

    text = StringProperty("")
    icon = StringProperty("warning")


class VScroll(ScrollView):
    """A vertical scroll area with a scroll bar wide enough to see."""


class AccessActions:
    """What the accessibility buttons do: each sends one input (the session keeps the state)."""

    def toggle_language(self) -> None:
        """Switch between Chinese and English."""
        views = _app().views
        target: i.Language = "en" if views.accessibility.language == "zh" else "zh"
        _app().send(i.SetLanguage(target))

    def toggle_large_text(self) -> None:
        """Large text on/off (sizes change live)."""
        _app().send(i.SetLargeText(not _app().views.accessibility.large_text))

    def toggle_contrast(self) -> None:
        """High-contrast theme on/off."""
        _app().send(i.SetHighContrast(not _app().views.accessibility.high_contrast))

    def toggle_voice(self) -> None:
        """Voice mode on/off; turning it on reads the page at once."""
        _app().send(i.SetVoice(not _app().views.accessibility.voice))

    def speak(self) -> None:
        """Read the current page aloud now."""
        _app().speak_current()


class AccessBar(AccessActions, BoxLayout):
    """朗读, 大字 and 中文/English on one row (top right of resident screens)."""


class AttractAccessBar(AccessActions, GridLayout):
    """All toggles on the attract screen: also 语音 (voice mode) and high contrast."""


def _app() -> App:
    return App.get_running_app()


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
