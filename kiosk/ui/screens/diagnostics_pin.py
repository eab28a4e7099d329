"""Technician PIN: a big keypad; the PIN is sent once and never kept; lockout in words."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder

from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.ui.screens.base import KioskScreen


class DiagnosticsPinScreen(KioskScreen):
    """Technician PIN: a big keypad; the PIN is sent once and never kept; lockout in words."""

    state = State.DIAGNOSTICS_PIN

    def submit(self, pin: str) -> None:
        """Send the typed PIN to the session (checked there, never stored)."""
        self.send(i.PinEntered(pin))


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
