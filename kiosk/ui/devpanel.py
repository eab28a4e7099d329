"""Development only (`ui.show_dev_panel`): drive the simulated devices from a slim strip or F-keys.

Insert each card type, remove the card, show a QR code, pick the BP meter's scenario. Never part
of a production screen; the accessibility audit covers the resident screens, not this strip.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.uix.boxlayout import BoxLayout

log = logging.getLogger(__name__)

DEV_QR_TEXT = "https://service.example/dev/qr-token-0001"
# (label key, simulator kind, control command), in F1…F12 order
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("dev.card.resident", "idcard", "insert resident"),
    ("dev.card.hkmotw_permit", "idcard", "insert hkmotw_permit"),
    ("dev.card.foreign_pr_2017", "idcard", "insert foreign_pr_2017"),
    ("dev.card.foreign_pr_2023", "idcard", "insert foreign_pr_2023"),
    ("dev.card.remove", "idcard", "remove"),
    ("dev.qr", "qrscan", f"present {DEV_QR_TEXT}"),
    ("dev.bp.normal", "bp", "scenario normal"),
    ("dev.bp.high_normal", "bp", "scenario high_normal"),
    ("dev.bp.hypertensive", "bp", "scenario hypertensive"),
    ("dev.bp.isolated_systolic", "bp", "scenario isolated_systolic"),
    ("dev.bp.cuff_error", "bp", "scenario cuff_error"),
    ("dev.bp.movement", "bp", "scenario movement"),
)
F1_KEYCODE = 282  # SDL keycodes of F1…F12 are consecutive


def run_action(index: int) -> None:
    """Send one dev action's control command to its simulator (logged, never the payload)."""
    _key, kind, command = ACTIONS[index]
    simulator = App.get_running_app().host.hub.simulator(kind)
    if simulator is None:
        log.warning("dev panel: no simulated %s", kind)
        return
    try:
        simulator.control(command)
    except (ValueError, OSError) as exc:
        log.warning("dev panel: %s refused: %s", kind, type(exc).__name__)
        return
    log.info("dev panel: %s %s", kind, command.split(" ", 1)[0])


class DevPanel(BoxLayout):
    """One small button per action; F1…F12 do the same."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._buttons = []
        for index, (_key, _kind, _command) in enumerate(ACTIONS):
            button = Factory.DevButton(tag=f"dev_{index}")
            button.bind(on_release=lambda _w, n=index: run_action(n))
            self.add_widget(button)
            self._buttons.append(button)
        App.get_running_app().bind(strings=self._relabel)
        self._relabel()
        Window.bind(on_key_down=self._on_key_down)

    def _relabel(self, *_args: Any) -> None:
        strings = App.get_running_app().strings
        for button, (key, _kind, _command) in zip(self._buttons, ACTIONS, strict=True):
            button.text = strings.text(key)

    def _on_key_down(self, _window: Any, keycode: int, *_args: Any) -> bool:
        index = keycode - F1_KEYCODE
        if 0 <= index < len(ACTIONS):
            run_action(index)
            return True
        return False


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
