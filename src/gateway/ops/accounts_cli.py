"""`gateway operators list|disable|enable|role|reset-password` (`create` is in
gateway.registry.cli). Rules and audit: gateway.ops.accounts."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from ..cli_lang import language, say
from ..cli_output import JsonFlag, print_json, print_table
from ..cli_session import run_in_session
from ..db import show_time
from ..errors import GatewayError
from ..registry.cli import _actor, operators_app
from ..settings import get_settings
from .accounts import Account, OperatorAccounts

Reason = Annotated[str, typer.Option(help="why (audited)")]


def _fail(exc: GatewayError) -> typer.Exit:
    body = exc.body(language())["error"]
    typer.echo(f"{body['code']}: {body['message']}", err=True)
    return typer.Exit(code=1)


def _change(work) -> None:  # type: ignore[no-untyped-def]
    try:
        run_in_session(get_settings(), work)
    except GatewayError as exc:
        raise _fail(exc) from None


@operators_app.command("list")
def list_command(as_json: JsonFlag = False) -> None:
    """List operator accounts: role, active, dashboard password set, live API keys."""

    async def work(session: AsyncSession) -> list[Account]:
        return await OperatorAccounts(session, _actor()).list()

    accounts = run_in_session(get_settings(), work)
    if as_json:
        print_json([a.__dict__ for a in accounts])
        return
    yes, no = say("có", "yes"), say("không", "no")
    print_table(
        (
            "id",
            say("tên", "name"),
            say("vai trò", "role"),
            say("hoạt động", "active"),
            say("mật khẩu", "password"),
            say("2 lớp", "2FA"),
            say("khóa API", "API keys"),
            say("tạo lúc", "created"),
        ),
        [
            (
                a.id,
                a.username,
                a.role,
                yes if a.active else no,
                yes if a.has_password else no,
                yes if a.totp else no,
                a.api_keys,
                show_time(a.created_at),
            )
            for a in accounts
        ],
        whole=("id",),
    )


@operators_app.command("disable")
def disable_command(name: str, reason: Reason = "") -> None:
    """Disable an account: its API keys and dashboard sessions stop working at once."""

    async def work(session: AsyncSession) -> None:
        await OperatorAccounts(session, _actor()).set_active(name, False, reason=reason)

    _change(work)
    typer.echo(say(f"đã khóa tài khoản {name}", f"operator {name} disabled"), err=True)


@operators_app.command("enable")
def enable_command(name: str, reason: Reason = "") -> None:
    """Enable a disabled account again."""

    async def work(session: AsyncSession) -> None:
        await OperatorAccounts(session, _actor()).set_active(name, True, reason=reason)

    _change(work)
    typer.echo(say(f"đã mở lại tài khoản {name}", f"operator {name} enabled"), err=True)


@operators_app.command("role")
def role_command(
    name: str,
    role: Annotated[str, typer.Argument(help="operator or admin")],
    reason: Reason = "",
) -> None:
    """Change an account's role (the last active admin cannot be demoted)."""

    async def work(session: AsyncSession) -> None:
        await OperatorAccounts(session, _actor()).set_role(name, role, reason=reason)

    _change(work)
    typer.echo(say(f"{name}: vai trò {role}", f"{name}: role {role}"), err=True)


@operators_app.command("reset-password")
def reset_password_command(
    name: str,
    reason: Reason = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the new password from stdin")
    ] = False,
) -> None:
    """Set a new dashboard password (at least 12 characters, not common; prompted unless
    --password-stdin). Ends the account's open dashboard sessions."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            say("Mật khẩu mới", "New password"), hide_input=True, confirmation_prompt=True
        )

    async def work(session: AsyncSession) -> None:
        await OperatorAccounts(session, _actor()).reset_password(name, password, reason=reason)

    _change(work)
    typer.echo(say(f"đã đặt lại mật khẩu của {name}", f"password of {name} reset"), err=True)


@operators_app.command("totp")
def totp_command(
    name: str,
    off: Annotated[bool, typer.Option("--off", help="remove the second factor")] = False,
    reason: Reason = "",
) -> None:
    """Require an authenticator code at the account's dashboard logins: prints the otpauth://
    URI (for the app, as text or QR code) and the secret, once. A new call replaces the secret;
    --off removes the second factor."""
    from ..auth.totp import provisioning_uri

    settings = get_settings()

    async def work(session: AsyncSession) -> str | None:
        accounts = OperatorAccounts(session, _actor())
        if off:
            await accounts.disable_totp(name, reason=reason)
            return None
        return await accounts.enable_totp(name, settings.secret_box(), reason=reason)

    try:
        secret = run_in_session(settings, work)
    except GatewayError as exc:
        raise _fail(exc) from None
    if secret is None:
        typer.echo(say(f"{name}: đã tắt xác thực 2 lớp", f"{name}: two-factor removed"), err=True)
        return
    typer.echo(provisioning_uri(secret, name))
    typer.echo(
        say(f"khóa bí mật: {secret} (chỉ hiện một lần)", f"secret: {secret} (shown once)"), err=True
    )
