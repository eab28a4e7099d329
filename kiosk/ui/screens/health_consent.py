"""Health consent: the reading is stored and sent under a pseudonym only if the resident agrees."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder

from kiosk.core.machine import State
from kiosk.ui.screens.base import KioskScreen, speech_join


class HealthConsentScreen(KioskScreen):
    """Agree: stored and sent under a pseudonym; decline: measured without any subject."""

    state = State.HEALTH_CONSENT

    def speech_text(self) -> str:
        return speech_join((self.views.health.greeting, self.views.health.consent_text))


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
