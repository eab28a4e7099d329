"""A resident's accessibility modes are one frozen value, reset to the configured defaults."""

from __future__ import annotations

import dataclasses

import pytest

from kiosk.core import inputs as i
from kiosk.core.settings import Accessibility, SessionSettings
from kiosk.core.views import AccessibilityView
from tests.kiosk_core.support import make_rig


def test_defaults_follow_the_configured_settings() -> None:
    """Configured text scale above 1 means large text; language, contrast and voice carry over."""
    settings = SessionSettings(language="en", text_scale=1.5, high_contrast=True, voice=True)
    assert Accessibility.defaults(settings) == Accessibility("en", True, 1.5, True, True)


def test_the_value_is_frozen() -> None:
    """Nobody changes a resident's modes in place: a new value replaces the old."""
    value = Accessibility.defaults(SessionSettings())
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.voice = True  # type: ignore[misc]  # the point: frozen


def test_large_text_toggles_scale_and_a_wipe_restores_defaults() -> None:
    """Large text on scales to at least 1.4, off returns to 1.0; a wipe resets every mode."""
    rig = make_rig()
    rig.send(i.StartServices(), i.SetLargeText(True), i.SetLanguage("en"), i.SetVoice(True))
    view = rig.session.views.accessibility
    assert (view.large_text, view.text_scale, view.language, view.voice) == (True, 1.4, "en", True)
    rig.send(i.SetLargeText(False))
    assert rig.session.views.accessibility.text_scale == 1.0
    rig.send(i.Wipe("kiosk_restart"))
    assert rig.session.views.accessibility == AccessibilityView("zh", False, 1.0, False, False)
