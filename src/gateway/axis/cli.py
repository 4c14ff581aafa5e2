"""`gateway axis …` (VXP credentials, registry sync) and `gateway connector`."""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.chainer import background_chainer
from ..audit.service import chain_all
from ..cli_lang import language, say
from ..cli_session import run_in_session
from ..db import Database
from ..errors import GatewayError
from ..settings import Settings, get_settings

console = Console()
err = Console(stderr=True)

axis_app = typer.Typer(
    help="National axis (VXP): SDK client credentials, registry sync from upstream.",
    no_args_is_help=True,
)


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # pragma: no cover - no user name in some containers
        return "cli"


@axis_app.command("secret")
def secret_command(
    system: Annotated[str, typer.Argument(help="agency system id or name")],
    vxp_system_id: Annotated[
        str | None,
        typer.Option(help="the `systemid` of the SDK client (default: its only agency code)"),
    ] = None,
    revoke: Annotated[bool, typer.Option("--revoke", help="disable the credential")] = False,
) -> None:
    """Create or rotate (or --revoke) the VXP systemid + secret of an agency system.

    The secret is printed only this once: put it in the SDK client's configuration.
    """
    from .service import issue_credential, revoke_credential

    settings = get_settings()

    async def work(session: AsyncSession) -> tuple[str, str | None]:
        if revoke:
            credential = await revoke_credential(session, system, _actor())
            return credential.vxp_system_id, None
        credential, secret = await issue_credential(
            session, settings.secret_box(), system, vxp_system_id, _actor()
        )
        return credential.vxp_system_id, secret

    try:
        sid, secret = run_in_session(settings, work)
    except GatewayError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.body(language())['error']['message']}")
        raise typer.Exit(code=1) from None
    if secret is None:
        console.print(
            say(f"đã tắt thông tin xác thực VXP của {sid}", f"VXP credential of {sid} disabled")
        )
        return
    console.print(f"systemid: {sid}")
    console.print(f"secret:   {secret}")
    err.print(
        say(
            "secret chỉ hiện một lần: lưu ngay vào cấu hình của SDK phía hệ thống",
            "the secret is shown only once; store it in the SDK client's configuration now",
        )
    )


@axis_app.command("policy")
def policy_command(
    system: Annotated[str, typer.Argument(help="agency system id or name")],
    admin: Annotated[
        bool | None,
        typer.Option("--admin/--no-admin", help="may call registerAgency / deleteAgency (audited)"),
    ] = None,
    max_skew: Annotated[
        float | None,
        typer.Option(
            help="opt-in timestamp window in seconds, only for a client that re-stamps every "
            "call (0 = back to the gateway setting)",
            min=0,
            max=7 * 24 * 3600,
        ),
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option(help="IP or CIDR the system may call from (repeat); replaces the list"),
    ] = None,
    allow_any: Annotated[
        bool, typer.Option("--allow-any", help="clear the source-address allow-list")
    ] = False,
) -> None:
    """Show or change the VXP policy of a system (docs/vxp.md "Replay")."""
    from .service import UNSET, policy_of, set_policy

    settings = get_settings()
    sources = [] if allow_any else (allow or UNSET)
    skew = UNSET if max_skew is None else (max_skew or None)

    async def work(session: AsyncSession) -> dict:
        credential = await set_policy(
            session, system, _actor(), admin=admin, max_skew_seconds=skew, allowed_sources=sources
        )
        return policy_of(credential)

    try:
        policy = run_in_session(settings, work)
    except GatewayError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.body(language())['error']['message']}")
        raise typer.Exit(code=1) from None
    console.print_json(json.dumps(policy))


def _require_upstream(settings: Settings) -> None:
    if not settings.upstream_url:
        err.print(
            say(
                "[red]chưa đặt GATEWAY_UPSTREAM_URL[/red] (chưa cấu hình trục quốc gia)",
                "[red]GATEWAY_UPSTREAM_URL is not set[/red] (no national axis configured)",
            )
        )
        raise typer.Exit(code=2)


@axis_app.command("sync-agencies")
def sync_command(
    apply: Annotated[
        bool, typer.Option("--apply", help="add new agencies and apply changes (never deletes)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the diff as JSON")] = False,
) -> None:
    """Compare the registry with the national axis (getAgenciesList) and report the diff."""
    from .connector import sync_agencies, upstream_client

    settings = get_settings()
    _require_upstream(settings)

    async def main():  # type: ignore[no-untyped-def]
        db = Database(settings)
        try:
            if settings.auto_migrate:
                await db.migrate()
            async with upstream_client(settings) as client:
                report = await sync_agencies(
                    db,
                    client,
                    apply=apply,
                    local_groups=settings.local_code_groups,
                    actor=_actor(),
                )
            await chain_all(db)
            return report
        finally:
            await db.dispose()

    report = asyncio.run(main())
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    for item in report.new:
        console.print(f"+ {item['code']}  {item['name']}  ({item['delivery_mode']})")
    for change in report.changed:
        parts = ", ".join(f"{k}: {old!r} → {new!r}" for k, (old, new) in change["changes"].items())
        console.print(f"~ {change['code']}  {parts}")
    for code in report.missing:
        console.print(
            say(
                f"? {code}  (có ở tỉnh, không có trên trục quốc gia — không xóa)",
                f"? {code}  (in the province, not on the national axis — not deleted)",
            )
        )
    console.print(report.summary(language()))


def connector_command() -> None:
    """Run the national connector alone: forward upward, poll downward, sync the registry."""
    from ..trust.runtime import build_trust
    from .client import VxpClientError
    from .connector import AxisContext, Connector, upstream_client
    from .routing import UpstreamRouting

    settings = get_settings()
    _require_upstream(settings)

    async def main() -> None:
        db = Database(settings)
        trust = build_trust(settings)
        trust.attach(db)
        try:
            if settings.auto_migrate:
                await db.migrate()
            else:
                from ..migration_state import require_migrated

                await require_migrated(db.engine)
            ctx = AxisContext(
                db=db,
                settings=settings,
                calendar=settings.office_calendar(),
                routing=UpstreamRouting(enabled=True, local_groups=settings.local_code_groups),
                signature_check=trust.check,
            )
            async with (
                upstream_client(settings) as client,
                background_chainer(db, settings.audit_chain_interval),
            ):
                await Connector(ctx, client).run()
        finally:
            await db.dispose()

    err.print(f"connector: {settings.upstream_system_id} → {settings.upstream_url}")
    with suppress(KeyboardInterrupt, VxpClientError):  # pragma: no cover - interactive
        asyncio.run(main())
