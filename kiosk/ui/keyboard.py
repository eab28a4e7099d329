"""On-screen input: a large-key A–Z + digits keyboard for catalogue search, and a PIN keypad.

The kiosk has no physical keyboard. Letters are in alphabetical order (many elderly residents do
not know QWERTY) and typed lower case, which suits pinyin initials such as `ylbx`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

KEY_ROWS = ("1234567890", "ABCDEFGHIJ", "KLMNOPQRST", "UVWXYZ")
CONTROL_KEYS = (("backspace", "keyboard.backspace"), ("clear", "keyboard.clear"))
PIN_ROWS = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("clear", "0", "ok"))
MAX_PIN_DIGITS = 12


class OnScreenKeyboard(BoxLayout):
    """Types into `text`; dispatches `on_done` when the resident hides it."""

    text = StringProperty("")
    tag = StringProperty("")
    max_chars = NumericProperty(32)
    __events__ = ("on_done",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._controls: dict[str, Any] = {}
        for row_keys in KEY_ROWS:
            row = Factory.KeyRow()
            for char in row_keys:
                key = Factory.KeyTile(text=char, tag=f"key_{char}")
                key.bind(on_release=lambda _w, c=char: self.press(c.lower()))
                row.add_widget(key)
            self.add_widget(row)
        last = self.children[0]
        for action, _key in (*CONTROL_KEYS, ("done", "keyboard.done")):
            key = Factory.KeyTile(tag=f"key_{action}", size_hint_x=4 / 3, variant="primary")
            key.bind(on_release=lambda _w, a=action: self.press_control(a))
            last.add_widget(key)
            self._controls[action] = key
        app = App.get_running_app()
        app.bind(strings=self._relabel)
        self._relabel()

    def _relabel(self, *_args: Any) -> None:
        strings = App.get_running_app().strings
        for action, key in (*CONTROL_KEYS, ("done", "keyboard.done")):
            self._controls[action].text = strings.text(key)

    def press(self, char: str) -> None:
        """Type one character."""
        if len(self.text) < self.max_chars:
            self.text += char

    def press_control(self, action: str) -> None:
        """Backspace, clear, or done."""
        if action == "backspace":
            self.text = self.text[:-1]
        elif action == "clear":
            self.text = ""
        else:
            self.dispatch("on_done")

    def on_done(self) -> None:
        """Default handler: nothing."""


class PinPad(BoxLayout):
    """A big numeric keypad; `digits` is shown only as dots and sent with `on_submit`."""

    digits = StringProperty("")
    tag = StringProperty("")
    __events__ = ("on_submit",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._controls: dict[str, Any] = {}
        for row_keys in PIN_ROWS:
            row = Factory.PinRow()
            for key_name in row_keys:
                variant = "primary" if key_name == "ok" else "secondary"
                key = Factory.PinTile(text=key_name, tag=f"pin_{key_name}", variant=variant)
                key.bind(on_release=lambda _w, k=key_name: self.press(k))
                row.add_widget(key)
                if not key_name.isdigit():
                    self._controls[key_name] = key
            self.add_widget(row)
        App.get_running_app().bind(strings=self._relabel)
        self._relabel()

    def _relabel(self, *_args: Any) -> None:
        strings = App.get_running_app().strings
        self._controls["clear"].text = strings.text("diagnostics.pin.clear")
        self._controls["ok"].text = strings.text("diagnostics.pin.ok")

    def press(self, key: str) -> None:
        """A digit, clear, or ok (submits and forgets the digits)."""
        if key == "clear":
            self.digits = ""
        elif key == "ok":
            pin, self.digits = self.digits, ""
            if pin:
                self.dispatch("on_submit", pin)
        elif len(self.digits) < MAX_PIN_DIGITS:
            self.digits += key

    def on_submit(self, pin: str) -> None:
        """Default handler: nothing."""


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
