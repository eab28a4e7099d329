"""Pure rendering: session state + strings → view-models (no I/O beyond the catalogue port)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from kiosk.core.bp_classification import BpCategory, advice_key, category_key
from kiosk.core.i18n import Strings
from kiosk.core.inputs import DeviceName
from kiosk.core.machine import State
from kiosk.core.ports import Catalogue
from kiosk.core.resident import ResidentState
from kiosk.core.settings import Accessibility
from kiosk.core.views import (
    AccessibilityView,
    AttractView,
    BpResultView,
    CatalogueView,
    CountdownView,
    DeviceStateView,
    DiagnosticsView,
    HealthPhase,
    HealthView,
    IdentifyView,
    OutboxView,
    RatingLevelView,
    RatingView,
    ReasonView,
    SelfTestView,
    TrendPoint,
)

RATING_LEVELS = (5, 4, 3, 2, 1)
REASON_LEVELS = frozenset({1, 2})  # reasons are offered for 不满意 and 非常不满意 only
RATING_REASONS = (
    "waited_too_long",
    "hard_to_use",
    "information_unclear",
    "could_not_finish",
    "device_problem",
    "other",
)
SEARCH_LIMIT = 50


def date_text(strings: Strings, moment: datetime) -> str:
    """The local date in words, e.g. `2026年11月23日 星期一`."""
    return strings.text(
        "datetime.date",
        year=moment.year,
        month=moment.month,
        day=moment.day,
        weekday=strings.text(f"weekday.{moment.weekday()}"),
        month_name=strings.text(f"month.{moment.month}"),
    )


def short_date_text(strings: Strings, moment: datetime) -> str:
    """Month and day, for trend plot labels."""
    return strings.text(
        "datetime.short_date",
        month=moment.month,
        day=moment.day,
        month_name=strings.text(f"month.{moment.month}"),
    )


def attract_view(strings: Strings, centre_name: str, now: datetime) -> AttractView:
    """The attract screen."""
    return AttractView(
        centre_name=centre_name,
        date_text=date_text(strings, now),
        time_text=strings.text("datetime.time", hour=now.hour, minute=now.minute),
    )


def greeting(strings: Strings, resident: ResidentState) -> str:
    """`张*，您好` for an identified resident, else ""."""
    if not resident.masked_name:
        return ""
    return strings.text("identify.greeting", name=resident.masked_name)


def card_notice(strings: Strings, resident: ResidentState) -> str:
    """A note about the card just read (expired), else ""."""
    return strings.text("card.expired") if resident.card_expired else ""


def identify_view(
    strings: Strings, resident: ResidentState, devices: Mapping[DeviceName, DeviceStateView]
) -> IdentifyView:
    """The identify screen."""
    if resident.flow is None:
        return IdentifyView()
    reader = devices.get("idcard")
    reader_ok = reader is None or reader.ok
    problem = ""
    if resident.card_problem is not None:
        problem = strings.text(f"card.fault.{resident.card_problem}")
    elif not reader_ok:
        problem = strings.text("identify.reader_unavailable")
    qr_devices = [devices[d] for d in ("qrscan", "camera") if d in devices]
    return IdentifyView(
        flow=resident.flow,
        prompt=strings.text(f"identify.prompt.{resident.flow}"),
        problem=problem,
        greeting=greeting(strings, resident),
        card_notice=card_notice(strings, resident),
        identified=resident.subject is not None,
        card_reader_ok=reader_ok,
        qr_ok=not qr_devices or any(d.ok for d in qr_devices),
    )


def catalogue_view(
    strings: Strings, resident: ResidentState, catalogue: Catalogue
) -> CatalogueView:
    """The catalogue screen in its current mode (empty outside a session)."""
    if resident.session_id is None:
        return CatalogueView()
    language = strings.language
    categories = tuple(catalogue.categories(language))
    titles = {c.category_id: c.title for c in categories}
    view = CatalogueView(
        mode=resident.mode,
        categories=categories,
        greeting=greeting(strings, resident),
        card_notice=card_notice(strings, resident),
    )
    if resident.category_id is not None:
        view = replace(
            view,
            category_id=resident.category_id,
            category_title=titles.get(resident.category_id, ""),
            items=tuple(catalogue.items(resident.category_id, language)),
        )
    if resident.query:
        results = tuple(catalogue.search(resident.query, language, SEARCH_LIMIT))
        view = replace(view, query=resident.query, results=results, no_results=not results)
    if resident.mode == "detail" and resident.item_id is not None:
        detail = catalogue.detail(resident.item_id, language)
        if detail is not None:
            handling = strings.text(f"catalogue.handling.{detail.handling}")
            view = replace(view, detail=detail, handling_text=handling)
    return view


def result_view(strings: Strings, resident: ResidentState) -> BpResultView | None:
    """The result card: category in words, colour and icon, advice; or the error in words."""
    outcome = resident.outcome
    if outcome is None:
        return None
    disclaimer = strings.text("bp.disclaimer")
    if outcome.classification is None or outcome.error_key is not None:
        key = outcome.error_key or "device_error"
        if not strings.has(f"bp.error.{key}"):
            key = "device_error"
        return BpResultView(
            ok=False,
            error_key=key,
            error_text=strings.text(f"bp.error.{key}"),
            disclaimer=disclaimer,
        )
    classification = outcome.classification
    category: BpCategory = classification.category
    return BpResultView(
        ok=True,
        systolic=outcome.systolic,
        diastolic=outcome.diastolic,
        pulse=outcome.pulse,
        category=category.value,
        category_text=strings.text(category_key(category), grade=classification.grade),
        colour=classification.style.colour,
        icon=classification.style.icon,
        severity=classification.severity,
        advice_text=strings.text(advice_key(category)),
        disclaimer=disclaimer,
    )


PHASES: dict[State, HealthPhase] = {
    State.HEALTH_CONSENT: "consent",
    State.HEALTH_GUIDE: "guide",
    State.HEALTH_MEASURING: "measuring",
    State.HEALTH_RESULT: "result",
}


def health_view(
    strings: Strings,
    resident: ResidentState,
    screen: State,
    devices: Mapping[DeviceName, DeviceStateView],
) -> HealthView:
    """The health hut screens (`screen` is the state shown, or resumed after a countdown)."""
    if resident.flow != "health":
        return HealthView()
    meter = devices.get("bp")
    return HealthView(
        phase=PHASES.get(screen, "guide"),
        identified=resident.subject is not None,
        consented=resident.consent,
        greeting=greeting(strings, resident),
        consent_text=strings.text("health.consent.text"),
        cuff_pressure_mmhg=resident.cuff_mmhg,
        result=result_view(strings, resident),
        trend=tuple(
            TrendPoint(short_date_text(strings, r.taken_at), r.systolic, r.diastolic)
            for r in resident.trend
        ),
        meter_ok=meter is None or meter.ok,
    )


def rating_view(strings: Strings, resident: ResidentState) -> RatingView:
    """好差评 levels and, for the two lowest, the optional reasons."""
    if resident.session_id is None:
        return RatingView()
    level = resident.rating_level
    levels = tuple(
        RatingLevelView(n, strings.text(f"rating.level.{n}"), n == level) for n in RATING_LEVELS
    )
    reasons: tuple[ReasonView, ...] = ()
    if level in REASON_LEVELS:
        reasons = tuple(
            ReasonView(r, strings.text(f"rating.reason.{r}"), r in resident.rating_reasons)
            for r in RATING_REASONS
        )
    return RatingView(levels=levels, selected=level, reasons=reasons, can_submit=level is not None)


def countdown_view(strings: Strings, remaining_s: float, total_s: float) -> CountdownView:
    """The countdown; seconds rounded up so it never shows 0 before the wipe."""
    seconds = max(0, int(-(-remaining_s // 1)))
    return CountdownView(
        remaining_s=seconds,
        total_s=round(total_s),
        message=strings.text("countdown.message", seconds=seconds),
    )


def diagnostics_view(
    strings: Strings,
    *,
    pin_message: str,
    locked_for_s: float,
    devices: Iterable[DeviceStateView],
    outbox: OutboxView | None,
    log_lines: Iterable[str],
    dropped_events: int,
    self_tests: Iterable[SelfTestView] = (),
) -> DiagnosticsView:
    """The technician screens."""
    return DiagnosticsView(
        pin_message=pin_message,
        locked_for_s=max(0, int(-(-locked_for_s // 1))),
        devices=tuple(sorted(devices, key=lambda d: d.device)),
        outbox=outbox,
        log_lines=tuple(log_lines),
        dropped_events=dropped_events,
        self_tests=tuple(sorted(self_tests, key=lambda t: t.device)),
    )


def accessibility_view(accessibility: Accessibility) -> AccessibilityView:
    """The accessibility view-model."""
    return AccessibilityView(
        language=accessibility.language,
        large_text=accessibility.large_text,
        text_scale=accessibility.text_scale,
        high_contrast=accessibility.high_contrast,
        voice=accessibility.voice,
    )
