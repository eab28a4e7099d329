"""Console pages for activities (docs/activities.md, "Pages"):

    /activities                                  the list per centre (filters), new (operator)
    /activities/new                              the form
    /activities                           POST   create a draft
    /activities/ID                               the activity, its push state and its roster
    /activities/ID/edit                   POST   change it (pushed again when published)
    /activities/ID/publish | cancel | push POST  offer it at its centre, cancel it, push again
    /activities/ID/signups/SID/confirm | refuse | attend   POST   staff decisions, attendance
    /activities/ID/roster.csv | .xlsx            the roster (operator+; audited)

Viewers read, operators act; every POST is CSRF-checked by the page decorator and audited in
the transaction that makes it. Residents appear as pseudonyms only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from city.activities.demo import DEMO_ACTIVITY, seed_activities_demo
from city.activities.messages import MESSAGES
from city.activities.publishing import DocumentRefused, publish_centre
from city.activities.roster import (
    ROSTER_STATES,
    confirm,
    counts,
    mark_attended,
    refuse,
    roster,
    roster_report,
)
from city.activities.service import (
    STATES,
    TEXT_FIELDS,
    ActivityError,
    ActivityInput,
    cancel_activity,
    centres,
    create_activity,
    get_activity,
    last_publication,
    list_activities,
    parse_form,
    publish_activity,
    update_activity,
)
from city.console.filters import choice_param, note_field, page_param, text_param
from city.console.modules import ConsoleModule, NavItem, Screen
from city.console.web import BadInput, PageContext, page
from city.publish.runtime import runtime_of
from city.reports.export import CONTENT_TYPES, to_csv, to_xlsx
from city.reports.labels import Lang

HERE = Path(__file__).resolve().parent
ACTIVITY_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
SIGNUP_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EXPORTS = ("csv", "xlsx")
DONE = (
    "created", "saved", "published", "cancelled", "pushed", "confirmed", "refused", "attended",
    "already_attended",
)  # fmt: skip


def _zone(ctx: PageContext) -> ZoneInfo:
    return ZoneInfo(ctx.console.config.timezone)


def _by(ctx: PageContext) -> str:
    return ctx.user.name if ctx.user else "?"


def _kick(ctx: PageContext) -> None:
    runtime = runtime_of(ctx.console)
    if runtime is not None:
        runtime.kick()


def _runtime_problem(ctx: PageContext) -> str | None:
    runtime = runtime_of(ctx.console)
    if runtime is None:
        return "the console's dispatcher is not running"
    return runtime.problem


def _activity_id(ctx: PageContext) -> str:
    value = str(ctx.request.path_params["activity_id"])
    if not ACTIVITY_ID.fullmatch(value):
        raise BadInput(ctx.t("activities.unknown"))
    return value


def _signup_id(ctx: PageContext) -> str:
    value = str(ctx.request.path_params["signup_id"])
    if not SIGNUP_ID.fullmatch(value):
        raise BadInput(ctx.t("activities.signup.unknown"))
    return value


def _refused(ctx: PageContext, exc: ActivityError) -> Response:
    status = 404 if exc.key in ("activities.unknown", "activities.signup.unknown") else 409
    return ctx.error(status, ctx.t(exc.key, **exc.values))


@page("viewer")
def index(ctx: PageContext) -> Response:
    """Coming activities, per centre and state."""
    centre = text_param(ctx.query, "centre", 130)
    state = choice_param(ctx.query, "state", STATES)
    past = ctx.query.get("past") == "1"
    size = ctx.console.config.console.page_size
    number = page_param(ctx.query)
    rows = list_activities(
        ctx.conn, centre=centre, state=state, past=past, limit=size + 1, offset=(number - 1) * size
    )
    more = len(rows) > size
    query = {k: v for k, v in (("centre", centre), ("state", state)) if v}
    if past:
        query["past"] = "1"

    def link(n: int) -> str:
        return "/activities?" + urlencode(query | {"page": str(n)})

    publication = None
    if centre and "/" in centre:
        city, _, name = centre.partition("/")
        publication = last_publication(ctx.conn, city, name)
    return ctx.render(
        "activities/index.html",
        activities=rows[:size],
        centres=centres(ctx.conn),
        centre=centre or "",
        state=state or "",
        past=past,
        page=number,
        pages=number + 1 if more else number,
        page_link=link,
        publication=publication,
        done=choice_param(ctx.query, "done", DONE),
    )


def _form_values(activity: dict[str, Any] | None, zone: ZoneInfo) -> dict[str, str]:
    if activity is None:
        return {"capacity": "30", "points": "0", "approval": "auto"}
    values = {name: str(activity[name]) for name in TEXT_FIELDS}
    for name in ("starts_at", "ends_at"):
        values[name] = activity[name].astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    values["centre"] = f"{activity['city']}/{activity['centre']}"
    values |= {k: str(activity[k]) for k in ("capacity", "points", "approval")}
    return values


def _new_page(ctx: PageContext, **extra: Any) -> Response:
    status = extra.pop("status", 200)
    return ctx.render(
        "activities/new.html",
        status=status,
        centres=centres(ctx.conn),
        zone=ctx.console.config.timezone,
        **({"values": _form_values(None, _zone(ctx)), "problems": {}} | extra),
    )


@page("operator")
def new(ctx: PageContext) -> Response:
    """The empty form."""
    values = _form_values(None, _zone(ctx))
    centre = text_param(ctx.query, "centre", 130)
    if centre:
        values["centre"] = centre
    return _new_page(ctx, values=values)


def _parsed(ctx: PageContext) -> tuple[ActivityInput | None, dict[str, str]]:
    data, problems = parse_form(ctx.form, _zone(ctx))
    words = {name: ctx.t(key, **values) for name, (key, values) in problems.items()}
    return data, words


@page("operator")
def create(ctx: PageContext) -> Response:
    """Save the form as a draft."""
    data, problems = _parsed(ctx)
    if data is None:
        return _new_page(ctx, values=dict(ctx.form), problems=problems, status=422)
    activity_id = create_activity(ctx.conn, data, by=_by(ctx), zone=_zone(ctx))
    ctx.audit(
        "activity.create",
        subject=activity_id,
        detail={"centre": f"{data.city}/{data.centre}", "capacity": data.capacity},
    )
    return ctx.redirect(f"/activities/{activity_id}?done=created")


def _detail(ctx: PageContext, activity: dict[str, Any], **extra: Any) -> Response:
    status = extra.pop("status", 200)
    state = choice_param(ctx.query, "state", ROSTER_STATES)
    size = ctx.console.config.console.page_size
    number = page_param(ctx.query)
    rows = roster(ctx.conn, activity["id"], state=state, limit=size + 1, offset=(number - 1) * size)
    more = len(rows) > size

    def link(n: int) -> str:
        return f"/activities/{activity['id']}?" + urlencode(
            {"page": str(n)} | ({"state": state} if state else {})
        )

    return ctx.render(
        "activities/activity.html",
        status=status,
        activity=activity,
        left=max(0, activity["capacity"] - activity["confirmed"]),
        signups=rows[:size],
        first_number=(number - 1) * size + 1,
        counts=counts(ctx.conn, activity["id"]),
        roster_state=state or "",
        page=number,
        pages=number + 1 if more else number,
        page_link=link,
        publication=last_publication(ctx.conn, activity["city"], activity["centre"]),
        centres=centres(ctx.conn),
        zone=ctx.console.config.timezone,
        problem=_runtime_problem(ctx),
        done=choice_param(ctx.query, "done", DONE),
        points_credited=ctx.query.get("points", ""),
        **({"values": _form_values(activity, _zone(ctx)), "problems": {}} | extra),
    )


@page("viewer")
def detail(ctx: PageContext) -> Response:
    """The activity, its push, its roster."""
    activity = get_activity(ctx.conn, _activity_id(ctx))
    if activity is None:
        return ctx.error(404, ctx.t("activities.unknown"))
    return _detail(ctx, activity)


def _push(ctx: PageContext, activity: dict[str, Any]) -> None:
    """Push the activity's centre again (after a staff change), audited with the version."""
    try:
        publication = publish_centre(ctx.conn, activity["city"], activity["centre"], by=_by(ctx))
    except DocumentRefused as exc:
        raise BadInput(ctx.t("activities.error.document", problem=str(exc))) from None
    if publication is not None:
        ctx.audit(
            "activity.push",
            subject=f"{activity['city']}/{activity['centre']}",
            detail={"version": publication.version, "kiosks": publication.kiosks},
        )
        _kick(ctx)


@page("operator")
def edit(ctx: PageContext) -> Response:
    """Change the activity; a published one is pushed again."""
    activity_id = _activity_id(ctx)
    activity = get_activity(ctx.conn, activity_id)
    if activity is None:
        return ctx.error(404, ctx.t("activities.unknown"))
    data, problems = _parsed(ctx)
    if data is None:
        return _detail(ctx, activity, values=dict(ctx.form), problems=problems, status=422)
    try:
        before = update_activity(ctx.conn, activity_id, data, by=_by(ctx))
    except ActivityError as exc:
        return _refused(ctx, exc)
    names = (*TEXT_FIELDS, "starts_at", "ends_at", "capacity", "points", "approval")
    changed = [name for name in names if before[name] != getattr(data, name)]
    ctx.audit("activity.edit", subject=activity_id, detail={"changed": changed})
    if before["state"] == "published":
        _push(ctx, before)
    return ctx.redirect(f"/activities/{activity_id}?done=saved")


@page("operator")
def publish(ctx: PageContext) -> Response:
    """Offer the draft at its centre's kiosks."""
    activity_id = _activity_id(ctx)
    try:
        activity = publish_activity(ctx.conn, activity_id, by=_by(ctx))
    except ActivityError as exc:
        return _refused(ctx, exc)
    ctx.audit("activity.publish", subject=activity_id)
    _push(ctx, activity)
    return ctx.redirect(f"/activities/{activity_id}?done=published")


@page("operator")
def cancel(ctx: PageContext) -> Response:
    """Cancel it; every sign-up with or waiting for a place is told."""
    activity_id = _activity_id(ctx)
    try:
        told = cancel_activity(ctx.conn, activity_id, by=_by(ctx))
    except ActivityError as exc:
        return _refused(ctx, exc)
    activity = get_activity(ctx.conn, activity_id)
    assert activity is not None
    ctx.audit("activity.cancel", subject=activity_id, detail={"signups_told": told})
    if activity["published_at"] is not None:
        _push(ctx, activity)
    _kick(ctx)
    return ctx.redirect(f"/activities/{activity_id}?done=cancelled")


@page("operator")
def push(ctx: PageContext) -> Response:
    """Push the centre's coming activities to its kiosks again."""
    activity = get_activity(ctx.conn, _activity_id(ctx))
    if activity is None:
        return ctx.error(404, ctx.t("activities.unknown"))
    try:
        publication = publish_centre(ctx.conn, activity["city"], activity["centre"], by=_by(ctx))
    except DocumentRefused as exc:
        raise BadInput(ctx.t("activities.error.document", problem=str(exc))) from None
    if publication is None:
        return ctx.error(409, ctx.t("activities.nothing_to_push"))
    ctx.audit(
        "activity.push",
        subject=f"{activity['city']}/{activity['centre']}",
        detail={"version": publication.version, "kiosks": publication.kiosks},
    )
    _kick(ctx)
    return ctx.redirect(f"/activities/{activity['id']}?done=pushed")


@page("operator")
def confirm_signup(ctx: PageContext) -> Response:
    """Staff give this sign-up a place."""
    activity_id, signup_id = _activity_id(ctx), _signup_id(ctx)
    try:
        confirm(ctx.conn, activity_id, signup_id, by=_by(ctx))
    except ActivityError as exc:
        return _refused(ctx, exc)
    ctx.audit("activity.signup.confirm", subject=signup_id, detail={"activity": activity_id})
    _kick(ctx)
    return ctx.redirect(f"/activities/{activity_id}?done=confirmed#roster")


@page("operator")
def refuse_signup(ctx: PageContext) -> Response:
    """Staff refuse this sign-up, with optional words for the resident."""
    activity_id, signup_id = _activity_id(ctx), _signup_id(ctx)
    reason = note_field(ctx.form, "reason", 200)
    try:
        refuse(ctx.conn, activity_id, signup_id, by=_by(ctx), reason=reason)
    except ActivityError as exc:
        return _refused(ctx, exc)
    ctx.audit(
        "activity.signup.refuse",
        subject=signup_id,
        detail={"activity": activity_id, "reason": reason},
    )
    _kick(ctx)
    return ctx.redirect(f"/activities/{activity_id}?done=refused#roster")


@page("operator")
def attend(ctx: PageContext) -> Response:
    """Mark attendance; the activity's points are credited once."""
    activity_id, signup_id = _activity_id(ctx), _signup_id(ctx)
    try:
        marked, points = mark_attended(ctx.conn, activity_id, signup_id, by=_by(ctx))
    except ActivityError as exc:
        return _refused(ctx, exc)
    if not marked:
        return ctx.redirect(f"/activities/{activity_id}?done=already_attended#roster")
    ctx.audit(
        "activity.attendance",
        subject=signup_id,
        detail={"activity": activity_id, "points": points},
    )
    return ctx.redirect(f"/activities/{activity_id}?done=attended&points={points}#roster")


@page("operator")
def export(ctx: PageContext) -> Response:
    """The roster as CSV or .xlsx (operators: it lists pseudonyms in full); audited."""
    activity = get_activity(ctx.conn, _activity_id(ctx))
    fmt = ctx.request.path_params["fmt"]
    if activity is None or fmt not in EXPORTS:
        return ctx.error(404, ctx.t("activities.unknown"))
    lang: Lang = "zh" if ctx.lang.startswith("zh") else "en"
    report = roster_report(ctx.conn, activity, _zone(ctx), lang)
    data = to_csv(report, lang) if fmt == "csv" else to_xlsx(report, lang)
    ctx.audit(
        "activity.export",
        subject=activity["id"],
        detail={"format": fmt, "rows": len(report.tables[0].rows)},
    )
    return Response(
        data,
        media_type=CONTENT_TYPES["csv" if fmt == "csv" else "xlsx"],
        headers={
            "Content-Disposition": f'attachment; filename="roster-{activity["id"]}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


SIGNUP = "/activities/{activity_id}/signups/{signup_id}"
MODULE = ConsoleModule(
    name="activities",
    routes=[
        Mount(
            "/activities/static", StaticFiles(directory=HERE / "static"), name="activities-static"
        ),
        Route("/activities", index, methods=["GET"]),
        Route("/activities", create, methods=["POST"]),
        Route("/activities/new", new, methods=["GET"]),
        Route("/activities/{activity_id}", detail, methods=["GET"]),
        Route("/activities/{activity_id}/edit", edit, methods=["POST"]),
        Route("/activities/{activity_id}/publish", publish, methods=["POST"]),
        Route("/activities/{activity_id}/cancel", cancel, methods=["POST"]),
        Route("/activities/{activity_id}/push", push, methods=["POST"]),
        Route(SIGNUP + "/confirm", confirm_signup, methods=["POST"]),
        Route(SIGNUP + "/refuse", refuse_signup, methods=["POST"]),
        Route(SIGNUP + "/attend", attend, methods=["POST"]),
        Route("/activities/{activity_id}/roster.{fmt}", export, methods=["GET"]),
    ],
    nav=[NavItem("/activities", "nav.activities", "viewer", order=70)],
    messages=MESSAGES,
    templates=HERE / "templates",
    screens=[
        Screen("activities", "/activities", role="viewer"),
        Screen("activities-activity", f"/activities/{DEMO_ACTIVITY}"),
        Screen("activities-roster-export", f"/activities/{DEMO_ACTIVITY}/roster.csv"),
    ],
    demo=seed_activities_demo,
)
