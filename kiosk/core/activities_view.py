"""The activities screen's view-model and the sign-up slip (pure): activities + the resident's
sign-ups + strings → what the screen shows and what the printer prints."""

from __future__ import annotations

from datetime import datetime

from config.activities import Activities, Activity
from kiosk.core.i18n import Strings
from kiosk.core.ports import StoredSignup
from kiosk.core.resident import ResidentState
from kiosk.core.slips import SlipLine
from kiosk.core.views import ActivitiesView, ActivityView, SignupView

GOOD_NEWS = frozenset({"signed_up", "cancelled"})
REFERENCE_CHARS = 8  # the sign-up id's tail on the slip: what the organiser reads at the door


def when_text(strings: Strings, starts: datetime, ends: datetime) -> str:
    """`12月10日 星期四 08:30-09:30`, in the activity's own time zone."""
    day = strings.text(
        "datetime.activity_day",
        month=starts.month,
        day=starts.day,
        month_name=strings.text(f"month.{starts.month}"),
        weekday=strings.text(f"weekday.{starts.weekday()}"),
    )
    return f"{day} {starts.hour:02d}:{starts.minute:02d}-{ends.hour:02d}:{ends.minute:02d}"


def _activity_view(
    strings: Strings, activity: Activity, *, identified: bool, signed_up: bool
) -> ActivityView:
    language = strings.language
    places = (
        strings.text("activities.places_left", count=activity.places_left)
        if activity.places_left
        else strings.text("activities.full")
    )
    return ActivityView(
        activity_id=activity.id,
        title=activity.title.get(language),
        when_text=when_text(strings, activity.starts, activity.ends),
        place=strings.text("activities.place", place=activity.place.get(language)),
        organiser=strings.text("activities.organiser", organiser=activity.organiser.get(language)),
        audience=strings.text("activities.audience", audience=activity.audience.get(language)),
        places_text=places,
        can_sign_up=identified and not signed_up and activity.places_left > 0,
        signed_up=signed_up,
    )


def state_text(strings: Strings, signup: StoredSignup) -> str:
    """Where the city's answer stands, in words (a refusal with the city's reason)."""
    if signup.state == "refused" and signup.reason:
        return strings.text("activities.state.refused_reason", reason=signup.reason)
    return strings.text(f"activities.state.{signup.state}")


def _signup_view(strings: Strings, signup: StoredSignup, activities: Activities) -> SignupView:
    zh = strings.language != "en"
    current = activities.get(signup.activity_id)
    ends = current.ends if current is not None else signup.starts_at
    starts = current.starts if current is not None else signup.starts_at
    place = signup.place_zh if zh else signup.place_en
    state = signup.state if signup.state != "cancelled" else "refused"
    return SignupView(
        signup_id=signup.signup_id,
        title=signup.title_zh if zh else signup.title_en,
        when_text=when_text(strings, starts, ends),
        place=strings.text("activities.place", place=place),
        state=state,
        state_text=state_text(strings, signup),
        can_cancel=signup.state in ("pending", "confirmed"),
    )


def activities_view(
    strings: Strings,
    resident: ResidentState,
    activities: Activities,
    greeting: str,
    now: datetime,
) -> ActivitiesView:
    """The activities screen (empty outside an activities session); ended ones are left out."""
    if resident.flow != "activities":
        return ActivitiesView()
    identified = resident.subject is not None
    active = {s.activity_id for s in resident.signups if s.state in ("pending", "confirmed")}
    notice = resident.activity_notice
    if notice is None and not identified:
        notice = "identify"
    coming = [a for a in activities.activities if a.ends > now]
    return ActivitiesView(
        identified=identified,
        greeting=greeting,
        activities=tuple(
            _activity_view(strings, a, identified=identified, signed_up=a.id in active)
            for a in coming
        ),
        signups=tuple(_signup_view(strings, s, activities) for s in resident.signups),
        notice=strings.text(f"activities.notice.{notice}") if notice else "",
        notice_ok=notice in GOOD_NEWS,
        empty_text="" if coming else strings.text("activities.empty"),
    )


def signup_slip(
    strings: Strings, masked_name: str, signup: StoredSignup, activities: Activities, centre: str
) -> tuple[SlipLine, ...]:
    """活动报名凭条: masked name, the activity, when and where, the state, a short reference."""
    view = _signup_view(strings, signup, activities)
    lines = [SlipLine("heading", strings.text("slip.signup.title"))]
    if centre:
        lines.append(SlipLine("centre", centre))
    lines.append(SlipLine("rule"))
    if masked_name:
        lines.append(SlipLine("name", strings.text("slip.bp.name"), masked_name))
    reference = signup.signup_id.replace("-", "")[-REFERENCE_CHARS:].upper()
    lines += [
        SlipLine("field", strings.text("slip.signup.reference"), reference),
        SlipLine("title", view.title),
        SlipLine("text", view.when_text),
        SlipLine("text", view.place),
        SlipLine("section", strings.text("slip.signup.state")),
        SlipLine("strong", view.state_text),
        SlipLine("rule"),
        SlipLine("text", strings.text("slip.signup.note")),
    ]
    return tuple(lines)
