"""`gateway relay`, `gateway worker`, `gateway deliveries list|resend|cancel`."""

from __future__ import annotations

import contextlib
import logging
from typing import Annotated

import typer
from rich.console import Console

from .. import event_loop
from ..cli_lang import language, say
from ..cli_output import JsonFlag, print_json, print_table
from ..cli_session import run_in_session
from ..db import Database, show_time
from ..errors import GatewayError
from ..settings import get_settings

console = Console()
err = Console(stderr=True)

deliveries_app = typer.Typer(
    help="Deliveries: list, resend failed ones, cancel.", no_args_is_help=True
)


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # pragma: no cover
        return "cli"


def _logging(level: str) -> None:
    from ..observability.logging import configure_logging

    # GATEWAY_LOG_FORMAT=json: JSON lines; the request id of each package's intake is on the
    # relay's and worker's lines (gateway.observability.logging)
    configure_logging(get_settings().log_format, level)
    # aiormq logs each failed connect as an ERROR; the gateway's own retry warning says the same
    logging.getLogger("aiormq.connection").setLevel(logging.CRITICAL)


async def _run(*, relay: bool, worker: bool, concurrency: int | None) -> int:
    from ..audit.chainer import background_chainer
    from ..migration_state import require_migrated
    from .runtime import DeliveryRuntime
    from .worker_runtime import install_signal_handlers

    settings = get_settings()
    db = Database(settings)
    try:  # an unmigrated database: one clear line and exit, not an error every poll
        await require_migrated(db.engine)
    except BaseException:
        await db.dispose()
        raise
    if worker and settings.worker_metrics_port:  # its counters (observability.metrics)
        from ..observability.metrics import serve_worker_metrics

        serve_worker_metrics(db, settings.host, settings.worker_metrics_port)
    runtime = DeliveryRuntime(settings, db, relay=relay, worker=worker, concurrency=concurrency)
    remove = install_signal_handlers(runtime.stop_event)
    try:
        # a broker still unreachable after the retries: one line from gateway.cli_problems
        await runtime.start()
        what = " and ".join(n for n, on in (("relay", relay), ("worker", worker)) if on)
        err.print(
            say(
                f"gateway {what} đang chạy (hàng đợi {runtime.queue.name}); SIGTERM để dừng",
                f"gateway {what} running ({runtime.queue.name} queue); SIGTERM stops it",
            )
        )
        # a worker's delivery events are chained even when no server runs; a relay writes
        # no audit events, so it spends nothing on chaining (issue 14)
        chaining = (
            background_chainer(db, settings.audit_chain_interval)
            if worker
            else contextlib.nullcontext()
        )
        async with chaining:
            await runtime.wait()
            await runtime.stop()
    finally:
        remove()
        await db.dispose()
    if runtime.fatal:
        err.print(f"[red]{say('đã dừng', 'stopped')}[/red]: {runtime.fatal}")
        return 1
    return 0


def relay_command(
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Publish committed outbox rows to the delivery queue (RabbitMQ, or the database queue).
    Several relays may run on PostgreSQL. Exits non-zero after losing the database or broker
    for GATEWAY_DELIVERY_FATAL_AFTER_SECONDS."""
    _logging(log_level)
    raise typer.Exit(event_loop.run(_run(relay=True, worker=False, concurrency=None)))


def worker_command(
    concurrency: Annotated[
        int | None, typer.Option(help="jobs at once (default GATEWAY_WORKER_CONCURRENCY)")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Deliver jobs: push to push-mode agencies (retries, dead letters), make poll-mode copies
    available. Run any number on RabbitMQ (on the SQLite database queue: only the server's).
    SIGTERM finishes or returns the jobs in flight."""
    if concurrency is not None and concurrency < 1:
        raise typer.BadParameter(
            say("--concurrency phải ít nhất là 1", "--concurrency must be at least 1")
        )
    _logging(log_level)
    raise typer.Exit(event_loop.run(_run(relay=False, worker=True, concurrency=concurrency)))


def _fail(exc: GatewayError) -> typer.Exit:
    body = exc.body(language())["error"]
    err.print(f"[red]{body['code']}[/red]: {body['message']}")
    return typer.Exit(code=1)


@deliveries_app.command("list")
def list_command(
    state: Annotated[list[str] | None, typer.Option(help="e.g. --state failed")] = None,
    agency: Annotated[str | None, typer.Option(help="recipient agency code")] = None,
    limit: int = 100,
    as_json: JsonFlag = False,
) -> None:
    """List deliveries (e.g. the failed ones waiting for an operator)."""
    from .schemas import DeliveryOut
    from .service import DeliveryAdmin

    async def work(session):  # type: ignore[no-untyped-def]
        return await DeliveryAdmin(session, _actor()).list(states=state, agency=agency, limit=limit)

    rows = run_in_session(get_settings(), work)
    if as_json:  # the API's shape (GET /api/v1/admin/deliveries)
        print_json([DeliveryOut.model_validate(d).model_dump(mode="json") for d in rows])
        return
    print_table(
        ("delivery", "recipient", "state", "attempts", "updated", "last error"),
        [
            (d.id, d.recipient_code, d.state, d.attempts, show_time(d.updated_at), d.last_error)
            for d in rows
        ],
        whole=("delivery", "recipient", "updated"),
    )
    console.print(say(f"{len(rows)} bản gửi", f"{len(rows)} deliveries"))


@deliveries_app.command("resend")
def resend_command(
    reason: Annotated[str, typer.Option(help="why (audited)")],
    ids: Annotated[list[str] | None, typer.Argument(help="delivery ids")] = None,
    agency: Annotated[
        str | None, typer.Option(help="resend every failed delivery to this agency")
    ] = None,
) -> None:
    """Resend failed deliveries: by id, or all failed ones for --agency."""
    from .service import DeliveryAdmin

    if bool(ids) == bool(agency):
        raise typer.BadParameter(
            say(
                "cho mã bản gửi hoặc --agency (không cả hai)",
                "give delivery IDs or --agency (not both)",
            )
        )
    if not reason.strip():
        raise typer.BadParameter(say("cần --reason", "--reason is required"))

    async def work(session):  # type: ignore[no-untyped-def]
        return await DeliveryAdmin(session, _actor()).resend(ids, agency=agency, reason=reason)

    try:
        resent = run_in_session(get_settings(), work)
    except GatewayError as exc:
        raise _fail(exc) from None
    for i in resent:
        console.print(i)
    console.print(say(f"đã gửi lại {len(resent)} bản", f"resent {len(resent)} deliveries"))


@deliveries_app.command("cancel")
def cancel_command(
    delivery_id: str,
    reason: Annotated[str, typer.Option(help="why (audited)")],
) -> None:
    """Cancel a failed (or pending) delivery for good."""
    from .service import DeliveryAdmin

    if not reason.strip():
        raise typer.BadParameter(say("cần --reason", "--reason is required"))

    async def work(session):  # type: ignore[no-untyped-def]
        return await DeliveryAdmin(session, _actor()).cancel(delivery_id, reason=reason)

    try:
        d = run_in_session(get_settings(), work)
    except GatewayError as exc:
        raise _fail(exc) from None
    console.print(f"{d.id}: {d.state}")
