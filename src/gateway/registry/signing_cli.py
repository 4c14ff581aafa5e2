"""`gateway agencies signers …`: who may sign for an agency (gateway.registry.signing)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from ..cli_session import run_in_session
from ..errors import GatewayError
from ..settings import get_settings
from ..trust.binding import IdentityKind
from .cli import _actor, _fail, agencies_app, console, err
from .signing import SigningIdentities, SigningIdentityIn

signing_app = typer.Typer(
    help="Signing identities: the certificates allowed to sign for an agency.",
    no_args_is_help=True,
)


def _run(work):  # type: ignore[no-untyped-def]
    try:
        return run_in_session(get_settings(), work)
    except GatewayError as exc:
        raise _fail(exc) from None


@signing_app.command("import")
def import_command(
    code: str,
    files: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, help="certificate files, PEM or DER"),
    ],
) -> None:
    """Record the certificates in FILES (each becomes a SHA-256 fingerprint identity)."""
    contents = [f.read_bytes() for f in files]

    async def work(session: AsyncSession):
        service = SigningIdentities(session, _actor())
        return [row for data in contents for row in await service.import_certificates(code, data)]

    rows = _run(work)
    for row in rows:
        typer.echo(f"{row.id}\t{row.value}\t{row.label or ''}")
    err.print(f"{len(rows)} signing identities recorded for {code}")


@signing_app.command("add")
def add_command(
    code: str,
    value: Annotated[str, typer.Argument(help="fingerprint (hex) or RFC 4514 subject")],
    subject: Annotated[
        bool, typer.Option("--subject", help="VALUE is subject attributes, e.g. 'O=…'")
    ] = False,
    label: str | None = None,
) -> None:
    """Record a fingerprint (default) or, with --subject, attributes every signer carries."""
    kind = IdentityKind.SUBJECT if subject else IdentityKind.FINGERPRINT
    data = SigningIdentityIn(kind=kind, value=value, label=label)

    async def work(session: AsyncSession):
        return await SigningIdentities(session, _actor()).add(code, data)

    row = _run(work)
    typer.echo(f"{row.id}\t{row.kind}\t{row.value}")


@signing_app.command("list")
def list_command(code: str) -> None:
    """The agency's signing identities."""

    async def work(session: AsyncSession):
        return await SigningIdentities(session, _actor()).of(code)

    rows = _run(work)
    table = Table("id", "kind", "value", "label", "not after")
    for r in rows:
        shown = r.not_after.isoformat() if r.not_after else ""
        table.add_row(r.id, r.kind, r.value, r.label or "", shown)
    console.print(table)


@signing_app.command("remove")
def remove_command(code: str, identity_id: str) -> None:
    """Remove one identity: packages signed with it are refused from now on."""

    async def work(session: AsyncSession):
        await SigningIdentities(session, _actor()).remove(code, identity_id)

    _run(work)
    err.print(f"removed {identity_id}")


# `gateway agencies signers ...`: added here, where both halves are known (registry.cli stays
# unaware of signing identities).
agencies_app.add_typer(signing_app, name="signers")
