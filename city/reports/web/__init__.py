"""The report pages of the console (docs/console.md "Adding pages", docs/reports.md).

/reports/ratings, /reports/followups (answer and close: operator+, audited), /reports/usage,
/reports/health (the early-warning list: operator+, every view audited), and
/reports/export/NAME.FMT (CSV or .xlsx of what the page shows, audited). Every filter goes
through city/reports/filters.py; a bad value is a 400 with its message.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from city.console.filters import page_param
from city.console.modules import ConsoleModule, NavItem, Screen
from city.console.web import BadInput, PageContext, page
from city.reports.build import REPORT_NAMES, ReportName, build_report, calendar_of
from city.reports.export import CONTENT_TYPES, Format, filename, render
from city.reports.filters import FilterError, ReportFilter, parse_filter
from city.reports.followups import (
    AnswerError,
    StatusFilter,
    answer_followup,
    close_followup,
    followup_counts,
    get_followup,
    list_followups,
    parse_answer,
    parse_event_id,
    parse_status,
)
from city.reports.health import class_counts, early_warnings
from city.reports.labels import CLASS_ORDER, LEVELS, Lang, code_label, level_label, ordered
from city.reports.ratings import ratings_report
from city.reports.table import Report, Table
from city.reports.usage import WEEKDAYS, usage_data, usage_tables
from city.reports.web.charts import (
    ENDED_COLOURS,
    bar_chart,
    class_chart,
    heatmap_chart,
    levels_by_day_chart,
    pie_chart,
)
from city.reports.web.messages import MESSAGES

HERE = Path(__file__).resolve().parent
EXPORT_FORMATS: tuple[Format, ...] = ("csv", "xlsx")
TABLE_ROWS = 50  # rows a page shows of a city-wide table; the export has all of them
FLAG_ROWS = 100


def as_count(value: object) -> int:
    """A table cell that holds a count (0 for anything else)."""
    return value if isinstance(value, int) else 0


def report_lang(ctx: PageContext) -> Lang:
    """The console's language as the reports' ('zh-CN' → 'zh')."""
    return "zh" if ctx.lang.startswith("zh") else "en"


def today_of(ctx: PageContext) -> Any:
    """Today in the city's time zone."""
    return datetime.now(ZoneInfo(ctx.console.config.timezone)).date()


def report_filter(ctx: PageContext, values: Any = None) -> ReportFilter:
    """from / to / centre of the query (or a form), parsed; BadInput when unusable."""
    source = ctx.query if values is None else values
    try:
        return parse_filter(
            source.get("from"), source.get("to"), source.get("centre"), today=today_of(ctx)
        )
    except FilterError as exc:
        raise BadInput(ctx.t("reports.bad_filter", problem=str(exc))) from None


def status_filter(ctx: PageContext, values: Any = None) -> StatusFilter:
    """The follow-up list's status filter."""
    source = ctx.query if values is None else values
    try:
        return parse_status(source.get("status"))
    except FilterError as exc:
        raise BadInput(ctx.t("reports.bad_filter", problem=str(exc))) from None


def filter_query(f: ReportFilter, **extra: Any) -> str:
    """The query string that gives this filter back."""
    values = {"from": f.first.isoformat(), "to": f.last.isoformat()}
    if f.centre:
        values["centre"] = f.centre_label()
    values |= {k: v for k, v in extra.items() if v not in (None, "")}
    return urlencode(values)


def _centres(ctx: PageContext) -> list[str]:
    rows = ctx.conn.execute(
        "SELECT DISTINCT city || '/' || centre FROM kiosks ORDER BY 1 LIMIT 20000"
    ).fetchall()
    return [r[0] for r in rows]


def _common(ctx: PageContext, f: ReportFilter, name: str, **extra: Any) -> dict[str, Any]:
    query = filter_query(f, **extra)
    return {
        "flt": f,
        "report_name": name,
        "centre_options": _centres(ctx),
        "exports": {fmt: f"/reports/export/{name}.{fmt}?{query}" for fmt in EXPORT_FORMATS},
        "filter_query": query,
        "base_query": filter_query(f),
    }


def table_view(table: Table, lang: Lang, limit: int | None = None) -> dict[str, Any]:
    """Headings and formatted cells of a report table (numbers right-aligned, rates in %)."""
    rates = [c.key.endswith("_rate") for c in table.columns]
    rows = []
    for row in table.rows[:limit]:
        cells = []
        for value, rate in zip(row, rates, strict=True):
            if value is None:
                cells.append(("—", "num" if rate else ""))
            elif rate and isinstance(value, float):
                cells.append((f"{value * 100:.1f}%", "num"))
            elif isinstance(value, bool):
                cells.append((str(value), ""))
            elif isinstance(value, int | float):
                cells.append((f"{value:,}" if isinstance(value, int) else f"{value:g}", "num"))
            elif isinstance(value, datetime):
                cells.append((value.strftime("%Y-%m-%d %H:%M"), ""))
            else:
                cells.append((str(value), ""))
        rows.append(cells)
    prefix = "差评原因：" if lang == "zh" else "Reason: "
    grouped = [c.key.startswith("reason_") for c in table.columns]
    groups: list[tuple[str, int]] = []
    for is_reason in grouped:
        label = prefix.rstrip("：: ") if is_reason else ""
        if groups and groups[-1][0] == label:
            groups[-1] = (label, groups[-1][1] + 1)
        else:
            groups.append((label, 1))
    return {
        "title": table.title_in(lang),
        "name": table.name,
        "groups": groups if any(grouped) else [],
        "headings": [
            (
                c.label(lang).removeprefix(prefix) if grouped[i] else c.label(lang),
                "num" if rates[i] or _numeric(table, i) else "",
            )
            for i, c in enumerate(table.columns)
        ],
        "rows": rows,
        "total": len(table.rows),
        "shown": len(rows),
    }


def _numeric(table: Table, index: int) -> bool:
    return any(isinstance(r[index], int | float) for r in table.rows[:20])


@page("viewer")
def ratings(ctx: PageContext) -> Response:
    """好差评: totals, levels by day, per centre, per item (per centre and item with a centre)."""
    f = report_filter(ctx)
    lang = report_lang(ctx)
    report = ratings_report(ctx.conn, f, lang, detail=False)  # the export has centre × item
    by_centre, by_item, by_day = (report.table(n) for n in ("by_centre", "by_item", "by_day"))
    totals = dict.fromkeys(LEVELS, 0)
    reasons: dict[str, int] = {}
    for row in by_day.rows:
        for index, level in enumerate(LEVELS):
            totals[level] += as_count(row[1 + index])
        for column, value in zip(by_day.columns, row, strict=True):
            if column.key.startswith("reason_") and value:
                key = column.key.removeprefix("reason_")
                reasons[key] = reasons.get(key, 0) + as_count(value)
    total = sum(totals.values())
    low = totals[1] + totals[2]
    counts = followup_counts(ctx.conn, f, today=today_of(ctx))
    return ctx.render(
        "reports/ratings.html",
        total=total,
        low=low,
        rate=None if not total else (total - low) / total,
        open_followups=counts["open"],
        overdue=counts["overdue"],
        levels_chart=levels_by_day_chart(by_day, lang),
        level_pie=pie_chart(
            [(level_label(n, lang), totals[n]) for n in LEVELS],
            colours=["#1b7f3b", "#52a56a", "#c9a227", "#d9731a", "#b3261e"],
        ),
        reasons=[
            (code_label("reason", r, lang), reasons[r]) for r in ordered("reason", list(reasons))
        ],
        by_centre=table_view(by_centre, lang, TABLE_ROWS),
        by_item=table_view(by_item, lang, 20),
        **_common(ctx, f, "ratings"),
    )


@page("viewer")
def followups(ctx: PageContext) -> Response:
    """The follow-up list: filters, status tabs, answer and close forms (operator+)."""
    f = report_filter(ctx)
    status = status_filter(ctx)
    today = today_of(ctx)
    size = ctx.console.config.console.page_size
    counts = followup_counts(ctx.conn, f, today=today)
    pages = max(1, -(-counts[status] // size))
    current = min(page_param(ctx.query), pages)
    rows = list_followups(ctx.conn, f, status, today=today, limit=size, offset=(current - 1) * size)
    zone = ZoneInfo(ctx.console.config.timezone)
    lang = report_lang(ctx)
    done = ctx.query.get("done")
    return ctx.render(
        "reports/followups.html",
        list_status=status,
        counts=counts,
        rows=[
            {
                "row": r,
                "level": level_label(r.level, lang),
                "reasons": [code_label("reason", x, lang) for x in r.reasons],
                "overdue": r.overdue(today, zone),
                "rated_at": r.rated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                "status_label": code_label("status", r.status, lang),
            }
            for r in rows
        ],
        page=current,
        pages=pages,
        page_link=lambda n: "/reports/followups?" + filter_query(f, status=status, page=n),
        done=done if done in ("answered", "closed") else None,
        followup_days=ctx.console.config.reports.followup_working_days,
        **_common(ctx, f, "followups", status=status),
    )


def _back(ctx: PageContext, done: str) -> Response:
    f = report_filter(ctx, ctx.form)
    status = status_filter(ctx, ctx.form)
    return ctx.redirect("/reports/followups?" + filter_query(f, status=status, done=done))


def _followup_id(ctx: PageContext) -> str:
    try:
        return parse_event_id(ctx.request.path_params["event_id"])
    except FilterError as exc:
        raise BadInput(str(exc)) from None


@page("operator")
def answer(ctx: PageContext) -> Response:
    """open → answered with the operator's answer; audited in the same transaction."""
    event_id = _followup_id(ctx)
    try:
        text = parse_answer(ctx.form.get("answer", ""))
    except AnswerError as exc:
        raise BadInput(ctx.t("reports.followups.bad_answer", problem=str(exc))) from None
    assert ctx.user is not None
    if not answer_followup(ctx.conn, event_id, text, ctx.user.name, datetime.now(ZoneInfo("UTC"))):
        raise BadInput(ctx.t("reports.followups.not_open"))
    ctx.audit("followup.answer", subject=event_id, detail={"answer": text})
    return _back(ctx, "answered")


@page("operator")
def close(ctx: PageContext) -> Response:
    """answered → closed, or open → closed with its answer in the same step; audited."""
    event_id = _followup_id(ctx)
    raw = ctx.form.get("answer", "")
    try:
        text = parse_answer(raw) if raw.strip() else None
    except AnswerError as exc:
        raise BadInput(ctx.t("reports.followups.bad_answer", problem=str(exc))) from None
    item = get_followup(ctx.conn, event_id)
    if item is None or item.status == "closed":
        raise BadInput(ctx.t("reports.followups.not_open"))
    if item.status == "open" and text is None:
        raise BadInput(ctx.t("reports.followups.answer_needed"))
    assert ctx.user is not None
    now = datetime.now(ZoneInfo("UTC"))
    if not close_followup(ctx.conn, event_id, ctx.user.name, now, answer=text):
        raise BadInput(ctx.t("reports.followups.not_open"))
    ctx.audit("followup.close", subject=event_id, detail={"answer": text or item.answer})
    return _back(ctx, "closed")


@page("viewer")
def usage(ctx: PageContext) -> Response:
    """Sessions by day and by hour of the week, items, identification, the opening check."""
    f = report_filter(ctx)
    lang = report_lang(ctx)
    config = ctx.console.config
    data = usage_data(
        ctx.conn,
        f,
        today=today_of(ctx),
        calendar=calendar_of(config),
        min_open_hours=config.reports.min_open_hours,
        flag_limit=FLAG_ROWS,
    )
    report = usage_tables(data, f, lang)
    sessions = sum(data.by_day.values())
    ended = sum(data.ended.values())
    weekdays = [w[0 if lang == "zh" else 1] for w in WEEKDAYS]
    ends = ordered("ended", list(data.ended))
    return ctx.render(
        "reports/usage.html",
        sessions=sessions,
        completed=data.ended.get("completed", 0),
        timed_out=data.ended.get("idle_timeout", 0),
        completed_rate=None if not ended else data.ended.get("completed", 0) / ended,
        flags_total=data.flags_total,
        min_open_hours=f"{config.reports.min_open_hours:g}",
        day_chart=bar_chart(
            [d.isoformat() for d in data.by_day],
            [list(data.by_day.values())],
            [ctx.t("reports.usage.sessions")],
            colours=["#0b5cad"],
        ),
        heatmap=heatmap_chart(data.heatmap, weekdays),
        ended_chart=pie_chart(
            [(code_label("ended", e, lang), data.ended[e]) for e in ends],
            colours=[ENDED_COLOURS.get(e, "#8a94a3") for e in ends],
        ),
        items=table_view(report.table("items"), lang, 20),
        identification=table_view(report.table("identification"), lang),
        centres=table_view(report.table("centres"), lang, TABLE_ROWS),
        flags=table_view(report.table("opening_check"), lang, FLAG_ROWS),
        **_common(ctx, f, "usage"),
    )


@page("viewer")
def health(ctx: PageContext) -> Response:
    """Class distribution per centre; the early-warning list for operators (audited view)."""
    f = report_filter(ctx)
    lang = report_lang(ctx)
    counts = class_counts(ctx.conn, f)
    totals: dict[str, int] = {}
    for per_class in counts.values():
        for klass, n in per_class.items():
            totals[klass] = totals.get(klass, 0) + n
    classes = [c for c in CLASS_ORDER if c in totals] + sorted(set(totals) - set(CLASS_ORDER))
    warnings = None
    assert ctx.user is not None
    if ctx.user.can("operator"):
        warnings = early_warnings(ctx.conn, f, ctx.console.config.reports.warning_window_days)
        ctx.audit(
            "report.view",
            subject="health.early_warning",
            detail={"filter": filter_query(f), "residents": len(warnings)},
        )
    zone = ZoneInfo(ctx.console.config.timezone)
    report = build_report(ctx.conn, "health", f, ctx.console.config, today=today_of(ctx), lang=lang)
    return ctx.render(
        "reports/health.html",
        measurements=sum(totals.values()),
        class_chart=class_chart([(code_label("class", c, lang), totals[c], c) for c in classes]),
        classes=table_view(report.table("classes"), lang, TABLE_ROWS),
        warnings=None
        if warnings is None
        else [
            {
                "key_id": w.key_id,
                "subject": w.subject,
                "readings": [
                    {
                        "at": r.taken_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                        "bp": f"{r.systolic:g}/{r.diastolic:g}",
                        "pulse": "—" if r.heart_rate is None else f"{r.heart_rate:g}",
                        "class": code_label("class", r.classification, lang),
                    }
                    for r in w.readings
                ],
            }
            for w in warnings
        ],
        window_days=ctx.console.config.reports.warning_window_days,
        **_common(ctx, f, "health"),
    )


@page("viewer")
def export(ctx: PageContext) -> Response:
    """The report as CSV or .xlsx (the health report: operator+); audited."""
    name = ctx.request.path_params["name"]
    fmt = ctx.request.path_params["fmt"]
    if name not in REPORT_NAMES or fmt not in EXPORT_FORMATS:
        return ctx.error(404, ctx.t("reports.no_such_export"))
    assert ctx.user is not None
    if name == "health" and not ctx.user.can("operator"):
        return ctx.error(403, ctx.t("reports.health.operators_only"))
    f = report_filter(ctx)
    status = status_filter(ctx)
    lang = report_lang(ctx)
    report: Report = build_report(
        ctx.conn,
        _report_name(name),
        f,
        ctx.console.config,
        today=today_of(ctx),
        lang=lang,
        status=status,
    )
    data = render(report, fmt, lang)
    ctx.audit(
        "report.export",
        subject=name,
        detail={
            "format": fmt,
            "filter": filter_query(f, status=status if name == "followups" else None),
        },
    )
    return Response(
        data,
        media_type=CONTENT_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename(report, fmt)}"',
            "Cache-Control": "no-store",
        },
    )


def _report_name(name: str) -> ReportName:
    for option in REPORT_NAMES:
        if option == name:
            return option
    raise BadInput(name)


def open_count(conn: psycopg.Connection) -> int:
    """Open follow-ups (the menu's badge; index report_followups_status)."""
    row = conn.execute("SELECT count(*) FROM report_followups WHERE status = 'open'").fetchone()
    return int(row[0]) if row else 0


MODULE = ConsoleModule(
    name="reports",
    routes=[
        Route("/reports/ratings", ratings, methods=["GET"]),
        Route("/reports/followups", followups, methods=["GET"]),
        Route("/reports/followups/{event_id}/answer", answer, methods=["POST"]),
        Route("/reports/followups/{event_id}/close", close, methods=["POST"]),
        Route("/reports/usage", usage, methods=["GET"]),
        Route("/reports/health", health, methods=["GET"]),
        Route("/reports/export/{name}.{fmt}", export, methods=["GET"]),
        Mount("/reports/static", StaticFiles(directory=HERE / "static"), name="reports-static"),
    ],
    nav=[
        NavItem("/reports/ratings", "nav.reports", "viewer", order=30),
        NavItem(
            "/reports/followups", "nav.reports.followups", "viewer", order=31, badge=open_count
        ),
        NavItem("/reports/usage", "nav.reports.usage", "viewer", order=32),
        NavItem("/reports/health", "nav.reports.health", "viewer", order=33),
    ],
    messages=MESSAGES,
    templates=HERE / "templates",
    screens=[
        Screen("reports-ratings", "/reports/ratings", role="viewer"),
        Screen("reports-followups", "/reports/followups?status=open"),
        Screen("reports-usage", "/reports/usage", role="viewer"),
        Screen("reports-health", "/reports/health"),
        Screen("reports-export", "/reports/export/ratings.csv"),
    ],
)
