"""`gateway report monthly --month 2026-10 [--output report.csv]`: the monthly report as CSV
(the same bytes as the dashboard's and the API's CSV; see gateway.ops.reports)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..db import run_in_session
from ..settings import get_settings
from .reports import BadMonth, monthly_report, parse_month

report_app = typer.Typer(
    help="Reports for the provincial People's Committee.", no_args_is_help=True
)


@report_app.command("monthly")
def monthly_command(
    month: Annotated[str, typer.Option(help="the month, e.g. 2026-10 (Vietnam time)")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the CSV here (default: stdout)")
    ] = None,
) -> None:
    """Per agency: documents sent and received electronically, signed / unsigned, on time /
    late, with a paper copy."""
    try:
        parse_month(month)
    except BadMonth as exc:
        raise typer.BadParameter(str(exc), param_hint="--month") from None
    settings = get_settings()
    calendar = settings.office_calendar()

    async def work(session):  # type: ignore[no-untyped-def]
        return await monthly_report(session, month, calendar)

    report = run_in_session(settings, work)
    data = report.to_csv()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        typer.echo(f"{len(report.rows)} agencies, month {report.month} → {output}", err=True)
