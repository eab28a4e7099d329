"""Identify: place the ID card or show a QR code; skip (anonymous) is always offered."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder

from kiosk.core.machine import State
from kiosk.ui.screens.base import KioskScreen, speech_join


class IdentifyScreen(KioskScreen):
    """The prompt, a card problem in plain words, and the masked greeting once identified."""

    state = State.IDENTIFY

    def speech_text(self) -> str:
        view = self.views.identify
        return speech_join((view.prompt, view.problem))


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
