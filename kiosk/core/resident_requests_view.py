"""The requests (诉求) screen's view-model and the ticket slip (pure): config + draft + strings →
what the screen shows, reads aloud and prints. The phone number appears only masked, except
while the resident types it (docs/requests.md "Privacy")."""

from __future__ import annotations

from dataclasses import dataclass

from common.pii import mask_phone
from config.resident_requests import Requests
from kiosk.core.i18n import Strings
from kiosk.core.resident_requests import (
    MAX_TEXT_CHARS,
    MergedRequest,
    RequestDraft,
    RequestStep,
    StatusPhase,
    SubmittedRequest,
    merge_requests,
    spoken_ticket,
)
from kiosk.core.slips import SlipLine, when_text

GOOD_NEWS = frozenset({"submitted"})


@dataclass(frozen=True)
class RequestChoiceView:
    """A big button: a category, a building, a unit or a phrase (`key`: what the touch sends)."""

    key: str
    text: str
    selected: bool = False


@dataclass(frozen=True)
class MyRequestView:
    """One of the resident's requests and where it stands."""

    request_id: str
    ticket: str
    category_text: str
    state: str  # waiting | received | assigned | answered | closed
    state_text: str
    date_text: str
    text: str = ""
    answer: str = ""  # the city's answer, in its own words


@dataclass(frozen=True)
class RequestsView:
    """我要反映, one step at a time: menu, category, location, text, phone, review, ticket, mine."""

    step: RequestStep = "menu"
    identified: bool = False
    greeting: str = ""
    instruction: str = ""  # the step's one sentence (read aloud first)
    notice: str = ""
    notice_ok: bool = False
    categories: tuple[RequestChoiceView, ...] = ()
    buildings: tuple[RequestChoiceView, ...] = ()
    units: tuple[RequestChoiceView, ...] = ()
    no_location_selected: bool = False
    phrases: tuple[RequestChoiceView, ...] = ()
    text: str = ""
    text_count: str = ""  # 12/200
    can_next: bool = False
    phone_offered: bool = False  # the city's request key is configured
    phone_shown: str = ""  # the digits while typing, masked otherwise
    phone_typing: bool = False
    review: tuple[tuple[str, str], ...] = ()  # (label, value)
    ticket: str = ""
    ticket_spoken: str = ""
    mine: tuple[MyRequestView, ...] = ()
    mine_phase: StatusPhase = "idle"
    mine_status: str = ""  # plain words: asking the city, or it cannot be reached


def location_text(
    strings: Strings, config: Requests, building: int | None, unit: int | None
) -> str:
    """`5栋 2单元`, or "not at a building" in words."""
    if building is None or building >= len(config.buildings):
        return strings.text("requests.location.none")
    chosen = config.buildings[building]
    parts = [chosen.label.get(strings.language)]
    if unit is not None and unit < len(chosen.units):
        parts.append(chosen.units[unit].get(strings.language))
    return " ".join(parts)


def category_text(strings: Strings, config: Requests, category_id: str) -> str:
    """The category's label; an id this kiosk does not know (filed elsewhere) as "other"."""
    category = config.category(category_id)
    if category is None:
        return strings.text("requests.category.unknown")
    return category.label.get(strings.language)


def _mine_view(strings: Strings, config: Requests, request: MergedRequest) -> MyRequestView:
    moment = request.submitted_at.astimezone()  # the kiosk's time zone, as on its clock
    month_name = strings.text(f"month.{moment.month}")
    date = strings.text(
        "datetime.short_date", month=moment.month, day=moment.day, month_name=month_name
    )
    return MyRequestView(
        request_id=request.request_id,
        ticket=request.ticket,
        category_text=category_text(strings, config, request.category_id),
        state=request.state,
        state_text=strings.text(f"requests.state.{request.state}"),
        date_text=date,
        text=request.text,
        answer=request.answer,
    )


def _review(strings: Strings, config: Requests, draft: RequestDraft) -> tuple[tuple[str, str], ...]:
    lines = [
        (
            strings.text("requests.review.category"),
            category_text(strings, config, draft.category_id or ""),
        ),
        (
            strings.text("requests.review.location"),
            location_text(strings, config, draft.building, draft.unit),
        ),
        (strings.text("requests.review.text"), draft.text),
    ]
    if config.key is not None:
        phone = mask_phone(draft.phone) if draft.phone else strings.text("requests.phone.none")
        lines.append((strings.text("requests.review.phone"), phone))
    return tuple(lines)


def _can_next(draft: RequestDraft) -> bool:
    if draft.step == "category":
        return draft.category_id is not None
    if draft.step == "location":
        return draft.location_chosen
    if draft.step == "text":
        return bool(draft.text.strip()) and draft.text_problem is None
    if draft.step == "phone":
        return not draft.phone_typing
    return draft.step == "review"


def requests_view(
    strings: Strings,
    draft: RequestDraft,
    config: Requests | None,
    *,
    active: bool,
    identified: bool,
    greeting: str,
    notice: str | None,
) -> RequestsView:
    """The requests screen (empty outside a requests session)."""
    if not active or config is None:
        return RequestsView()
    language = strings.language
    if notice is None and not identified:
        notice = "identify"
    category = config.category(draft.category_id) if draft.category_id else None
    buildings = tuple(
        RequestChoiceView(str(n), b.label.get(language), draft.building == n)
        for n, b in enumerate(config.buildings)
    )
    units: tuple[RequestChoiceView, ...] = ()
    if draft.building is not None and draft.building < len(config.buildings):
        units = tuple(
            RequestChoiceView(str(n), u.get(language), draft.unit == n)
            for n, u in enumerate(config.buildings[draft.building].units)
        )
    if draft.phone_typing:
        phone_shown = draft.phone  # the resident checks what they type; never read aloud
    else:
        phone_shown = mask_phone(draft.phone) if draft.phone else ""
    mine = merge_requests(draft.local, draft.city if draft.status_phase == "ok" else None)
    status = ""
    if draft.status_phase == "asking":
        status = strings.text("requests.mine.asking")
    elif draft.status_phase == "failed":
        status = strings.text(f"requests.mine.failed.{draft.status_reason or 'timeout'}")
    problem = draft.text_problem if draft.step == "text" else None
    if problem is not None and notice is None:
        notice = f"text.{problem}"
    if draft.step == "phone" and draft.phone_invalid and notice is None:
        notice = "phone.invalid"
    return RequestsView(
        step=draft.step,
        identified=identified,
        greeting=greeting,
        instruction=strings.text(f"requests.step.{draft.step}"),
        notice=strings.text(f"requests.notice.{notice}") if notice else "",
        notice_ok=notice in GOOD_NEWS,
        categories=tuple(
            RequestChoiceView(c.id, c.label.get(language), c.id == draft.category_id)
            for c in config.categories
        ),
        buildings=buildings,
        units=units,
        no_location_selected=draft.location_chosen and draft.building is None,
        phrases=tuple(
            RequestChoiceView(str(n), p.get(language), p.get(language) in draft.text)
            for n, p in enumerate(category.phrases if category else ())
        ),
        text=draft.text,
        text_count=f"{len(draft.text)}/{MAX_TEXT_CHARS}",
        can_next=_can_next(draft),
        phone_offered=config.key is not None,
        phone_shown=phone_shown,
        phone_typing=draft.phone_typing,
        review=_review(strings, config, draft) if draft.step == "review" else (),
        ticket=draft.submitted.ticket if draft.submitted else "",
        ticket_spoken=spoken_ticket(draft.submitted.ticket, "，" if language == "zh" else ", ")
        if draft.submitted
        else "",
        mine=tuple(_mine_view(strings, config, m) for m in mine),
        mine_phase=draft.status_phase,
        mine_status=status,
    )


def ticket_slip(
    strings: Strings, masked_name: str, request: SubmittedRequest, config: Requests, centre: str
) -> tuple[SlipLine, ...]:
    """诉求回执: the ticket (text and QR), category, location, the text, the date and the centre.
    The masked name as on every slip; no phone number, not even masked (docs/requests.md)."""
    lines = [SlipLine("heading", strings.text("slip.request.title"))]
    if centre:
        lines.append(SlipLine("centre", centre))
    lines.append(SlipLine("rule"))
    if masked_name:
        lines.append(SlipLine("name", strings.text("slip.bp.name"), masked_name))
    lines += [
        SlipLine("section", strings.text("slip.request.ticket")),
        SlipLine("big", request.ticket),
        SlipLine(
            "field",
            strings.text("requests.review.category"),
            category_text(strings, config, request.category_id),
        ),
        SlipLine(
            "field",
            strings.text("requests.review.location"),
            location_text(strings, config, request.building, request.unit),
        ),
        SlipLine("section", strings.text("requests.review.text")),
        SlipLine("text", request.text),
    ]
    if request.callback:
        lines.append(SlipLine("text", strings.text("slip.request.callback")))
    lines += [
        SlipLine("qr", request.ticket, strings.text("slip.request.qr")),
        SlipLine("rule"),
        SlipLine(
            "field",
            strings.text("slip.request.submitted_at"),
            when_text(strings, request.submitted_at),
        ),
        SlipLine("text", strings.text("slip.request.note")),
    ]
    return tuple(lines)
