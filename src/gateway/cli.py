"""The `gateway` command line. Each capability contributes its own sub-commands here, by
name and summary: the module behind one is imported only when it runs (gateway.cli_group), so
`gateway --help` answers at once."""

from __future__ import annotations

from typing import Annotated

import typer

from . import __version__, wiring
from .cli_group import LazyCommand, LazyGatewayGroup
from .cli_lang import LANGUAGES, choose
from .cli_problems import set_debugging

LazyGatewayGroup.lazy = {
    "validate": LazyCommand(
        "gateway.edxml.cli:validate_command",
        "Validate edXML packages (QCVN 102:2016): structure, codes, dates, attachments.",
    ),
    "serve": LazyCommand(
        "gateway.server_cli:serve_command",
        "Run the gateway service (embedded SQLite by default; migrates on start).",
    ),
    "db": LazyCommand("gateway.server_cli:db_app", "Database schema."),
    "agencies": LazyCommand(  # the registry's commands plus `agencies signers`
        "gateway.registry.signing_cli:agencies_app", "Agency registry (danh bạ cơ quan)."
    ),
    "systems": LazyCommand(
        "gateway.registry.cli:systems_app", "Agency systems and their API keys."
    ),
    "operators": LazyCommand(  # create: gateway.registry.cli; the rest: gateway.ops.accounts_cli
        "gateway.ops.accounts_cli:operators_app",
        "Operator accounts: create, list, disable/enable, role, reset password.",
    ),
    "audit": LazyCommand("gateway.audit.cli:audit_app", "The hash-chained audit log."),
    "axis": LazyCommand(
        "gateway.axis.cli:axis_app",
        "National axis (VXP): SDK client credentials, registry sync from upstream.",
    ),
    "connector": LazyCommand(
        "gateway.axis.cli:connector_command",
        "Run the national connector alone: forward upward, poll downward, sync the registry.",
    ),
    "keys": LazyCommand(
        "gateway.trust.cli:keys_app", "The gateway's own signing key and certificate."
    ),
    "relay": LazyCommand(
        "gateway.delivery.cli:relay_command",
        "Publish committed outbox rows to the delivery queue (RabbitMQ or the database queue).",
    ),
    "worker": LazyCommand(
        "gateway.delivery.cli:worker_command",
        "Deliver jobs: push to push-mode agencies, make poll-mode copies available.",
    ),
    "deliveries": LazyCommand(
        "gateway.delivery.cli:deliveries_app", "Deliveries: list, resend failed ones, cancel."
    ),
    "archive": LazyCommand(
        "gateway.archive.cli:archive_app",
        "Hand-off to the historical archive: export signed bundles, verify them, prune.",
    ),
    "report": LazyCommand(  # `gateway report monthly --month 2026-10`
        "gateway.ops.report_cli:report_app", "Reports for the provincial People's Committee."
    ),
    "backup": LazyCommand(
        "gateway.ops.backup_cli:backup_app.backup",
        "Back the database up while the gateway runs (online; with a checksum manifest).",
    ),
    "backups": LazyCommand(
        "gateway.ops.backups_cli:backups_app",
        "Encrypted backups: a key, a run, a schedule, retention, the restore drill.",
    ),
    "calendar": LazyCommand(  # `gateway calendar show --year 2027`
        "gateway.workdays.cli:calendar_app",
        "The office calendar: public holidays, days off, working Saturdays, office hours.",
    ),
    "restore": LazyCommand(
        "gateway.ops.backup_cli:backup_app.restore",
        "Replace the database with a backup (the gateway stopped).",
    ),
}

app = typer.Typer(
    name="gateway",
    cls=LazyGatewayGroup,
    help="Provincial document-interchange gateway (trục liên thông văn bản, QCVN 102:2016).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"gateway {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="On a failure, show the Python traceback.")
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            envvar="GATEWAY_LANG",
            help=f"Language of messages: {' or '.join(LANGUAGES)} (default vi).",
        ),
    ] = None,
) -> None:
    """Provincial document-interchange gateway (trục liên thông văn bản, QCVN 102:2016)."""
    if lang is not None and lang.strip().lower()[:2] not in LANGUAGES:
        raise typer.BadParameter(f"{lang!r}: use {' or '.join(LANGUAGES)}", param_hint="--lang")
    choose(lang)
    set_debugging(debug)
    wiring.wire()  # hooks between capabilities (gateway.wiring), e.g. for `gateway worker`


if __name__ == "__main__":  # pragma: no cover
    app()
