"""Accounts (admins only): list, add with a role, disable and enable; every change audited."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from city.console.accounts import NAME, AccountError, account_rows, add_user, set_disabled
from city.console.modules import ROLES, ConsoleModule, NavItem, Screen
from city.console.web import BadInput, PageContext, page


@page("admin")
def users(ctx: PageContext) -> Response:
    """Every account."""
    return ctx.render(
        "users.html", accounts=account_rows(ctx.conn), roles=ROLES, done=ctx.query.get("done")
    )


@page("admin")
def add(ctx: PageContext) -> Response:
    """A new account (the admin gives the first password; at least 10 characters)."""
    name, role = ctx.form.get("name", "").strip(), ctx.form.get("role", "")
    try:
        user = add_user(ctx.conn, name, role, ctx.form.get("password", ""))
    except AccountError as exc:
        raise BadInput(str(exc)) from None
    ctx.audit("user.add", user.name, {"role": user.role})
    return ctx.redirect("/users?done=added")


@page("admin")
def disable(ctx: PageContext) -> Response:
    """Disable (its sessions end at once) or enable an account; not one's own."""
    name = ctx.request.path_params["name"]
    if not NAME.match(name):
        raise BadInput(ctx.t("users.unknown", name=name[:64]))
    disabled = ctx.form.get("disabled") == "1"
    assert ctx.user is not None
    if name == ctx.user.name:
        raise BadInput(ctx.t("users.not_yourself"))
    if not set_disabled(ctx.conn, name, disabled):
        raise BadInput(ctx.t("users.unknown", name=name))
    ctx.audit("user.disable" if disabled else "user.enable", name)
    return ctx.redirect("/users?done=" + ("disabled" if disabled else "enabled"))


MESSAGES = {
    "zh-CN": {
        "nav.users": "账号",
        "users.title": "工作人员账号",
        "users.name": "用户名",
        "users.role": "角色",
        "users.state": "状态",
        "users.created": "创建时间",
        "users.last_seen": "最近活动",
        "users.enabled": "启用",
        "users.disabled": "已停用",
        "users.disable": "停用",
        "users.enable": "启用",
        "users.add": "新建账号",
        "users.password": "初始密码（至少 10 个字符）",
        "users.create": "创建",
        "users.you": "（本人）",
        "users.not_yourself": "不能停用自己的账号。",
        "users.unknown": "没有账号 {name}。",
        "users.done.added": "账号已创建。",
        "users.done.disabled": "账号已停用，其登录已失效。",
        "users.done.enabled": "账号已启用。",
    },
    "en": {
        "nav.users": "Accounts",
        "users.title": "Staff accounts",
        "users.name": "User name",
        "users.role": "Role",
        "users.state": "State",
        "users.created": "Created",
        "users.last_seen": "Last active",
        "users.enabled": "enabled",
        "users.disabled": "disabled",
        "users.disable": "Disable",
        "users.enable": "Enable",
        "users.add": "New account",
        "users.password": "First password (at least 10 characters)",
        "users.create": "Create",
        "users.you": "(you)",
        "users.not_yourself": "You cannot disable your own account.",
        "users.unknown": "There is no account {name}.",
        "users.done.added": "Account created.",
        "users.done.disabled": "Account disabled; its sessions have ended.",
        "users.done.enabled": "Account enabled.",
    },
}

MODULE = ConsoleModule(
    name="users",
    routes=[
        Route("/users", users, methods=["GET"]),
        Route("/users", add, methods=["POST"]),
        Route("/users/{name}/disabled", disable, methods=["POST"]),
    ],
    nav=[NavItem("/users", "nav.users", "admin", order=95)],
    messages=MESSAGES,
    screens=[Screen("users", "/users", role="admin")],
)
