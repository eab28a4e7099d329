"""What every screen shares: its view-models, sending touches as inputs, read-aloud text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from kivy.app import App
from kivy.properties import ListProperty, ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.core import inputs as i
from kiosk.core.i18n import Strings
from kiosk.core.machine import State, offered
from kiosk.ui.widgets import KButton, KButtonBase


class KioskScreen(Screen):
    """One screen per session state; `views` is set by the app before the screen is shown."""

    state: ClassVar[State]
    views = ObjectProperty(None, allownone=True, rebind=True)  # kv reads `root.views.x.y`
    bg_color = ListProperty([0.0, 0.0, 0.0, 1.0])

    def __init__(self, **kwargs: Any) -> None:
        self._built = False
        super().__init__(**kwargs)
        self._built = True
        if self.views is not None:
            self.show(self.views)

    def on_views(self, _screen: Any, views: Any) -> None:
        """Redraw the parts kv rules cannot bind (lists built in Python)."""
        if self._built and views is not None:
            self.show(views)

    def show(self, views: Any) -> None:
        """Override to rebuild dynamic content; kv rules handle the rest."""

    def send(self, event: i.Input) -> None:
        """Forward a touch to the session (the only thing a screen does with a touch)."""
        App.get_running_app().send(event)

    def on_pre_enter(self, *_args: Any) -> None:
        """Enable exactly the buttons whose input the session offers in this state."""
        allowed = offered(self.state)
        for widget in self.walk(restrict=True):
            if isinstance(widget, KButtonBase) and widget.intent is not None:
                widget.disabled = widget.intent not in allowed

    @property
    def strings(self) -> Strings:
        """The string catalogue of the current language."""
        strings: Strings = App.get_running_app().strings
        return strings

    def speech_text(self) -> str:
        """The main text of the screen, read aloud in voice mode."""
        return ""


def speech_join(parts: Iterable[str]) -> str:
    """Join texts to read aloud; a blank line makes espeak pause between them."""
    return "\n\n".join(p for p in parts if p)


class PrintButton:
    """A print button that sits in a footer only while the session offers it (a button that is
    not there cannot be pressed by mistake, nor read by the audit at zero size)."""

    def __init__(self, screen: KioskScreen, *, tag: str, label_key: str, intent: type) -> None:
        self._screen = screen
        self._label_key = label_key
        self.button = KButton(tag=tag)
        self.button.intent = intent
        self.button.bind(on_release=lambda _w: screen.send(intent()))

    def sync(self, footer: Any, offered: bool) -> None:
        """Put the button in `footer` (first, left) when `offered`, take it out otherwise."""
        self.button.text = self._screen.strings.text(self._label_key)
        parent = self.button.parent  # `footer` may be a kv id's weak proxy: compare parents
        if offered and parent is None:
            footer.add_widget(self.button, index=len(footer.children))
        elif not offered and parent is not None:
            parent.remove_widget(self.button)
