"""Console pages for publishing (docs/publishing.md) and the kiosk page's command buttons.

    /publish                               upload form, published versions, rollouts
    /publish/upload                 POST   validate (problems with paths) and keep a version
    /publish/documents/ID?to=SELECTOR      the plan and the diff against what runs; confirm
    /publish/rollouts               POST   start a rollout (signed set_config commands)
    /publish/rollouts/ID                   per-kiosk states (refreshed by htmx), promote, rollback
    /publish/kiosks/C/C/K/commands  GET    the kiosk's recent commands and their results
                                    POST   ping / run_diagnostics / restart_kiosk

Only operators (and admins) send anything; every command, upload, rollout, promotion and
rollback is audited in the transaction that makes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from city.commands import ONE_SHOT_TYPES, command_rows, queue_command
from city.console.filters import choice_param, kiosk_id, text_param
from city.console.modules import ConsoleModule, NavItem, Screen
from city.console.web import BadInput, PageContext, page
from city.publish.demo import seed_publish_demo
from city.publish.messages import MESSAGES
from city.publish.runtime import runtime_of, start
from city.rollouts import (
    STATE_ORDER,
    PublishError,
    create_rollout,
    diff_against_versions,
    document_by_id,
    documents,
    plan_rollout,
    promote,
    rollback,
    rollout_list,
    rollout_status,
    store_document,
)
from city.selector import SelectorError, parse_selector, resolve_with_versions
from city.upload import KINDS, Invalid, parse_upload

HERE = Path(__file__).resolve().parent
MAX_UPLOAD_BYTES = 1024 * 1024 + 64 * 1024  # the document's limit plus the form around it
RECENT_COMMANDS = 10
TARGET_ROWS = 200  # per page refresh; the counts cover every kiosk (10,000 in a city)


def _runtime_problem(ctx: PageContext) -> str | None:
    runtime = runtime_of(ctx.console)
    if runtime is None:
        return "the console's dispatcher is not running"
    return runtime.problem


def _kick(ctx: PageContext) -> None:
    runtime = runtime_of(ctx.console)
    if runtime is not None:
        runtime.kick()


def _index(ctx: PageContext, **extra: Any) -> Response:
    status = extra.pop("status", 200)
    return ctx.render(
        "publish/index.html",
        status=status,
        kinds=KINDS,
        documents=documents(ctx.conn),
        rollouts=rollout_list(ctx.conn),
        problem=_runtime_problem(ctx),
        **({"invalid": None, "filename": ""} | extra),
    )


@page("viewer")
def index(ctx: PageContext) -> Response:
    """Upload form, published versions, rollouts."""
    return _index(ctx)


@page("operator", multipart=True, max_body=MAX_UPLOAD_BYTES)
def upload(ctx: PageContext) -> Response:
    """Validate an uploaded document; keep it when valid and show its plan page."""
    kind = ctx.form.get("kind", "")
    if kind not in KINDS:
        raise BadInput(ctx.t("publish.kind"))
    filename, data = ctx.files.get("file", ("", b""))
    if not data:
        raise BadInput(ctx.t("publish.no_file"))
    parsed = parse_upload(kind, data)
    name = filename[:120]
    if isinstance(parsed, Invalid):
        return _index(ctx, invalid=parsed, filename=name, status=422)
    try:
        document = store_document(ctx.conn, parsed, ctx.user.name if ctx.user else "?")
    except PublishError as exc:
        return ctx.error(409, str(exc))
    ctx.audit(
        "publish.upload",
        subject=f"{document.kind} {document.version}",
        detail={"file": name, "sha256": document.sha256, "bytes": len(data)},
    )
    return ctx.redirect(f"/publish/documents/{document.id}")


def _centres(ctx: PageContext) -> tuple[list[str], list[str]]:
    districts = [
        str(r[0])
        for r in ctx.conn.execute(
            "SELECT DISTINCT district FROM kiosks WHERE district IS NOT NULL ORDER BY 1"
        )
    ]
    centres = [str(r[0]) for r in ctx.conn.execute("SELECT DISTINCT centre FROM kiosks ORDER BY 1")]
    return districts, centres


@page("viewer")
def document_page(ctx: PageContext) -> Response:
    """A published version: choose targets, see the plan and the diff, confirm."""
    document = document_by_id(ctx.conn, int(ctx.request.path_params["id"]))
    if document is None or document.kind not in KINDS:  # activities: per centre, not rolled out
        return ctx.error(404, ctx.t("publish.unknown_document"))
    to = text_param(ctx.query, "to", 200)
    first_centre = text_param(ctx.query, "first_centre", 64)
    staged = ctx.query.get("staged", "1" if to is None else "") == "1"
    auto = ctx.query.get("auto") == "1"
    plan = diffs = None
    plan_problem = None
    if to is not None:
        try:
            selector = parse_selector(to)
            named = resolve_with_versions(ctx.conn, selector, document.kind)  # one query
            plan = plan_rollout(
                ctx.conn,
                selector,
                staged=staged,
                first_centre=first_centre,
                kiosks=[kiosk for kiosk, _ in named],
            )
            diffs = diff_against_versions(
                ctx.conn, document.kind, document.content, document.version,
                [running for _, running in named],
            )  # fmt: skip
        except (SelectorError, PublishError) as exc:
            plan_problem = str(exc)
    districts, centres = _centres(ctx)
    return ctx.render(
        "publish/document.html",
        document=document,
        to=to or "all",
        first_centre=first_centre or "",
        staged=staged,
        auto=auto,
        plan=plan,
        diffs=diffs,
        plan_problem=plan_problem,
        districts=districts,
        centres=centres,
        problem=_runtime_problem(ctx),
    )


@page("operator")
def start_rollout(ctx: PageContext) -> Response:
    """Create the rollout and queue its first stage."""
    problem = _runtime_problem(ctx)
    if problem is not None:
        return ctx.error(503, ctx.t("publish.keys_unavailable", problem=problem))
    try:
        document_id = int(ctx.form.get("document_id", ""))
    except ValueError:
        raise BadInput(ctx.t("publish.unknown_document")) from None
    document = document_by_id(ctx.conn, document_id)
    if document is None or document.kind not in KINDS:
        return ctx.error(404, ctx.t("publish.unknown_document"))
    first_centre = ctx.form.get("first_centre") or None
    staged = ctx.form.get("staged") == "1"
    auto = ctx.form.get("auto") == "1"
    try:
        selector = parse_selector(ctx.form.get("to", ""))
        rollout_id = create_rollout(
            ctx.conn,
            document,
            selector,
            by=ctx.user.name if ctx.user else "?",
            staged=staged,
            first_centre=first_centre,
            auto_promote=auto,
        )
    except (SelectorError, PublishError) as exc:
        raise BadInput(str(exc)) from None
    ctx.audit(
        "publish.rollout",
        subject=str(rollout_id),
        detail={
            "kind": document.kind,
            "version": document.version,
            "to": str(selector),
            "staged": staged,
            "first_centre": first_centre,
            "auto_promote": auto,
        },
    )
    _kick(ctx)
    return ctx.redirect(f"/publish/rollouts/{rollout_id}")


def _rollout(ctx: PageContext) -> dict[str, Any] | None:
    state = choice_param(ctx.query, "state", STATE_ORDER)
    return rollout_status(
        ctx.conn, int(ctx.request.path_params["id"]), state=state, limit=TARGET_ROWS
    )


@page("viewer")
def rollout_page(ctx: PageContext) -> Response:
    """A rollout's per-kiosk states, promote and rollback."""
    status = _rollout(ctx)
    if status is None:
        return ctx.error(404, ctx.t("publish.unknown_rollout"))
    return ctx.render("publish/rollout.html", rollout=status, problem=_runtime_problem(ctx))


@page("viewer")
def rollout_targets(ctx: PageContext) -> Response:
    """The per-kiosk table alone (htmx refresh)."""
    status = _rollout(ctx)
    if status is None:
        return ctx.error(404, ctx.t("publish.unknown_rollout"))
    return ctx.render("publish/targets.html", rollout=status)


@page("operator")
def promote_rollout(ctx: PageContext) -> Response:
    """Release stage 2 (stage 1 must have applied it)."""
    rollout_id = int(ctx.request.path_params["id"])
    try:
        released = promote(ctx.conn, rollout_id, ctx.user.name if ctx.user else "?")
    except PublishError as exc:
        return ctx.error(409, str(exc))
    ctx.audit("publish.promote", subject=str(rollout_id), detail={"released": released})
    _kick(ctx)
    return ctx.redirect(f"/publish/rollouts/{rollout_id}")


@page("operator")
def rollback_rollout(ctx: PageContext) -> Response:
    """Send every kiosk that got it the version it ran before."""
    problem = _runtime_problem(ctx)
    if problem is not None:
        return ctx.error(503, ctx.t("publish.keys_unavailable", problem=problem))
    rollout_id = int(ctx.request.path_params["id"])
    try:
        new_id = rollback(ctx.conn, rollout_id, ctx.user.name if ctx.user else "?")
    except PublishError as exc:
        return ctx.error(409, str(exc))
    ctx.audit("publish.rollback", subject=str(rollout_id), detail={"rollback": new_id})
    _kick(ctx)
    return ctx.redirect(f"/publish/rollouts/{new_id}")


def _kiosk(ctx: PageContext) -> str:
    params = ctx.request.path_params
    return kiosk_id(params["city"], params["centre"], params["name"])


@page("viewer")
def kiosk_commands(ctx: PageContext) -> Response:
    """The kiosk's recent commands with their results (htmx partial of the kiosk page)."""
    kiosk = _kiosk(ctx)
    return ctx.render(
        "publish/kiosk_commands.html",
        kiosk_id=kiosk,
        commands=command_rows(ctx.conn, kiosk=kiosk, limit=RECENT_COMMANDS),
    )


@page("operator")
def restart_page(ctx: PageContext) -> Response:
    """Asks once more before a restart (it interrupts whoever is at the kiosk)."""
    return ctx.render("publish/restart.html", kiosk_id=_kiosk(ctx))


@page("operator")
def send_command(ctx: PageContext) -> Response:
    """Queue ping / run_diagnostics / restart_kiosk for this kiosk; audited."""
    kiosk = _kiosk(ctx)
    command_type = choice_param(ctx.form, "type", ONE_SHOT_TYPES)
    if command_type is None:
        raise BadInput(ctx.t("publish.bad_command"))
    problem = _runtime_problem(ctx)
    if problem is not None:
        return ctx.error(503, ctx.t("publish.keys_unavailable", problem=problem))
    known = ctx.conn.execute("SELECT 1 FROM kiosks WHERE kiosk = %s", (kiosk,)).fetchone()
    if known is None:
        return ctx.error(404, ctx.t("kiosk.unknown", kiosk=kiosk))
    command_id = queue_command(
        ctx.conn, kiosk, command_type, requested_by=ctx.user.name if ctx.user else "?"
    )
    ctx.audit("command.send", subject=kiosk, detail={"type": command_type, "id": command_id})
    _kick(ctx)
    return ctx.redirect(f"/kiosks/{kiosk}?" + urlencode({"sent": command_type}) + "#commands")


MODULE = ConsoleModule(
    name="publish",
    routes=[
        Route("/publish", index, methods=["GET"]),
        Route("/publish/upload", upload, methods=["POST"]),
        Route("/publish/documents/{id:int}", document_page, methods=["GET"]),
        Route("/publish/rollouts", start_rollout, methods=["POST"]),
        Route("/publish/rollouts/{id:int}", rollout_page, methods=["GET"]),
        Route("/publish/rollouts/{id:int}/targets", rollout_targets, methods=["GET"]),
        Route("/publish/rollouts/{id:int}/promote", promote_rollout, methods=["POST"]),
        Route("/publish/rollouts/{id:int}/rollback", rollback_rollout, methods=["POST"]),
        Route("/publish/kiosks/{city}/{centre}/{name}/commands", kiosk_commands, methods=["GET"]),
        Route("/publish/kiosks/{city}/{centre}/{name}/commands", send_command, methods=["POST"]),
        Route("/publish/kiosks/{city}/{centre}/{name}/restart", restart_page, methods=["GET"]),
        Mount("/publish/static", StaticFiles(directory=HERE / "static")),
    ],
    nav=[NavItem("/publish", "nav.publish", "viewer", order=50)],
    messages=MESSAGES,
    templates=HERE / "templates",
    slots={"kiosk_actions": ["publish/kiosk_actions.html"]},
    startup=start,
    screens=[
        Screen("publish", "/publish"),
        Screen("publish-diff", "/publish/documents/2?to=all&first_centre=centre-0000&staged=1"),
        Screen("publish-rollout", "/publish/rollouts/2"),
        Screen("publish-rollout-targets", "/publish/rollouts/2/targets"),
    ],
    demo=seed_publish_demo,
)
