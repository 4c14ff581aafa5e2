"""The dashboard's accounts page, for admins: `/dashboard/accounts` lists operator accounts;
each row disables/enables, changes the role or sets a new password (a reason is asked for
each, and audited). Rules: gateway.ops.accounts (the same service as the CLI and admin API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...db import SessionDep
from ...errors import Conflict, NotFound, ValidationFailed
from ..accounts import OperatorAccounts
from . import i18n
from .routes import FLASHES, PREFIX, CsrfField, DashboardError, Op, check_csrf, redirect, render

router = APIRouter(prefix=PREFIX, include_in_schema=False)

LABELS: dict[str, tuple[str, str]] = {
    "nav.accounts": ("Tài khoản", "Accounts"),
    "login.code": (
        "Mã xác thực 6 số (nếu tài khoản đã bật)",
        "6-digit authenticator code (if enabled for the account)",
    ),
    "acc.totp": ("Xác thực 2 lớp", "Two-factor"),
    "acc.title": ("Tài khoản vận hành", "Operator accounts"),
    "acc.username": ("Tên đăng nhập", "User name"),
    "acc.role": ("Vai trò", "Role"),
    "acc.state": ("Trạng thái", "State"),
    "acc.active": ("hoạt động", "active"),
    "acc.disabled": ("đã khóa", "disabled"),
    "acc.password": ("Mật khẩu", "Password"),
    "acc.keys": ("Khóa API", "API keys"),
    "acc.disable": ("Khóa", "Disable"),
    "acc.enable": ("Mở khóa", "Enable"),
    "acc.set_role": ("Đổi vai trò", "Change role"),
    "acc.new_password": ("Mật khẩu mới (≥ 12 ký tự)", "New password (≥ 12 characters)"),
    "acc.reset": ("Đặt lại mật khẩu", "Reset password"),
    "acc.reason_ph": ("Lý do (ghi nhật ký)", "Reason (audited)"),
    "acc.yes": ("có", "set"),
    "acc.no": ("chưa", "none"),
    "flash.account_saved": ("Đã lưu thay đổi tài khoản.", "Account change saved."),
    "flash.weak_password": (
        "Mật khẩu bị từ chối: cần ít nhất 12 ký tự và không phổ biến, dễ đoán.",
        "Password refused: it needs at least 12 characters and must not be common or guessable.",
    ),
    "flash.last_admin": (
        "Không thể khóa hoặc hạ quyền quản trị viên còn hoạt động cuối cùng.",
        "The last active admin can be neither disabled nor demoted.",
    ),
}
i18n.LABELS.update(LABELS)
FLASHES.update({"account_saved": "ok", "weak_password": "error", "last_admin": "error"})


def _admin(op: Op) -> None:
    if not op.is_admin:
        raise DashboardError("flash.admin_only", 403)


def _done(flash: str) -> RedirectResponse:
    return redirect(f"{PREFIX}/accounts?flash={flash}")


@router.get("/accounts", response_class=HTMLResponse)
async def accounts_page(request: Request, op: Op):
    _admin(op)
    async with request.app.state.db.read_session() as session:
        rows = await OperatorAccounts(session, op.actor).list()
    return render(request, "accounts.html", op, section="accounts", rows=rows)


async def _apply(request: Request, session, op, change) -> RedirectResponse:  # type: ignore[no-untyped-def]
    accounts = OperatorAccounts(session, op.actor, clock=request.app.state.clock)
    try:
        await change(accounts)
    except NotFound:
        return _done("not_found")
    except Conflict:
        return _done("last_admin")
    except ValidationFailed as exc:
        weak = any(f.get("code") == "PASSWORD_WEAK" for f in exc.findings or [])
        return _done("weak_password" if weak else "conflict")
    return _done("account_saved")


@router.post("/accounts/{username}/active")
async def set_active(
    request: Request,
    username: str,
    session: SessionDep,
    op: Op,
    csrf_token: CsrfField = "",
    active: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    check_csrf(op, csrf_token)
    _admin(op)
    on = active == "1"
    return await _apply(request, session, op, lambda a: a.set_active(username, on, reason=reason))


@router.post("/accounts/{username}/role")
async def set_role(
    request: Request,
    username: str,
    session: SessionDep,
    op: Op,
    csrf_token: CsrfField = "",
    role: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    check_csrf(op, csrf_token)
    _admin(op)
    return await _apply(request, session, op, lambda a: a.set_role(username, role, reason=reason))


@router.post("/accounts/{username}/password")
async def reset_password(
    request: Request,
    username: str,
    session: SessionDep,
    op: Op,
    csrf_token: CsrfField = "",
    password: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    check_csrf(op, csrf_token)
    _admin(op)
    return await _apply(
        request, session, op, lambda a: a.reset_password(username, password, reason=reason)
    )
