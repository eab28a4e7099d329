"""What the session takes from the kiosk config (defaults mirror config.model.Ui)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from config.model import KioskConfig
from kiosk.core.inputs import Language


@dataclass(frozen=True)
class SessionSettings:
    """What the session takes from the kiosk config."""

    centre_name: str = ""
    language: Language = "zh"
    idle_timeout_s: float = 60.0
    countdown_s: float = 20.0
    text_scale: float = 1.0
    high_contrast: bool = False
    voice: bool = False
    pseudonym_key_id: str = "1"
    city: str = ""  # identity.city: part of every pseudonym's HMAC input
    has_printer: bool = False  # devices.printer is configured and enabled: print buttons show
    kiosk_id: str = ""  # identity.kiosk: printed on a points voucher (where it was redeemed)

    @classmethod
    def from_config(cls, config: KioskConfig) -> SessionSettings:
        """Settings from a loaded KioskConfig."""
        ui = config.ui
        return cls(
            centre_name=config.identity.centre_name,
            language=ui.language,
            idle_timeout_s=ui.idle_timeout_s,
            countdown_s=ui.countdown_s,
            text_scale=ui.text_scale,
            high_contrast=ui.high_contrast,
            voice=ui.voice,
            pseudonym_key_id=config.privacy.pseudonym_key_id,
            city=config.identity.city,
            has_printer=_printer_enabled(config),
            kiosk_id=config.identity.kiosk,
        )


@dataclass(frozen=True)
class Accessibility:
    """A resident's language and 适老化 modes; back to the configured defaults at every wipe."""

    language: Language
    large_text: bool
    text_scale: float  # every font size times this (above 1.0 only with large text)
    high_contrast: bool
    voice: bool

    @classmethod
    def defaults(cls, settings: SessionSettings) -> Accessibility:
        """What a new resident starts with: the kiosk's configured modes."""
        return cls(
            language=settings.language,
            large_text=settings.text_scale > 1.0,
            text_scale=settings.text_scale,
            high_contrast=settings.high_contrast,
            voice=settings.voice,
        )

    def with_large_text(self, enabled: bool, scale: float) -> Accessibility:
        """Large text on at `scale`, or off at 1.0."""
        return replace(self, large_text=enabled, text_scale=scale if enabled else 1.0)


def _printer_enabled(config: KioskConfig) -> bool:
    printer = config.devices.get("printer")
    return printer is not None and printer.enabled
