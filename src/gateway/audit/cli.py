"""`gateway audit verify`."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import run_in_session
from ..settings import get_settings
from .service import ChainReport, chain_pending, verify_chain

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def verify_command() -> None:
    """Chain any events still pending, recompute the hash chain; exit 1 and name the first
    broken link if it was altered."""

    async def work(session: AsyncSession) -> ChainReport:
        await chain_pending(session)
        await session.commit()
        return await verify_chain(session)

    report = run_in_session(get_settings(), work)
    console = Console()
    if report.ok:
        console.print(
            f"[green]OK[/green]: {report.checked} events, chain intact"
            + (f" (last hash {report.last_hash})" if report.last_hash else "")
        )
        return
    Console(stderr=True).print(
        f"[red]BROKEN[/red] at event {report.first_bad_seq} after {report.checked} good "
        f"events: {report.reason}"
    )
    raise typer.Exit(code=1)
