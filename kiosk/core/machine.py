"""The session state machine as data: `TABLE[(state, input type)] = (action, next state)`.

After h11: every (state, input type) pair is either in the table or invalid. Device and system
inputs are in the table for every state (as the `ignore` action where they mean nothing, a
documented no-op: a card laid on the reader during the rating is not an error); a touch that
the current screen does not offer raises InvalidTransition. `next` is None where the action
decides (e.g. after a card read the next screen depends on the chosen flow).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import NamedTuple

from kiosk.core import inputs as i


class State(Enum):
    """Which screen the kiosk shows."""

    ATTRACT = "attract"
    IDENTIFY = "identify"
    SERVICES = "services"
    HEALTH_CONSENT = "health_consent"
    HEALTH_GUIDE = "health_guide"
    HEALTH_MEASURING = "health_measuring"
    HEALTH_RESULT = "health_result"
    ACTIVITIES = "activities"
    POINTS = "points"
    REQUESTS = "requests"
    RATING = "rating"
    COUNTDOWN = "countdown"
    DIAGNOSTICS_PIN = "diagnostics_pin"
    DIAGNOSTICS = "diagnostics"


class Command(Enum):
    """Work the core asks its host (the UI process) to do after a step."""

    START_BP = "start_bp"  # start a measurement on the meter
    ABORT_BP = "abort_bp"  # abort the running measurement (deflate)
    SELF_TEST_IDCARD = "self_test_idcard"
    SELF_TEST_BP = "self_test_bp"  # the meter's status only: no measurement
    SELF_TEST_BP_MEASURE = "self_test_bp_measure"  # status and one measurement, on request
    SELF_TEST_QRSCAN = "self_test_qrscan"
    SELF_TEST_CAMERA = "self_test_camera"
    SELF_TEST_PRINTER = "self_test_printer"  # the printer's status bytes only: no paper used
    PRINT = "print"  # print `Session.take_print_job()`; a PrintFinished input comes back
    POINTS = "points"  # run `Session.take_points_call()` off the UI thread; PointsAnswered back
    # ask the city `requests.status` for `Session.take_status_call()`, off the UI thread; a
    # RequestStatusAnswered input comes back (docs/requests.md)
    CALL_REQUEST_STATUS = "call_request_status"


class KioskInputError(Exception):
    """Root of the core's input errors; messages never contain input values."""


class InvalidTransition(KioskInputError):
    """The input is not offered in this state (a UI bug: the screen showed a dead button)."""

    def __init__(self, state: State, input_type: type) -> None:
        super().__init__(f"{input_type.__name__} is not valid in state {state.name}")
        self.state = state
        self.input_type = input_type


class InvalidInput(KioskInputError):
    """The input is offered here but its value is not acceptable (e.g. rating level 7)."""


class Transition(NamedTuple):
    """One table entry."""

    action: str
    next: State | None


# Screens where a resident may be present and idle; measuring is exempt (the resident is sitting
# still on purpose), as are the attract screen and the countdown itself.
IDLE_STATES = frozenset(
    {
        State.IDENTIFY,
        State.SERVICES,
        State.ACTIVITIES,
        State.POINTS,
        State.REQUESTS,
        State.HEALTH_CONSENT,
        State.HEALTH_GUIDE,
        State.HEALTH_RESULT,
        State.RATING,
        State.DIAGNOSTICS_PIN,
        State.DIAGNOSTICS,
    }
)
RESIDENT_STATES = frozenset(State) - {State.DIAGNOSTICS_PIN, State.DIAGNOSTICS, State.COUNTDOWN}
ACCESSIBILITY_TYPES: tuple[type, ...] = (
    i.SetLanguage,
    i.SetLargeText,
    i.SetVoice,
    i.SetHighContrast,
)

_SPECIFIC: dict[tuple[State, type], Transition] = {
    (State.ATTRACT, i.StartServices): Transition("start_services", State.IDENTIFY),
    (State.ATTRACT, i.StartHealth): Transition("start_health", State.IDENTIFY),
    (State.ATTRACT, i.StartActivities): Transition("start_activities", State.IDENTIFY),
    (State.ATTRACT, i.StartPoints): Transition("start_points", State.IDENTIFY),
    (State.ATTRACT, i.StartRequests): Transition("start_requests", State.IDENTIFY),
    (State.ATTRACT, i.CardIdentity): Transition("identify_card", State.SERVICES),
    (State.ATTRACT, i.QrShown): Transition("identify_qr", State.SERVICES),
    (State.ATTRACT, i.TechnicianGesture): Transition("open_pin", State.DIAGNOSTICS_PIN),
    (State.IDENTIFY, i.CardIdentity): Transition("identify_card", None),
    (State.IDENTIFY, i.CardReadFault): Transition("card_fault", State.IDENTIFY),
    (State.IDENTIFY, i.QrShown): Transition("identify_qr", None),
    (State.IDENTIFY, i.SkipIdentify): Transition("skip_identify", None),
    (State.IDENTIFY, i.Back): Transition("exit", None),
    (State.IDENTIFY, i.Exit): Transition("exit", None),
    (State.SERVICES, i.SelectCategory): Transition("select_category", State.SERVICES),
    (State.SERVICES, i.Search): Transition("search", State.SERVICES),
    (State.SERVICES, i.OpenItem): Transition("open_item", State.SERVICES),
    (State.SERVICES, i.Back): Transition("services_back", None),
    (State.SERVICES, i.CardIdentity): Transition("identify_card", State.SERVICES),
    (State.SERVICES, i.CardReadFault): Transition("card_fault", State.SERVICES),
    (State.SERVICES, i.QrShown): Transition("identify_qr", State.SERVICES),
    (State.SERVICES, i.Finish): Transition("finish", State.RATING),
    (State.SERVICES, i.Exit): Transition("exit", None),
    (State.SERVICES, i.PrintGuide): Transition("print_guide", State.SERVICES),
    (State.ACTIVITIES, i.SignUp): Transition("sign_up", State.ACTIVITIES),
    (State.ACTIVITIES, i.CancelSignup): Transition("cancel_signup", State.ACTIVITIES),
    (State.ACTIVITIES, i.PrintSignupSlip): Transition("print_signup_slip", State.ACTIVITIES),
    (State.ACTIVITIES, i.CardIdentity): Transition("identify_card", State.ACTIVITIES),
    (State.ACTIVITIES, i.CardReadFault): Transition("card_fault", State.ACTIVITIES),
    (State.ACTIVITIES, i.Back): Transition("exit", None),
    (State.ACTIVITIES, i.Exit): Transition("exit", None),
    (State.POINTS, i.ChooseReward): Transition("choose_reward", State.POINTS),
    (State.POINTS, i.ConfirmRedeem): Transition("confirm_redeem", State.POINTS),
    (State.POINTS, i.PointsRetry): Transition("points_retry", State.POINTS),
    (State.POINTS, i.PrintVoucher): Transition("print_voucher", State.POINTS),
    (State.POINTS, i.CardIdentity): Transition("identify_card", State.POINTS),
    (State.POINTS, i.CardReadFault): Transition("card_fault", State.POINTS),
    (State.POINTS, i.Back): Transition("points_back", None),
    (State.POINTS, i.Exit): Transition("exit", None),
    (State.REQUESTS, i.RequestGo): Transition("request_go", State.REQUESTS),
    (State.REQUESTS, i.ChooseRequestCategory): Transition("request_category", State.REQUESTS),
    (State.REQUESTS, i.ChooseRequestLocation): Transition("request_location", State.REQUESTS),
    (State.REQUESTS, i.AddRequestPhrase): Transition("request_phrase", State.REQUESTS),
    (State.REQUESTS, i.EditRequestText): Transition("request_text", State.REQUESTS),
    (State.REQUESTS, i.RequestPhoneKey): Transition("request_phone_key", State.REQUESTS),
    (State.REQUESTS, i.SubmitRequest): Transition("submit_request", State.REQUESTS),
    (State.REQUESTS, i.PrintRequestTicket): Transition("print_request_ticket", State.REQUESTS),
    (State.REQUESTS, i.CardIdentity): Transition("identify_card", State.REQUESTS),
    (State.REQUESTS, i.CardReadFault): Transition("card_fault", State.REQUESTS),
    (State.REQUESTS, i.Back): Transition("requests_back", None),
    (State.REQUESTS, i.Exit): Transition("exit", None),
    (State.HEALTH_CONSENT, i.GiveConsent): Transition("consent", State.HEALTH_GUIDE),
    (State.HEALTH_CONSENT, i.DeclineConsent): Transition("decline_consent", State.HEALTH_GUIDE),
    (State.HEALTH_CONSENT, i.Back): Transition("exit", None),
    (State.HEALTH_CONSENT, i.Exit): Transition("exit", None),
    (State.HEALTH_GUIDE, i.StartMeasuring): Transition("start_measuring", State.HEALTH_MEASURING),
    (State.HEALTH_GUIDE, i.Back): Transition("exit", None),
    (State.HEALTH_GUIDE, i.Exit): Transition("exit", None),
    (State.HEALTH_MEASURING, i.CuffPressure): Transition("cuff_pressure", State.HEALTH_MEASURING),
    (State.HEALTH_MEASURING, i.BpMeasured): Transition("bp_result", State.HEALTH_RESULT),
    (State.HEALTH_MEASURING, i.CancelMeasuring): Transition("cancel_measuring", State.HEALTH_GUIDE),
    (State.HEALTH_MEASURING, i.DeviceFault): Transition("measuring_fault", None),
    (State.HEALTH_MEASURING, i.Exit): Transition("exit", None),
    (State.HEALTH_RESULT, i.Retry): Transition("retry", State.HEALTH_GUIDE),
    (State.HEALTH_RESULT, i.Finish): Transition("finish", State.RATING),
    (State.HEALTH_RESULT, i.Exit): Transition("exit", None),
    (State.HEALTH_RESULT, i.PrintBpSlip): Transition("print_bp_slip", State.HEALTH_RESULT),
    (State.RATING, i.SelectLevel): Transition("select_level", State.RATING),
    (State.RATING, i.ToggleReason): Transition("toggle_reason", State.RATING),
    (State.RATING, i.SubmitRating): Transition("submit_rating", State.ATTRACT),
    (State.RATING, i.SkipRating): Transition("skip_rating", State.ATTRACT),
    (State.RATING, i.Exit): Transition("skip_rating", State.ATTRACT),
    (State.COUNTDOWN, i.Continue): Transition("resume", None),
    (State.DIAGNOSTICS_PIN, i.PinEntered): Transition("check_pin", None),
    (State.DIAGNOSTICS_PIN, i.Back): Transition("close_diagnostics", State.ATTRACT),
    (State.DIAGNOSTICS_PIN, i.Exit): Transition("close_diagnostics", State.ATTRACT),
    (State.DIAGNOSTICS, i.RunSelfTest): Transition("self_test", State.DIAGNOSTICS),
    (State.DIAGNOSTICS, i.Back): Transition("close_diagnostics", State.ATTRACT),
    (State.DIAGNOSTICS, i.Exit): Transition("close_diagnostics", State.ATTRACT),
}


def _build_table() -> Mapping[tuple[State, type], Transition]:
    table: dict[tuple[State, type], Transition] = {}
    for state in State:
        table[(state, i.Tick)] = Transition("tick", None)
        table[(state, i.Wipe)] = Transition("wipe", State.ATTRACT)
        table[(state, i.DeviceFault)] = Transition("device_fault", state)
        table[(state, i.DeviceRecovered)] = Transition("device_recovered", state)
        table[(state, i.OutboxStatus)] = Transition("outbox_status", state)
        table[(state, i.LogLine)] = Transition("log_line", state)
        table[(state, i.SelfTestDone)] = Transition("self_test_done", state)
        table[(state, i.PrintFinished)] = Transition("print_finished", state)
        table[(state, i.SignupsUpdated)] = Transition("signups_updated", state)
        table[(state, i.PointsAnswered)] = Transition("points_answered", state)
        table[(state, i.RequestStatusAnswered)] = Transition("request_status", state)
        for device_type in i.DEVICE_TYPES:
            table[(state, device_type)] = Transition("ignore", state)
        if state in RESIDENT_STATES:
            for touch_type in ACCESSIBILITY_TYPES:
                table[(state, touch_type)] = Transition("set_accessibility", state)
    table.update(_SPECIFIC)
    return MappingProxyType(table)


TABLE = _build_table()


def transition_for(state: State, input_type: type) -> Transition:
    """The table entry for `(state, input_type)`; InvalidTransition if there is none."""
    try:
        return TABLE[(state, input_type)]
    except KeyError:
        raise InvalidTransition(state, input_type) from None


def offered(state: State) -> frozenset[type]:
    """Input types valid in `state` (the UI enables exactly the buttons for these)."""
    return frozenset(t for (s, t) in TABLE if s is state)
