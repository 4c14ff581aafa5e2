"""`gateway audit verify` and `gateway audit checkpoint`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from ..cli_lang import say
from ..db import Database
from ..settings import get_settings
from .anchor import AnchorKeyError
from .checkpoints import Published, latest
from .service import ChainReport, chain_all, chain_and_verify

T = TypeVar("T")

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


def _with_db(work: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        settings = get_settings()
        db = Database(settings)
        try:
            if settings.auto_migrate:
                await db.migrate()
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except AnchorKeyError as exc:  # production without GATEWAY_AUDIT_ANCHOR_KEY
        why = say("không kiểm tra được các mốc đã ký", "signed checkpoints cannot be checked")
        Console(stderr=True).print(f"[red]{exc}[/red]: {why}")
        raise typer.Exit(code=2) from exc


@audit_app.command("verify")
def verify_command(
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect",
            help="A published checkpoint `n:chain_pos:hash` (from /metrics, the dashboard or "
            "an archive bundle) that must still be in the log; repeatable.",
        ),
    ] = None,
) -> None:
    """Chain any events still pending, recompute the hash chain and check every signed
    checkpoint; exit 1 and name the first problem if the log was altered."""
    report: ChainReport = _with_db(lambda db: chain_and_verify(db, expect or []))
    console = Console()
    if report.ok:
        console.print(
            say(
                f"[green]OK[/green]: {report.checked} sự kiện, chuỗi nguyên vẹn",
                f"[green]OK[/green]: {report.checked} events, chain intact",
            )
            + (
                say(f" (hash cuối {report.last_hash})", f" (last hash {report.last_hash})")
                if report.last_hash
                else ""
            )
        )
        cp = report.latest_checkpoint
        if cp is not None:
            console.print(
                say(
                    f"đã kiểm {report.checkpoints} mốc đã ký; mới nhất {cp.token} lúc {cp.at}"
                    f" ({report.unanchored} sự kiện sau nó)",
                    f"{report.checkpoints} signed checkpoints verified; latest {cp.token} at "
                    f"{cp.at} ({report.unanchored} events after it)",
                )
            )
        else:
            console.print(
                say(
                    "chưa có mốc đã ký nào (`gateway audit checkpoint` tạo một mốc)",
                    "no signed checkpoint yet (`gateway audit checkpoint` makes one)",
                )
            )
        return
    Console(stderr=True).print(
        say(
            f"[red]HỎNG[/red] sau {report.checked} sự kiện đúng",
            f"[red]BROKEN[/red] after {report.checked} good events",
        )
        + (
            say(f", tại sự kiện {report.first_bad_seq}", f", at event {report.first_bad_seq}")
            if report.first_bad_seq is not None
            else ""
        )
        + f": {report.reason}"
    )
    raise typer.Exit(code=1)


@audit_app.command("checkpoint")
def checkpoint_command() -> None:
    """Chain pending events and sign a checkpoint of the chain's tail now; print it (JSON) to
    keep or publish outside the gateway."""

    async def work(db: Database) -> Published | None:
        await chain_all(db, force_checkpoint=True)
        async with db.read_session() as session:
            cp = await latest(session)
            return Published.of(cp) if cp else None

    published = _with_db(work)
    if published is None:
        Console(stderr=True).print(
            say(
                "nhật ký kiểm toán trống: không có gì để đặt mốc",
                "the audit log is empty: nothing to checkpoint",
            )
        )
        raise typer.Exit(code=1)
    typer.echo(json.dumps({**published.as_dict(), "token": published.token}, ensure_ascii=False))
