"""The `gateway` command line. Each capability contributes its own sub-commands here."""

from __future__ import annotations

import typer

from .archive.cli import archive_app
from .audit.cli import audit_app
from .axis.cli import axis_app, connector_command
from .delivery.cli import deliveries_app, relay_command, worker_command
from .edxml.cli import validate_command
from .ops.backup_cli import backup_app
from .ops.backups_cli import backups_app
from .ops.period_report_io import period_command
from .ops.report_cli import report_app
from .registry.cli import agencies_app, operators_app, systems_app
from .server_cli import db_app, serve_command
from .trust.cli import keys_app
from .workdays.cli import calendar_app

app = typer.Typer(
    name="gateway",
    help="Provincial document-interchange gateway (trục liên thông văn bản, QCVN 102:2016).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Provincial document-interchange gateway (trục liên thông văn bản, QCVN 102:2016)."""


app.command("validate")(validate_command)
app.command("serve")(serve_command)
app.add_typer(db_app, name="db")
app.add_typer(agencies_app, name="agencies")
app.add_typer(systems_app, name="systems")
app.add_typer(operators_app, name="operators")
app.add_typer(audit_app, name="audit")
app.add_typer(axis_app, name="axis")
app.command("connector")(connector_command)
app.add_typer(keys_app, name="keys", help="The gateway's own signing key and certificate.")
app.command("relay")(relay_command)
app.command("worker")(worker_command)
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(archive_app, name="archive")
app.add_typer(report_app, name="report")  # `gateway report monthly --month 2026-10`
app.add_typer(backup_app)  # `gateway backup` and `gateway restore`
report_app.command("period")(period_command)  # `gateway report period 2026-Q3 --format xlsx`
app.add_typer(backups_app, name="backups")  # encrypted, scheduled, pruned; the drill
app.add_typer(calendar_app, name="calendar")  # `gateway calendar show --year 2027`


if __name__ == "__main__":  # pragma: no cover
    app()
