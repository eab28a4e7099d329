"""The kiosk session: applies inputs through machine.TABLE, keeps per-resident state, renders views.

Sans-I/O: no clock, device or database is touched except through what the constructor is given.
The host feeds every touch, device value and a `Tick` about once a second, runs the returned
`Step.commands`, and redraws from `Session.views` (or a subscribed listener). Call it from one
thread only (the UI main thread). About 500 lines: every table action is a method here, so the
table and its actions can be read side by side; pure parts live in render, resident, diagnostics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from common.ids import uuid7
from common.pii import mask_name
from common.sealed_box import is_phone_number, seal_phone
from config.activities import EMPTY as NO_ACTIVITIES
from config.activities import Activities
from config.privacy import PseudonymInputError, pseudonymise
from config.resident_requests import Requests
from kiosk.core import events as ev
from kiosk.core import inputs as i
from kiosk.core import render
from kiosk.core import resident_requests as rr
from kiosk.core.activities_view import activities_view, signup_slip
from kiosk.core.diagnostics import DiagnosticsState
from kiosk.core.events import EventSink, EventSinkError
from kiosk.core.i18n import Strings, load_strings
from kiosk.core.machine import (
    IDLE_STATES,
    Command,
    InvalidInput,
    State,
    transition_for,
)
from kiosk.core.points import (
    PointsState,
    parse_catalogue,
    parse_history,
    parse_redeem,
    points_view,
    voucher_slip,
)
from kiosk.core.ports import (
    Catalogue,
    NoHistory,
    NoSignups,
    PointsAnswer,
    PointsCall,
    ReadingHistory,
    SignupStore,
    StoredReading,
    StoredSignup,
)
from kiosk.core.resident import Flow, MeasurementOutcome, ResidentState, outcome_of
from kiosk.core.resident_requests import (
    NoRequests,
    RequestDraft,
    RequestStore,
    StatusCall,
    StoredRequest,
    SubmittedRequest,
    mint_ticket,
)
from kiosk.core.resident_requests_view import requests_view, ticket_slip
from kiosk.core.settings import Accessibility, SessionSettings
from kiosk.core.slips import BpSlipReading, PrintJob, PrintKind, SlipLine, bp_slip, guide_slip
from kiosk.core.technician import PinGate
from kiosk.core.views import CatalogueView, CountdownView, PrintView, Views

log = logging.getLogger(__name__)

LARGE_TEXT_SCALE = 1.4
MEASUREMENT_STALL_S = 240.0  # no cuff pressure or result for this long: the meter is stuck
TREND_LIMIT = 10
MAX_QUERY_CHARS = 64
MAX_CUFF_MMHG = 400
CARD_FAULT_KEYS = frozenset(
    {"card_moved", "card_unreadable", "card_auth_failed", "unsupported_card", "reader_unavailable"}
)
SELF_TESTS = {
    "idcard": Command.SELF_TEST_IDCARD,
    "bp": Command.SELF_TEST_BP,
    "qrscan": Command.SELF_TEST_QRSCAN,
    "camera": Command.SELF_TEST_CAMERA,
    "printer": Command.SELF_TEST_PRINTER,
}
PRINT_TIMEOUT_S = 45.0  # no PrintFinished by then: tell the resident to ask at the counter
POINTS_WAIT_MAX_S = 30.0  # a points call in flight holds the idle countdown off this long
MAX_PRINTS_PER_SESSION = 5  # paper is the centre's: a few slips per resident
# A points answer changes what the resident reads: they get a full idle period to read it.
_ACTIVITY_TYPES = (*i.TOUCH_TYPES, i.CardIdentity, i.QrShown, i.CuffPressure, i.PointsAnswered)


class Step(NamedTuple):
    """What one input did: the action taken, the states before/after, work for the host."""

    action: str
    previous: State
    state: State
    commands: tuple[Command, ...]


Listener = Callable[[Step, Views], None]


class Session:
    """The kiosk's one session state machine (one per process, lives across residents)."""

    def __init__(
        self,
        settings: SessionSettings,
        *,
        sink: EventSink,
        catalogue: Catalogue,
        pseudonym_key: bytes,
        clock: Callable[[], float],
        wall_clock: Callable[[], datetime],
        history: ReadingHistory | None = None,
        pin_gate: PinGate | None = None,
        new_id: Callable[[], str] = uuid7,
        signups: SignupStore | None = None,
        activities: Activities = NO_ACTIVITIES,
        requests: Requests | None = None,
        request_store: RequestStore | None = None,
        mint: Callable[[], str] = mint_ticket,
    ) -> None:
        self.settings = settings
        self._sink = sink
        self._catalogue = catalogue
        self._key = pseudonym_key
        self._clock = clock
        self._wall_clock = wall_clock
        self._history = history if history is not None else NoHistory()
        self._signups = signups if signups is not None else NoSignups()
        self._activities = activities
        self._requests = requests  # None: this kiosk offers no requests (诉求)
        self._request_store = request_store if request_store is not None else NoRequests()
        self._mint_ticket = mint
        self._status_call: StatusCall | None = None
        self._new_id = new_id
        self._listeners: list[Listener] = []
        self._diag = DiagnosticsState(pin_gate)  # kiosk-wide, not personal
        self._state = State.ATTRACT
        self._commands: list[Command] = []
        self._print_job: PrintJob | None = None
        self._points_call: PointsCall | None = None
        self._now_s = clock()
        self._reset_resident()
        self._views = self._render()

    # --- public ---------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The screen shown now."""
        return self._state

    @property
    def views(self) -> Views:
        """All view-models as of the last step."""
        return self._views

    @property
    def strings(self) -> Strings:
        """The catalogue of the current language, for static labels."""
        return load_strings(self._language)

    def set_activities(self, activities: Activities) -> None:
        """The city pushed new activities (set_config); shown from the next step on."""
        self._activities = activities

    @property
    def offers_requests(self) -> bool:
        """The config has a `requests` section: the start screen shows 我要反映."""
        return self._requests is not None

    def take_status_call(self) -> StatusCall | None:
        """The `requests.status` call a CALL_REQUEST_STATUS command asks for (once)."""
        call, self._status_call = self._status_call, None
        return call

    def take_print_job(self) -> PrintJob | None:
        """The slip a PRINT command asks for (once: the job is then the printer worker's)."""
        job, self._print_job = self._print_job, None
        return job

    def take_points_call(self) -> PointsCall | None:
        """The call a POINTS command asks for (once: the host's worker then makes it)."""
        call, self._points_call = self._points_call, None
        return call

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(step, views)` after every step."""
        self._listeners.append(listener)

    def handle(self, event: i.Input) -> Step:
        """Apply one input; InvalidTransition/InvalidInput leave the session unchanged."""
        previous = self._state
        transition = transition_for(previous, type(event))
        self._now_s = event.now_s if isinstance(event, i.Tick) else self._clock()
        self._commands = []
        result = ACTIONS[transition.action](self, event)
        target = transition.next if transition.next is not None else result
        assert target is not None, transition  # the table says "action decides"
        if isinstance(event, _ACTIVITY_TYPES) or target is not previous:
            # every step gets its own full idle period
            self._last_activity_s = self._now_s
        if previous is State.HEALTH_MEASURING and target not in (
            State.HEALTH_MEASURING,
            State.HEALTH_RESULT,
        ):
            self._commands.append(Command.ABORT_BP)
        self._state = target
        if target is not previous:
            log.info("session %s -> %s (%s)", previous.name, target.name, transition.action)
        self._views = self._render()
        step = Step(transition.action, previous, target, tuple(self._commands))
        for listener in list(self._listeners):
            listener(step, self._views)
        return step

    # --- helpers --------------------------------------------------------------------------

    @property
    def _language(self) -> i.Language:
        return self._accessibility.language

    def _reset_resident(self) -> None:
        self._resident = ResidentState()
        self._accessibility = Accessibility.defaults(self.settings)
        self._last_activity_s = self._now_s
        self._countdown_started_s = 0.0
        self._resume_state: State | None = None
        self._catalogue_memo: tuple[tuple[object, ...], CatalogueView] | None = None
        self._print_job = None
        self._points_call = None  # an answer to it will name a token nobody waits for
        self._status_call = None

    def _emit(self, event_type: str, data: ev.Data) -> None:
        try:
            self._sink.put(event_type, data)
        except EventSinkError:
            # a full outbox must never block a resident or a wipe; diagnostics show the count
            self._diag.dropped_events += 1
            log.warning("event %s dropped: the sink refused it", event_type)

    def _start(self, flow: Flow) -> None:
        r = self._resident
        r.session_id, r.started_s, r.flow = self._new_id(), self._now_s, flow
        a = self._accessibility
        self._emit(
            "session.started",
            ev.session_started(
                r.session_id,
                flow,
                a.language,
                large_text=a.large_text,
                voice=a.voice,
                high_contrast=a.high_contrast,
            ),
        )

    def _wipe(self, reason: i.EndReason) -> State:
        r = self._resident
        if r.session_id is not None:
            self._emit(
                "session.ended",
                ev.session_ended(
                    r.session_id,
                    reason,
                    self._now_s - r.started_s,
                    identified=r.subject is not None,
                    services_viewed=r.services_viewed,
                ),
            )
        self._reset_resident()
        return State.ATTRACT

    def _after_identify(self) -> State:
        if self._resident.flow == "requests":
            return State.REQUESTS
        if self._resident.flow == "activities":
            self._load_signups()
            return State.ACTIVITIES
        if self._resident.flow == "health":
            return State.HEALTH_CONSENT if self._resident.subject else State.HEALTH_GUIDE
        if self._resident.flow == "points":
            self._points_load()
            return State.POINTS
        return State.SERVICES

    def _render(self) -> Views:
        strings, r, devices = self.strings, self._resident, self._diag.device_map()
        shown = self._resume_state if self._state is State.COUNTDOWN else self._state
        countdown_left = self._countdown_started_s + self.settings.countdown_s - self._now_s
        return Views(
            state=self._state,
            accessibility=render.accessibility_view(self._accessibility),
            attract=render.attract_view(strings, self.settings.centre_name, self._wall_clock()),
            identify=render.identify_view(strings, r, devices),
            catalogue=self._catalogue_view(strings),
            health=render.health_view(strings, r, shown or State.ATTRACT, devices),
            rating=render.rating_view(strings, r),
            countdown=render.countdown_view(strings, countdown_left, self.settings.countdown_s)
            if self._state is State.COUNTDOWN
            else CountdownView(),
            diagnostics=self._diag.view(strings),
            printing=self._print_view(strings),
            activities=activities_view(
                strings, r, self._activities, render.greeting(strings, r), self._wall_clock()
            ),
            points=points_view(
                strings,
                r.points,
                identified=r.subject is not None,
                greeting=render.greeting(strings, r),
                now=self._wall_clock(),
            ),
            requests=requests_view(
                strings,
                r.request,
                self._requests,
                active=r.flow == "requests",
                identified=r.subject is not None,
                greeting=render.greeting(strings, r),
                notice=r.request.notice,
            ),
        )

    def _catalogue_view(self, strings: Strings) -> CatalogueView:
        # memoised: ticks re-render every second and a pinyin search need not rerun each time
        r = self._resident
        key: tuple[object, ...] = (strings.language, self._catalogue.version, r.session_id)
        key += (r.mode, r.category_id, r.query, r.item_id, r.masked_name)
        if self._catalogue_memo is None or self._catalogue_memo[0] != key:
            self._catalogue_memo = (key, render.catalogue_view(strings, r, self._catalogue))
        return self._catalogue_memo[1]

    def _print_view(self, strings: Strings) -> PrintView:
        r = self._resident
        room = self.settings.has_printer and r.prints < MAX_PRINTS_PER_SESSION
        outcome = r.outcome
        bp_ok = outcome is not None and outcome.classification is not None
        text = strings.text(f"print.status.{r.print_status}") if r.print_status else ""
        return PrintView(
            can_print_guide=room and r.mode == "detail" and r.item_id is not None,
            can_print_bp=room and bp_ok and r.subject is not None and r.consent,
            can_print_signup=room and r.subject is not None and bool(r.signups),
            can_print_voucher=room and r.points is not None and r.points.phase == "voucher",
            can_print_request=room
            and r.request.step == "ticket"
            and r.request.submitted is not None,
            kind=r.print_kind,
            status=r.print_status,
            text=text,
        )

    def _queue_print(self, kind: PrintKind, lines: tuple[SlipLine, ...]) -> None:
        r = self._resident
        if r.print_status == "printing":
            return  # one slip at a time; the screen says it is printing
        r.print_kind, r.print_job_id = kind, None
        printer = self._diag.device_map().get("printer")
        if not self.settings.has_printer or (printer is not None and not printer.ok):
            r.print_status = "unavailable"  # known down: say so now, paper or not
            return
        job = PrintJob(self._new_id(), kind, lines)
        r.print_job_id, r.print_status, r.print_started_s = job.job_id, "printing", self._now_s
        r.prints += 1
        self._print_job = job
        self._commands.append(Command.PRINT)

    def _clear_print_status(self) -> None:
        r = self._resident
        if r.print_status != "printing":
            r.print_kind, r.print_status = None, None

    def _load_signups(self) -> None:
        r = self._resident
        r.signups = tuple(self._signups.for_subject(r.subject)) if r.subject else ()

    def _own_signup(self, signup_id: str) -> StoredSignup:
        found = next((s for s in self._resident.signups if s.signup_id == signup_id), None)
        if self._resident.subject is None or found is None:
            raise InvalidInput("not one of the identified resident's sign-ups")
        return found

    def _points(self) -> PointsState:
        if self._resident.points is None:
            self._resident.points = PointsState()
        return self._resident.points

    def _points_send(self, call: PointsCall) -> None:
        p = self._points()
        p.in_flight, p.sent_s = call, self._now_s
        p.phase = "redeeming" if call.method == "redeem" else "loading"
        self._points_call = call
        self._commands.append(Command.POINTS)

    def _points_load(self) -> None:
        """The overview afresh: balance and entries (identified only), then the rewards."""
        r, p = self._resident, self._points()
        p.chosen, p.voucher, p.redemption_id, p.retry = None, None, None, None
        p.to_load = ("history", "catalogue") if r.subject else ("catalogue",)
        self._points_next()

    def _points_next(self) -> None:
        r, p = self._resident, self._points()
        if not p.to_load:
            p.phase = "overview"
            return
        self._points_send(
            PointsCall(
                self._new_id(),
                p.to_load[0],
                subject=r.subject or "",
                key_id=self.settings.pseudonym_key_id,
            )
        )

    # --- actions (named in machine.TABLE) ---------------------------------------------------

    def _do_ignore(self, event: i.Input) -> None:
        """A device value that means nothing on this screen: dropped unseen."""

    def _do_tick(self, event: i.Tick) -> State:
        state, now = self._state, event.now_s
        r = self._resident
        if r.print_status == "printing" and now - r.print_started_s >= PRINT_TIMEOUT_S:
            r.print_status, r.print_job_id = "unavailable", None
        # waiting for the city is not being idle (the client answers within 15 s + 3 s; past
        # POINTS_WAIT_MAX_S something is broken and the usual idle timeout applies)
        waiting = (
            r.points is not None
            and r.points.in_flight is not None
            and now - r.points.sent_s < POINTS_WAIT_MAX_S
        )
        idle_s = now - self._last_activity_s
        if state in IDLE_STATES and not waiting and idle_s >= self.settings.idle_timeout_s:
            self._countdown_started_s, self._resume_state = now, state
            return State.COUNTDOWN
        countdown_over = now - self._countdown_started_s >= self.settings.countdown_s
        if state is State.COUNTDOWN and countdown_over:
            return self._wipe("idle_timeout")
        if (
            state is State.HEALTH_MEASURING
            and now - self._resident.device_activity_s >= MEASUREMENT_STALL_S
        ):
            self._commands.append(Command.ABORT_BP)
            self._resident.outcome = MeasurementOutcome.failed("timeout")
            return State.HEALTH_RESULT
        return state

    def _do_wipe(self, event: i.Wipe) -> None:
        self._wipe(event.reason)

    def _do_set_accessibility(self, event: i.Input) -> None:
        a = self._accessibility
        if isinstance(event, i.SetLanguage):
            a = replace(a, language=event.language)
        elif isinstance(event, i.SetLargeText):
            a = a.with_large_text(event.enabled, max(self.settings.text_scale, LARGE_TEXT_SCALE))
        elif isinstance(event, i.SetHighContrast):
            a = replace(a, high_contrast=event.enabled)
        elif isinstance(event, i.SetVoice):
            a = replace(a, voice=event.enabled)
        self._accessibility = a

    def _do_start_services(self, event: i.StartServices) -> None:
        self._start("services")

    def _do_start_health(self, event: i.StartHealth) -> None:
        self._start("health")

    def _do_identify_card(self, event: i.CardIdentity) -> State:
        r = self._resident
        if r.subject is not None:
            return self._state  # a second card mid-session is ignored: one resident at a time
        try:
            subject = pseudonymise(event.id_number, self._key, self.settings.city)
        except PseudonymInputError:
            # not an ID number we can pseudonymise (a misread card): the resident tries again
            r.card_problem = "card_unreadable"
            return self._state
        if r.session_id is None:
            self._start("services")
        assert r.session_id is not None
        r.subject = subject
        r.masked_name = mask_name(event.name)
        r.card_expired = bool(event.card_expired)
        r.card_problem = None
        if r.flow == "activities":
            self._load_signups()
            r.activity_notice = None
        if r.flow == "requests":
            r.request.notice = None
        self._emit(
            "card.read",
            ev.card_read(
                r.session_id,
                event.card_type,
                r.subject,
                self.settings.pseudonym_key_id,
                id_number_valid=event.id_number_valid,
                card_expired=event.card_expired,
                read_ms=event.read_ms,
            ),
        )
        return self._state if self._state is State.SERVICES else self._after_identify()

    def _do_identify_qr(self, event: i.QrShown) -> State:
        r = self._resident
        if r.session_id is None:
            self._start("services")
        r.qr_kind = event.kind
        self._emit("qr.scanned", ev.qr_scanned(r.session_id, event.source, event.kind))
        # the token is verified online by the adapter; locally a code identifies no one
        return self._state if self._state is State.SERVICES else self._after_identify()

    def _do_card_fault(self, event: i.CardReadFault) -> None:
        reason = event.reason if event.reason in CARD_FAULT_KEYS else "unknown"
        self._resident.card_problem = reason

    def _do_skip_identify(self, event: i.SkipIdentify) -> State:
        return self._after_identify()

    def _do_exit(self, event: i.Input) -> State:
        if self._resident.used_service:
            return State.RATING
        return self._wipe("user_exit")

    def _do_select_category(self, event: i.SelectCategory) -> None:
        known = {c.category_id for c in self._catalogue.categories(self._language)}
        if event.category_id not in known:
            raise InvalidInput("unknown catalogue category")
        r = self._resident
        r.mode, r.category_id, r.item_id, r.query = "items", event.category_id, None, ""

    def _do_search(self, event: i.Search) -> None:
        r = self._resident
        r.query = event.query.strip()[:MAX_QUERY_CHARS]
        r.mode, r.item_id = ("search" if r.query else "categories"), None

    def _do_open_item(self, event: i.OpenItem) -> None:
        detail = self._catalogue.detail(event.item_id, self._language)
        if detail is None:
            raise InvalidInput("unknown catalogue item")
        r = self._resident
        assert r.session_id is not None
        if r.mode != "detail":
            r.detail_return = r.mode
        if detail.item_id != r.item_id:
            self._clear_print_status()
        r.mode, r.item_id, r.last_item_id = "detail", detail.item_id, detail.item_id
        r.services_viewed += 1
        r.used_service = True
        self._emit(
            "service.selected",
            ev.service_selected(
                r.session_id,
                detail.item_id,
                detail.category_id,
                self._catalogue.version,
                handling=detail.handling,
                via=event.via,
            ),
        )

    def _do_services_back(self, event: i.Back) -> State:
        r = self._resident
        self._clear_print_status()
        if r.mode == "detail":
            r.mode, r.item_id = r.detail_return, None
        elif r.mode in ("items", "search"):
            r.mode, r.category_id, r.query = "categories", None, ""
        else:
            return self._do_exit(event)
        return State.SERVICES

    def _do_finish(self, event: i.Finish) -> None:
        self._resident.used_service = True

    def _do_consent(self, event: i.GiveConsent) -> None:
        r = self._resident
        r.consent = True
        if r.subject is not None:
            r.trend = tuple(self._history.recent(r.subject, TREND_LIMIT))

    def _do_decline_consent(self, event: i.DeclineConsent) -> None:
        self._resident.consent = False
        self._resident.trend = ()

    def _do_start_measuring(self, event: i.StartMeasuring) -> None:
        r = self._resident
        r.device_activity_s, r.cuff_mmhg, r.outcome = self._now_s, None, None
        self._commands.append(Command.START_BP)

    def _do_cuff_pressure(self, event: i.CuffPressure) -> None:
        self._resident.device_activity_s = self._now_s
        self._resident.cuff_mmhg = min(max(event.mmhg, 0), MAX_CUFF_MMHG)

    def _do_bp_result(self, event: i.BpMeasured) -> None:
        r = self._resident
        assert r.session_id is not None
        outcome = r.outcome = outcome_of(event)
        shared = r.subject if r.consent else None  # subject only when identified and consenting
        taken_at = self._wall_clock()
        r.measured_at = taken_at
        if r.print_kind == "bp":
            self._clear_print_status()  # a new reading: the last slip's status is old news
        self._emit(
            "bp.measured",
            ev.bp_measured(
                r.session_id,
                subject=shared,
                consent=shared is not None,
                key_id=self.settings.pseudonym_key_id,
                taken_at=taken_at,
                systolic=outcome.systolic,
                diastolic=outcome.diastolic,
                pulse=outcome.pulse,
                mean=outcome.mean,
                category=outcome.classification.category if outcome.classification else None,
                error_key=outcome.error_key,
                device_protocol=event.device_protocol,
            ),
        )
        r.cuff_mmhg = None
        if outcome.systolic is None or outcome.diastolic is None:
            return
        r.used_service = True
        if shared is not None:
            reading = StoredReading(taken_at, outcome.systolic, outcome.diastolic, outcome.pulse)
            self._history.add(shared, reading)
            r.trend = tuple(self._history.recent(shared, TREND_LIMIT))

    def _do_measuring_fault(self, event: i.DeviceFault) -> State:
        self._do_device_fault(event)
        if event.device != "bp":
            return State.HEALTH_MEASURING
        self._resident.outcome = MeasurementOutcome.failed("meter_unavailable")
        self._resident.cuff_mmhg = None
        return State.HEALTH_RESULT

    def _do_cancel_measuring(self, event: i.CancelMeasuring) -> None:
        self._resident.cuff_mmhg = None

    def _do_retry(self, event: i.Retry) -> None:
        self._resident.outcome, self._resident.cuff_mmhg = None, None
        self._clear_print_status()

    def _do_print_guide(self, event: i.PrintGuide) -> None:
        r = self._resident
        detail = self._catalogue.detail(r.item_id, self._language) if r.item_id else None
        if r.mode != "detail" or detail is None:
            raise InvalidInput("print a guide from an item's detail")
        handling = self.strings.text(f"catalogue.handling.{detail.handling}")
        lines = guide_slip(
            self.strings, detail, handling, self.settings.centre_name, self._wall_clock()
        )
        self._queue_print("guide", lines)

    def _do_print_bp_slip(self, event: i.PrintBpSlip) -> None:
        r, outcome = self._resident, self._resident.outcome
        if r.subject is None or not r.consent:
            raise InvalidInput("a result slip is for an identified, consenting resident")
        if outcome is None or outcome.classification is None or r.measured_at is None:
            raise InvalidInput("no reading to print")
        assert outcome.systolic is not None
        assert outcome.diastolic is not None
        result = render.result_view(self.strings, r)
        assert result is not None
        reading = BpSlipReading(
            outcome.systolic,
            outcome.diastolic,
            outcome.pulse,
            result.category_text,
            result.advice_text,
            r.measured_at,
        )
        lines = bp_slip(self.strings, r.masked_name, reading, self.settings.centre_name)
        self._queue_print("bp", lines)

    def _do_start_activities(self, event: i.StartActivities) -> None:
        self._start("activities")

    def _do_sign_up(self, event: i.SignUp) -> None:
        r = self._resident
        activity = self._activities.get(event.activity_id)
        if activity is None or activity.ends <= self._wall_clock():
            raise InvalidInput("unknown or ended activity")
        if r.subject is None:
            r.activity_notice = "identify"  # a card on the reader signs up; nobody anonymous
            return
        assert r.session_id is not None
        if any(s.activity_id == activity.id and s.state != "refused" for s in r.signups):
            return  # signed up already: a second tap changes nothing
        if activity.places_left == 0:
            r.activity_notice = "full"
            return
        signup = StoredSignup(
            self._new_id(),
            activity.id,
            activity.title.zh,
            activity.title.en,
            activity.place.zh,
            activity.place.en,
            activity.starts,
        )
        self._signups.add(r.subject, signup)  # kept before it is sent: the answer finds it
        self._emit(
            "activity.signup",
            ev.activity_signup(
                signup.signup_id,
                activity.id,
                self._activities.version,
                subject=r.subject,
                key_id=self.settings.pseudonym_key_id,
                session_id=r.session_id,
            ),
        )
        r.used_service = True
        r.activity_notice = "signed_up"
        self._load_signups()

    def _do_cancel_signup(self, event: i.CancelSignup) -> None:
        r = self._resident
        signup = self._own_signup(event.signup_id)
        assert r.subject is not None
        assert r.session_id is not None
        if signup.state not in ("pending", "confirmed"):
            raise InvalidInput("this sign-up cannot be cancelled")
        self._signups.cancel(r.subject, signup.signup_id)
        self._emit(
            "activity.cancelled",
            ev.activity_cancelled(
                signup.signup_id,
                signup.activity_id,
                r.subject,
                self.settings.pseudonym_key_id,
                r.session_id,
            ),
        )
        r.used_service = True
        r.activity_notice = "cancelled"
        self._load_signups()

    def _do_print_signup_slip(self, event: i.PrintSignupSlip) -> None:
        signup = self._own_signup(event.signup_id)
        r = self._resident
        lines = signup_slip(
            self.strings, r.masked_name, signup, self._activities, self.settings.centre_name
        )
        self._queue_print("signup", lines)

    def _do_signups_updated(self, event: i.SignupsUpdated) -> None:
        r = self._resident
        if r.flow == "activities":
            self._load_signups()
            if r.activity_notice == "signed_up":
                r.activity_notice = None  # the answer shows on the sign-up itself now

    def _do_start_points(self, event: i.StartPoints) -> None:
        self._start("points")

    def _do_choose_reward(self, event: i.ChooseReward) -> None:
        r, p = self._resident, self._points()
        reward = p.reward(event.reward_id)
        if p.phase != "overview" or r.subject is None or reward is None:
            raise InvalidInput("choose a shown reward on the overview")
        if not reward.available or p.balance is None or p.balance < reward.points:
            raise InvalidInput("this reward is not offered to this resident now")
        p.phase, p.chosen = "confirm", reward.reward_id

    def _do_confirm_redeem(self, event: i.ConfirmRedeem) -> None:
        r, p = self._resident, self._points()
        if p.phase == "redeeming":
            return  # a second tap on the same confirm: the same action, nothing more
        reward = p.reward(p.chosen)
        if p.phase != "confirm" or reward is None or r.subject is None:
            raise InvalidInput("confirm a chosen reward")
        p.redemption_id = self._new_id()  # once per confirm tap: every retry reuses it
        self._points_send(
            PointsCall(
                self._new_id(),
                "redeem",
                subject=r.subject,
                key_id=self.settings.pseudonym_key_id,
                reward_id=reward.reward_id,
                points=reward.points,
                redemption_id=p.redemption_id,
            )
        )

    def _do_points_retry(self, event: i.PointsRetry) -> None:
        p = self._points()
        if p.phase != "error" or p.retry is None:
            raise InvalidInput("nothing to try again")
        self._points_send(replace(p.retry, token=self._new_id()))  # same redemption_id

    def _do_points_back(self, event: i.Back) -> State:
        p = self._points()
        if p.phase == "redeeming":
            return State.POINTS  # the answer decides; the screen offers no back meanwhile
        if p.phase == "confirm":
            p.phase, p.chosen = "overview", None
            return State.POINTS
        if p.phase == "voucher" or (p.phase == "error" and p.error_in_redeem):
            self._clear_print_status()
            self._points_load()  # the balance and entries as they are now
            return State.POINTS
        return self._do_exit(event)

    def _do_print_voucher(self, event: i.PrintVoucher) -> None:
        r, p = self._resident, self._points()
        if p.phase != "voucher" or p.voucher is None:
            raise InvalidInput("print a voucher from the voucher screen")
        lines = voucher_slip(
            self.strings,
            r.masked_name,
            p.voucher,
            centre_name=self.settings.centre_name,
            kiosk_id=self.settings.kiosk_id,
            zone=self._wall_clock().tzinfo,
        )
        self._queue_print("voucher", lines)

    def _do_points_answered(self, event: i.PointsAnswered) -> None:
        p = self._resident.points
        if p is None or p.in_flight is None or p.in_flight.token != event.token:
            return  # an answer nobody waits for now (wiped, or a newer call replaced it)
        call, answer = p.in_flight, event.answer
        p.in_flight = None
        if not answer.ok:
            p.fail(call, answer)
            return
        if not self._points_read(call, answer):
            p.fail(call, PointsAnswer(False, {}, "unreadable"))

    def _points_read(self, call: PointsCall, answer: PointsAnswer) -> bool:
        r, p = self._resident, self._points()
        if call.method == "history":
            history = parse_history(answer.data)
            if history is None:
                return False
            p.balance, p.entries = history
        elif call.method == "catalogue":
            rewards = parse_catalogue(answer.data)
            if rewards is None:
                return False
            p.rewards = rewards
        else:
            voucher = parse_redeem(answer.data, self._wall_clock())
            if voucher is None:
                return False
            p.voucher, p.balance, p.phase = voucher, voucher.balance, "voucher"
            p.chosen, p.redemption_id = None, None
            r.used_service = True
            self._clear_print_status()
            if self.settings.has_printer:
                self._do_print_voucher(i.PrintVoucher())
            return True
        p.to_load = p.to_load[1:]
        self._points_next()
        return True

    # --- requests (诉求, docs/requests.md) ------------------------------------------------------

    def _requests_config(self) -> Requests:
        if self._requests is None:
            raise InvalidInput("this kiosk offers no requests")
        return self._requests

    def _request_step(self, *steps: str) -> RequestDraft:
        draft = self._resident.request
        if draft.step not in steps:
            raise InvalidInput("not offered at this step of the request")
        return draft

    def _do_start_requests(self, event: i.StartRequests) -> None:
        self._requests_config()
        self._start("requests")

    def _do_request_go(self, event: i.RequestGo) -> None:
        r, config = self._resident, self._requests_config()
        draft = r.request
        if event.goal == "menu" or (r.subject is None and event.goal != "next"):
            r.request = RequestDraft(local=draft.local, city=draft.city)
            r.request.notice = None if r.subject is not None else "identify"
            return
        if r.subject is None:
            raise InvalidInput("identify before filing a request")
        draft.notice = None
        if event.goal == "new":
            r.request = RequestDraft(step="category", local=draft.local, city=draft.city)
        elif event.goal == "mine":
            draft.step = "mine"
            self._ask_request_status()
        else:
            self._request_next(draft, config)

    def _request_next(self, draft: RequestDraft, config: Requests) -> None:
        if draft.step == "category" and draft.category_id is not None:
            self._request_after_category(draft, config)
        elif draft.step == "location" and draft.location_chosen:
            draft.step = "text"
        elif draft.step == "text":
            draft.text_problem = rr.text_problem(draft.text)
            if draft.text_problem is None:
                draft.step = "phone" if config.key is not None else "review"
        elif draft.step == "phone" and not draft.phone_typing:
            draft.step = "review"
        else:
            raise InvalidInput("nothing to go on to from here")

    def _request_after_category(self, draft: RequestDraft, config: Requests) -> None:
        if config.buildings:
            draft.step = "location"
        else:
            draft.step, draft.location_chosen, draft.building, draft.unit = "text", True, None, None

    def _do_request_category(self, event: i.ChooseRequestCategory) -> None:
        config = self._requests_config()
        draft = self._request_step("category")
        if config.category(event.category_id) is None:
            raise InvalidInput("unknown request category")
        draft.category_id = event.category_id
        self._request_after_category(draft, config)  # one tap: on to where it is

    def _do_request_location(self, event: i.ChooseRequestLocation) -> None:
        config = self._requests_config()
        draft = self._request_step("location")
        if event.building is None:
            draft.building, draft.unit, draft.location_chosen, draft.step = None, None, True, "text"
            return
        if not 0 <= event.building < len(config.buildings):
            raise InvalidInput("unknown building")
        units = config.buildings[event.building].units
        if event.unit is not None and not 0 <= event.unit < len(units):
            raise InvalidInput("unknown unit")
        draft.building, draft.unit = event.building, event.unit
        draft.location_chosen = event.unit is not None or not units
        if draft.location_chosen:
            draft.step = "text"

    def _set_request_text(self, draft: RequestDraft, text: str) -> None:
        draft.text = rr.clean_text(text)
        problem = rr.text_problem(draft.text)
        draft.text_problem = problem if problem != "empty" else None

    def _do_request_phrase(self, event: i.AddRequestPhrase) -> None:
        config = self._requests_config()
        draft = self._request_step("text")
        category = config.category(draft.category_id or "")
        if category is None or not 0 <= event.index < len(category.phrases):
            raise InvalidInput("unknown phrase")
        phrase = category.phrases[event.index].get(self._language)
        self._set_request_text(draft, rr.add_phrase(draft.text, phrase))

    def _do_request_text(self, event: i.EditRequestText) -> None:
        self._requests_config()
        self._set_request_text(self._request_step("text"), event.text[: rr.MAX_TEXT_CHARS * 2])

    def _do_request_phone_key(self, event: i.RequestPhoneKey) -> None:
        config = self._requests_config()
        draft = self._request_step("phone")
        if event.key not in rr.PHONE_KEYS or config.key is None:
            raise InvalidInput("not a key of the number pad")
        if event.key == "edit":
            draft.phone_typing, draft.phone_invalid = True, False
        elif event.key == "remove":
            draft.phone, draft.phone_typing, draft.phone_invalid = "", False, False
        elif event.key == "done":
            valid = not draft.phone or is_phone_number(draft.phone)
            draft.phone_typing, draft.phone_invalid = not valid, not valid
        elif draft.phone_typing:
            draft.phone, draft.phone_invalid = rr.press_phone_key(draft.phone, event.key), False
        else:
            raise InvalidInput("tap the number field first")

    def _do_submit_request(self, event: i.SubmitRequest) -> None:
        r, config = self._resident, self._requests_config()
        draft = self._request_step("review")
        category = config.category(draft.category_id or "")
        if r.subject is None or category is None or rr.text_problem(draft.text) is not None:
            raise InvalidInput("the request is not complete")
        assert r.session_id is not None
        request_id, ticket = self._new_id(), self._mint_ticket()
        callback = None
        if draft.phone and config.key is not None:
            # sealed here and forgotten: only the sealed value leaves this method
            callback = (config.key.key_id, seal_phone(draft.phone, config.key.raw, request_id))
        location = None
        if draft.building is not None:
            building = config.buildings[draft.building]
            unit = building.units[draft.unit].zh if draft.unit is not None else ""
            location = (building.label.zh, unit)
        now = self._wall_clock()
        stored = StoredRequest(
            request_id,
            ticket,
            category.id,
            location[0] if location else "",
            location[1] if location else "",
            draft.text,
            now,
        )
        self._request_store.add(r.subject, stored)  # kept first: "my requests" finds it at once
        self._emit(
            "request.submitted",
            ev.request_submitted(
                request_id,
                ticket,
                category.id,
                draft.text,
                location=location,
                callback=callback,
                subject=r.subject,
                key_id=self.settings.pseudonym_key_id,
                session_id=r.session_id,
            ),
        )
        r.used_service = True
        submitted = SubmittedRequest(
            request_id, ticket, category.id, draft.building, draft.unit, draft.text,
            callback is not None, now,
        )  # fmt: skip
        r.request = RequestDraft(
            step="ticket", submitted=submitted, notice="submitted", local=(stored, *draft.local)
        )

    def _do_print_request_ticket(self, event: i.PrintRequestTicket) -> None:
        r, config = self._resident, self._requests_config()
        submitted = self._request_step("ticket").submitted
        if submitted is None:
            raise InvalidInput("no request to print")
        lines = ticket_slip(
            self.strings, r.masked_name, submitted, config, self.settings.centre_name
        )
        self._queue_print("request", lines)

    def _do_requests_back(self, event: i.Back) -> State:
        r = self._resident
        draft, config = r.request, self._requests_config()
        draft.notice, draft.text_problem = None, None
        if draft.step == "menu":
            return self._do_exit(event)
        self._clear_print_status()
        if draft.step == "phone" and draft.phone_typing:
            draft.phone_typing, draft.phone_invalid = False, False
        elif draft.step in ("category", "ticket", "mine"):
            r.request = RequestDraft(local=draft.local, city=draft.city)
        else:
            before: dict[str, rr.RequestStep] = {
                "location": "category",
                "text": "location" if config.buildings else "category",
                "phone": "text",
                "review": "phone" if config.key is not None else "text",
            }
            draft.step = before[draft.step]
        return State.REQUESTS

    def _ask_request_status(self) -> None:
        r = self._resident
        draft = r.request
        assert r.subject is not None
        draft.local = tuple(self._request_store.for_subject(r.subject))
        if draft.status_phase == "asking":
            return  # one call at a time; its answer comes
        draft.status_call_id = self._new_id()
        draft.status_phase, draft.status_reason = "asking", None
        self._status_call = StatusCall(
            draft.status_call_id, r.subject, self.settings.pseudonym_key_id
        )
        self._commands.append(Command.CALL_REQUEST_STATUS)

    def _do_request_status(self, event: i.RequestStatusAnswered) -> None:
        draft = self._resident.request
        if event.call_id != draft.status_call_id:
            return  # an earlier resident's call (wiped since), or a repeat: dropped unseen
        draft.status_call_id = None
        city = tuple(c for c in event.requests if isinstance(c, rr.CityRequest))
        if event.ok and len(city) == len(event.requests):
            draft.status_phase, draft.city = "ok", city
        else:
            known = event.reason in rr.STATUS_FAILURES
            draft.status_phase, draft.status_reason = "failed", event.reason if known else "timeout"

    def _do_print_finished(self, event: i.PrintFinished) -> None:
        r = self._resident
        if event.job_id == r.print_job_id and r.print_status == "printing":
            r.print_status = "done" if event.outcome == "done" else "unavailable"
            r.print_job_id = None
        # else: a job of an earlier resident (wiped since) or one that timed out: nothing shows

    def _do_select_level(self, event: i.SelectLevel) -> None:
        if event.level not in render.RATING_LEVELS:
            raise InvalidInput("rating levels are 1..5")
        r = self._resident
        r.rating_level = event.level
        if event.level not in render.REASON_LEVELS:
            r.rating_reasons = frozenset()

    def _do_toggle_reason(self, event: i.ToggleReason) -> None:
        r = self._resident
        if r.rating_level not in render.REASON_LEVELS or event.reason not in render.RATING_REASONS:
            raise InvalidInput("reasons are offered for levels 1 and 2 only, from the fixed list")
        r.rating_reasons = r.rating_reasons ^ {event.reason}

    def _do_submit_rating(self, event: i.SubmitRating) -> None:
        r = self._resident
        if r.rating_level is None:
            raise InvalidInput("choose a level before submitting")
        assert r.session_id is not None
        reasons = tuple(x for x in render.RATING_REASONS if x in r.rating_reasons)
        self._emit(
            "rating.submitted",
            ev.rating_submitted(r.session_id, r.rating_level, reasons, r.last_item_id),
        )
        self._wipe("completed")

    def _do_skip_rating(self, event: i.Input) -> None:
        self._wipe("completed")

    def _do_resume(self, event: i.Continue) -> State:
        target = self._resume_state or State.ATTRACT
        self._resume_state = None
        return target

    def _do_open_pin(self, event: i.TechnicianGesture) -> None:
        self._diag.pin_message = ""

    def _do_check_pin(self, event: i.PinEntered) -> State:
        result = self._diag.check_pin(event.pin, self.strings)
        lockout = self._diag.lockout_event(result)
        if lockout is not None:
            self._emit("technician.lockout", lockout)
        return State.DIAGNOSTICS if result.accepted else State.DIAGNOSTICS_PIN

    def _do_self_test(self, event: i.RunSelfTest) -> None:
        measure = event.measure and event.device == "bp"
        self._commands.append(Command.SELF_TEST_BP_MEASURE if measure else SELF_TESTS[event.device])
        self._diag.self_test_started(event.device)

    def _do_self_test_done(self, event: i.SelfTestDone) -> None:
        self._diag.self_test_done(event, self.strings)

    def _do_close_diagnostics(self, event: i.Input) -> None:
        self._diag.pin_message = ""

    def _do_device_fault(self, event: i.DeviceFault) -> None:
        data = self._diag.device_fault(event)
        if data is not None:
            self._emit("device.fault", data)

    def _do_device_recovered(self, event: i.DeviceRecovered) -> None:
        data = self._diag.device_recovered(event)
        if data is not None:
            self._emit("device.recovered", data)

    def _do_outbox_status(self, event: i.OutboxStatus) -> None:
        self._diag.outbox_status(event)

    def _do_log_line(self, event: i.LogLine) -> None:
        self._diag.log_line(event)


# The table's action names → the methods that carry them out (machine.TABLE names, this runs).
Action = Callable[[Session, Any], State | None]
ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        "bp_result": Session._do_bp_result,
        "cancel_measuring": Session._do_cancel_measuring,
        "print_request_ticket": Session._do_print_request_ticket,
        "request_category": Session._do_request_category,
        "request_go": Session._do_request_go,
        "request_location": Session._do_request_location,
        "request_phone_key": Session._do_request_phone_key,
        "request_phrase": Session._do_request_phrase,
        "request_status": Session._do_request_status,
        "request_text": Session._do_request_text,
        "requests_back": Session._do_requests_back,
        "start_requests": Session._do_start_requests,
        "submit_request": Session._do_submit_request,
        "cancel_signup": Session._do_cancel_signup,
        "card_fault": Session._do_card_fault,
        "check_pin": Session._do_check_pin,
        "choose_reward": Session._do_choose_reward,
        "confirm_redeem": Session._do_confirm_redeem,
        "close_diagnostics": Session._do_close_diagnostics,
        "consent": Session._do_consent,
        "cuff_pressure": Session._do_cuff_pressure,
        "decline_consent": Session._do_decline_consent,
        "device_fault": Session._do_device_fault,
        "device_recovered": Session._do_device_recovered,
        "exit": Session._do_exit,
        "finish": Session._do_finish,
        "identify_card": Session._do_identify_card,
        "identify_qr": Session._do_identify_qr,
        "ignore": Session._do_ignore,
        "log_line": Session._do_log_line,
        "measuring_fault": Session._do_measuring_fault,
        "open_item": Session._do_open_item,
        "open_pin": Session._do_open_pin,
        "points_answered": Session._do_points_answered,
        "points_back": Session._do_points_back,
        "points_retry": Session._do_points_retry,
        "outbox_status": Session._do_outbox_status,
        "print_bp_slip": Session._do_print_bp_slip,
        "print_finished": Session._do_print_finished,
        "print_guide": Session._do_print_guide,
        "print_signup_slip": Session._do_print_signup_slip,
        "print_voucher": Session._do_print_voucher,
        "resume": Session._do_resume,
        "retry": Session._do_retry,
        "search": Session._do_search,
        "select_category": Session._do_select_category,
        "select_level": Session._do_select_level,
        "self_test": Session._do_self_test,
        "self_test_done": Session._do_self_test_done,
        "services_back": Session._do_services_back,
        "set_accessibility": Session._do_set_accessibility,
        "sign_up": Session._do_sign_up,
        "signups_updated": Session._do_signups_updated,
        "skip_identify": Session._do_skip_identify,
        "skip_rating": Session._do_skip_rating,
        "start_activities": Session._do_start_activities,
        "start_health": Session._do_start_health,
        "start_measuring": Session._do_start_measuring,
        "start_points": Session._do_start_points,
        "start_services": Session._do_start_services,
        "submit_rating": Session._do_submit_rating,
        "tick": Session._do_tick,
        "toggle_reason": Session._do_toggle_reason,
        "wipe": Session._do_wipe,
    }
)
