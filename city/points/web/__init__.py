"""The red points pages of the console (docs/points.md "Console pages", docs/console.md).

    /points                                   totals per period and centre, recent entries and
                                              redemptions, the pseudonym search (?q=HEX prefix)
    /points/accounts/KEY_ID/SUBJECT           one pseudonym: balance, every entry, redemptions
    /points/earn                     GET/POST credit a volunteering shift (operator+)
    /points/rewards                  GET/POST the catalogue; create (operator+)
    /points/rewards/ID               GET/POST edit titles, price, stock, active (operator+)
    /points/export/NAME.FMT                   entries or redemptions of the period, CSV / .xlsx

Residents appear as pseudonyms only (the city has nothing else). Staff notes and vouchers are
shown to operators and admins, never to viewers. Every change goes through city/points/ledger.py
and is audited in the request's transaction; POSTs are CSRF- and role-checked by `page`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from city.console.filters import page_param
from city.console.modules import ConsoleModule, NavItem, Screen
from city.console.web import BadInput, PageContext, page
from city.points import ledger, staff
from city.points.forms import (
    Problem,
    outcome_param,
    parse_earn,
    parse_reward,
    pseudonym,
    search_prefix,
)
from city.points.web.demo import seed_points_demo
from city.points.web.messages import MESSAGES
from city.reports.export import CONTENT_TYPES, Format, filename, render
from city.reports.filters import FilterError, parse_filter
from city.reports.labels import Lang
from city.reports.table import Cell, Column, Report, Table

HERE = Path(__file__).resolve().parent
EXPORT_FORMATS: tuple[Format, ...] = ("csv", "xlsx")
EXPORT_NAMES = ("entries", "redemptions")
RECENT = 50


def _lang(ctx: PageContext) -> Lang:
    return "zh" if ctx.lang.startswith("zh") else "en"


def _zone(ctx: PageContext) -> ZoneInfo:
    return ZoneInfo(ctx.console.config.timezone)


def _period(ctx: PageContext) -> staff.Period:
    zone = _zone(ctx)
    try:
        f = parse_filter(
            ctx.query.get("from"), ctx.query.get("to"), None, today=datetime.now(zone).date()
        )
    except FilterError as exc:
        raise BadInput(ctx.t("points.bad_filter", problem=str(exc))) from None
    return staff.Period(f.first, f.last, zone)


def _period_query(period: staff.Period) -> str:
    return urlencode({"from": period.first.isoformat(), "to": period.last.isoformat()})


def account_path(key_id: str, subject: str) -> str:
    """The account page of a pseudonym."""
    return f"/points/accounts/{quote(key_id, safe='')}/{subject}"


def _staff_name(ctx: PageContext) -> str:
    assert ctx.user is not None
    return ctx.user.name


@page("viewer")
def overview(ctx: PageContext) -> Response:
    """Totals of the period, the newest entries and redemptions, the pseudonym search."""
    period = _period(ctx)
    try:
        prefix = search_prefix(ctx.query.get("q"))
        outcome = outcome_param(ctx.query.get("outcome"))
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    found = staff.search(ctx.conn, prefix) if prefix else None
    if found is not None and len(found) == 1 and len(prefix or "") == 64:
        return ctx.redirect(account_path(found[0]["key_id"], found[0]["subject"]))
    query = _period_query(period)
    return ctx.render(
        "points/overview.html",
        period=period,
        sums=staff.totals(ctx.conn, period),
        entries=staff.recent_entries(ctx.conn, RECENT),
        redemptions=staff.recent_redemptions(ctx.conn, outcome, RECENT),
        outcome=outcome or "all",
        prefix=prefix or "",
        found=found,
        period_query=query,
        exports={
            (name, fmt): f"/points/export/{name}.{fmt}?{query}"
            for name in EXPORT_NAMES
            for fmt in EXPORT_FORMATS
        },
    )


def _resident(ctx: PageContext) -> ledger.Resident:
    resident = pseudonym(ctx.request.path_params["key_id"], ctx.request.path_params["subject"])
    if resident is None:
        raise BadInput(ctx.t("points.problem.pseudonym"))
    return resident


@page("viewer")
def account_page(ctx: PageContext) -> Response:
    """One pseudonym: balance, every entry (paged) with actor and balance after, redemptions."""
    resident = _resident(ctx)
    found = staff.account(ctx.conn, resident)
    size = ctx.console.config.console.page_size
    number = page_param(ctx.query)
    entries: list[dict[str, Any]] = []
    total = 0
    redemptions: list[dict[str, Any]] = []
    if found is not None:
        entries, total = staff.account_entries(
            ctx.conn, found.id, limit=size, offset=(number - 1) * size
        )
        redemptions = staff.account_redemptions(ctx.conn, found.id)
    pages = max(1, -(-total // size))
    here = account_path(resident.key_id, resident.subject)
    done = ctx.query.get("done")
    return ctx.render(
        "points/account.html",
        resident=resident,
        account=found,
        entries=entries,
        total=total,
        redemptions=redemptions,
        page=min(number, pages),
        pages=pages,
        page_link=lambda n: f"{here}?page={n}",
        done=done if done in ("credited", "already") else None,
        done_reference=(ctx.query.get("reference") or "")[:200],
    )


def _earn_form(
    ctx: PageContext, values: dict[str, str], problems: list[Problem], status: int = 200
) -> Response:
    return ctx.render(
        "points/earn.html",
        status=status,
        values=values,
        problems={p.field: ctx.t(f"points.problem.{p.code}") for p in problems},
        max_points=ledger.MAX_EARN_POINTS,
    )


@page("operator")
def earn_form(ctx: PageContext) -> Response:
    """The volunteering credit form, prefilled with a pseudonym from its account page."""
    values = {key: (ctx.query.get(key) or "")[:200] for key in ("key_id", "subject", "reference")}
    return _earn_form(ctx, values | {"points": "", "note": ""}, [])


@page("operator")
def earn(ctx: PageContext) -> Response:
    """Credit points for a volunteering shift once: a repeat of the same shift credits nothing
    (the ledger's unique (account, source, reference)) and says so."""
    parsed = parse_earn(ctx.form)
    if isinstance(parsed, list):
        fields = ("key_id", "subject", "points", "reference", "note")
        values = {key: ctx.form.get(key, "")[:500] for key in fields}
        return _earn_form(ctx, values, parsed, status=422)
    ctx.conn.execute(f"SET LOCAL lock_timeout = '{ledger.LOCK_TIMEOUT}'")
    try:
        _balance, credited = ledger.earn(
            ctx.conn,
            parsed.resident,
            parsed.points,
            source="volunteering",
            reference=parsed.reference,
            actor=_staff_name(ctx),
            note=parsed.note,
        )
    except ledger.LedgerError as exc:
        raise BadInput(str(exc)) from None
    if not credited:
        ctx.audit(
            "points.earn_repeat",
            subject=f"{parsed.resident.key_id}:{parsed.resident.subject[:12]}",
            detail={"source": "volunteering", "reference": parsed.reference},
        )
    done = "credited" if credited else "already"
    query = urlencode({"done": done, "reference": parsed.reference})
    return ctx.redirect(account_path(parsed.resident.key_id, parsed.resident.subject) + "?" + query)


def _rewards_page(
    ctx: PageContext,
    *,
    values: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
    status: int = 200,
) -> Response:
    done = ctx.query.get("done")
    return ctx.render(
        "points/rewards.html",
        status=status,
        rewards=ledger.rewards(ctx.conn),
        values=_reward_values(values or {"active": "1"}),
        problems={p.field: ctx.t(f"points.problem.{p.code}") for p in problems or []},
        done=done if done in ("created", "saved") else None,
        done_id=(ctx.query.get("reward") or "")[:64],
    )


@page("viewer")
def rewards(ctx: PageContext) -> Response:
    """The catalogue, withdrawn rewards included; operators add rewards here."""
    return _rewards_page(ctx)


def _reward_values(form: Any) -> dict[str, str]:
    keys = ("reward_id", "title_zh", "title_en", "points", "stock", "active")
    return {key: str(form.get(key, ""))[:200] for key in keys}


@page("operator")
def create_reward(ctx: PageContext) -> Response:
    """A new reward (an id that exists already is refused, never overwritten)."""
    parsed = parse_reward(ctx.form)
    if isinstance(parsed, list):
        return _rewards_page(ctx, values=_reward_values(ctx.form), problems=parsed, status=422)
    try:
        _save(ctx, parsed, new=True)
    except ledger.LedgerError:
        problem = Problem("reward_id", "reward_exists")
        return _rewards_page(ctx, values=_reward_values(ctx.form), problems=[problem], status=409)
    return ctx.redirect(
        "/points/rewards?" + urlencode({"done": "created", "reward": parsed.reward_id})
    )


def _save(ctx: PageContext, form: Any, *, new: bool) -> None:
    ledger.set_reward(
        ctx.conn,
        form.reward_id,
        title_zh=form.title_zh,
        title_en=form.title_en,
        points=form.points,
        stock=form.stock,
        active=form.active,
        actor=_staff_name(ctx),
        new=new,
    )


def _reward_or_404(ctx: PageContext) -> ledger.Reward | Response:
    reward_id = ctx.request.path_params["reward_id"]
    found = ledger.get_reward(ctx.conn, reward_id[:64])
    if found is None:
        return ctx.error(404, ctx.t("points.no_such_reward", id=reward_id[:64]))
    return found


@page("operator")
def reward_form(ctx: PageContext) -> Response:
    """Edit one reward: titles, price, stock, active or withdrawn."""
    found = _reward_or_404(ctx)
    if isinstance(found, Response):
        return found
    values = {
        "title_zh": found.title_zh,
        "title_en": found.title_en or "",
        "points": str(found.points),
        "stock": "" if found.stock is None else str(found.stock),
        "active": "1" if found.active else "",
    }
    return ctx.render(
        "points/reward.html", reward=found, values=_reward_values(values), problems={}
    )


@page("operator")
def save_reward(ctx: PageContext) -> Response:
    """Save an edited reward (audited as points.reward, like the CLI's)."""
    found = _reward_or_404(ctx)
    if isinstance(found, Response):
        return found
    parsed = parse_reward(ctx.form, reward_id=found.reward_id)
    if isinstance(parsed, list):
        problems = {p.field: ctx.t(f"points.problem.{p.code}") for p in parsed}
        return ctx.render(
            "points/reward.html",
            status=422,
            reward=found,
            values=_reward_values(ctx.form),
            problems=problems,
        )
    try:
        _save(ctx, parsed, new=False)
    except ledger.LedgerError as exc:
        raise BadInput(str(exc)) from None
    return ctx.redirect(
        "/points/rewards?" + urlencode({"done": "saved", "reward": parsed.reward_id})
    )


def _when(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(microsecond=0)


def _entries_table(rows: list[dict[str, Any]], zone: ZoneInfo, notes: bool) -> Table:
    columns = [
        Column("at", "时间", "Time"),
        Column("key_id", "密钥", "Key id"),
        Column("subject", "假名", "Pseudonym"),
        Column("kind", "类型", "Kind"),
        Column("points", "积分", "Points"),
        Column("balance_after", "余额", "Balance after"),
        Column("source", "来源", "Source"),
        Column("reference", "依据", "Reference"),
        Column("actor", "操作者", "Actor"),
    ]
    if notes:
        columns.append(Column("note", "备注", "Note"))
    out: list[tuple[Cell, ...]] = []
    for r in rows:
        cells: list[Cell] = [
            _when(r["created_at"], zone),
            r["key_id"],
            r["subject"],
            r["kind"],
            int(r["points"]),
            int(r["balance_after"]),
            r["source"],
            r["reference"],
            r["actor"],
        ]
        if notes:
            cells.append(r["note"])
        out.append(tuple(cells))
    return Table("entries", ("积分流水", "Ledger entries"), tuple(columns), out)


def _redemptions_table(rows: list[dict[str, Any]], zone: ZoneInfo, vouchers: bool) -> Table:
    columns = [
        Column("at", "时间", "Time"),
        Column("redemption_id", "兑换编号", "Redemption id"),
        Column("key_id", "密钥", "Key id"),
        Column("subject", "假名", "Pseudonym"),
        Column("reward_id", "奖励", "Reward"),
        Column("points", "积分", "Points"),
        Column("outcome", "结果", "Outcome"),
        Column("reason", "原因", "Reason"),
        Column("kiosk", "终端", "Kiosk"),
    ]
    if vouchers:
        columns.append(Column("voucher", "兑换券", "Voucher"))
    out: list[tuple[Cell, ...]] = []
    for r in rows:
        cells: list[Cell] = [
            _when(r["created_at"], zone),
            r["redemption_id"],
            r["key_id"],
            r["subject"],
            r["reward_id"],
            int(r["points"]),
            r["outcome"],
            r["reason"],
            r["kiosk"],
        ]
        if vouchers:
            cells.append(r["voucher"])
        out.append(tuple(cells))
    return Table("redemptions", ("积分兑换", "Redemptions"), tuple(columns), out)


@page("viewer")
def export(ctx: PageContext) -> Response:
    """The period's entries or redemptions as CSV or .xlsx (notes and vouchers: operator+);
    audited."""
    name = ctx.request.path_params["name"]
    fmt = ctx.request.path_params["fmt"]
    if name not in EXPORT_NAMES or fmt not in EXPORT_FORMATS:
        return ctx.error(404, ctx.t("points.no_such_export"))
    assert ctx.user is not None
    period = _period(ctx)
    zone = _zone(ctx)
    operator = ctx.user.can("operator")
    if name == "entries":
        table = _entries_table(staff.period_entries(ctx.conn, period), zone, operator)
    else:
        table = _redemptions_table(staff.period_redemptions(ctx.conn, period), zone, operator)
    report = Report(
        name=f"points_{name}",
        title=table.title,
        period=(period.first, period.last),
        centre="",
        tables=(table,),
    )
    lang = _lang(ctx)
    data = render(report, fmt, lang)
    ctx.audit(
        "points.export",
        subject=name,
        detail={"format": fmt, "filter": _period_query(period), "rows": len(table.rows)},
    )
    return Response(
        data,
        media_type=CONTENT_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename(report, fmt)}"',
            "Cache-Control": "no-store",
        },
    )


MODULE = ConsoleModule(
    name="points",
    routes=[
        Route("/points", overview, methods=["GET"]),
        Route("/points/accounts/{key_id}/{subject}", account_page, methods=["GET"]),
        Route("/points/earn", earn_form, methods=["GET"]),
        Route("/points/earn", earn, methods=["POST"]),
        Route("/points/rewards", rewards, methods=["GET"]),
        Route("/points/rewards", create_reward, methods=["POST"]),
        Route("/points/rewards/{reward_id}", reward_form, methods=["GET"]),
        Route("/points/rewards/{reward_id}", save_reward, methods=["POST"]),
        Route("/points/export/{name}.{fmt}", export, methods=["GET"]),
        Mount("/points/static", StaticFiles(directory=HERE / "static"), name="points-static"),
    ],
    nav=[NavItem("/points", "nav.points", "viewer", order=75)],
    messages=MESSAGES,
    templates=HERE / "templates",
    screens=[
        Screen("points-overview", "/points", role="viewer"),
        Screen("points-overview-operator", "/points?outcome=refused"),
        Screen("points-search", "/points?q=a1"),
        Screen("points-account", f"/points/accounts/demo-key/{'a1' * 32}"),
        Screen("points-account-viewer", f"/points/accounts/demo-key/{'a1' * 32}", role="viewer"),
        Screen("points-earn", "/points/earn"),
        Screen("points-rewards", "/points/rewards"),
        Screen("points-reward", "/points/rewards/haircut"),
        Screen("points-export", "/points/export/entries.csv"),
    ],
    demo=seed_points_demo,
)
