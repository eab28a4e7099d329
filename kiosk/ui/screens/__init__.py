"""One Kivy Screen per session state; each screen is one .py plus one .kv of the same name."""

from __future__ import annotations

from kiosk.core.machine import State
from kiosk.ui import graphics, trend, widgets  # noqa: F401 — widget classes the .kv files use
from kiosk.ui.screens.activities import ActivitiesScreen
from kiosk.ui.screens.attract import AttractScreen
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.countdown import CountdownScreen
from kiosk.ui.screens.diagnostics import DiagnosticsScreen
from kiosk.ui.screens.diagnostics_pin import DiagnosticsPinScreen
from kiosk.ui.screens.health_consent import HealthConsentScreen
from kiosk.ui.screens.health_guide import HealthGuideScreen
from kiosk.ui.screens.health_measuring import HealthMeasuringScreen
from kiosk.ui.screens.health_result import HealthResultScreen
from kiosk.ui.screens.identify import IdentifyScreen
from kiosk.ui.screens.points import PointsScreen
from kiosk.ui.screens.rating import RatingScreen
from kiosk.ui.screens.resident_requests import ResidentRequestsScreen
from kiosk.ui.screens.services import ServicesScreen

SCREENS: dict[State, type[KioskScreen]] = {
    State.ATTRACT: AttractScreen,
    State.IDENTIFY: IdentifyScreen,
    State.SERVICES: ServicesScreen,
    State.ACTIVITIES: ActivitiesScreen,
    State.POINTS: PointsScreen,
    State.REQUESTS: ResidentRequestsScreen,
    State.HEALTH_CONSENT: HealthConsentScreen,
    State.HEALTH_GUIDE: HealthGuideScreen,
    State.HEALTH_MEASURING: HealthMeasuringScreen,
    State.HEALTH_RESULT: HealthResultScreen,
    State.RATING: RatingScreen,
    State.COUNTDOWN: CountdownScreen,
    State.DIAGNOSTICS_PIN: DiagnosticsPinScreen,
    State.DIAGNOSTICS: DiagnosticsScreen,
}
