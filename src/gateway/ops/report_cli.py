"""`gateway report monthly --month 2026-10 [--output report.csv]`: the monthly report as CSV
(the same bytes as the dashboard's and the API's CSV; see gateway.ops.reports).
`gateway report outages [--from D] [--to D] [--agency CODE] [--format csv|json]`: outage
incidents and the documents they affected (gateway.outages.report)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ..cli_lang import say
from ..cli_session import run_in_session
from ..db import utcnow
from ..outages.report import BadPeriod, check_period, outage_report
from ..settings import get_settings
from .period_report_io import period_command
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
        raise typer.BadParameter(say(str(exc), exc.en), param_hint="--month") from None
    settings = get_settings()
    calendar = settings.office_calendar()

    async def work(session):  # type: ignore[no-untyped-def]
        return await monthly_report(session, month, calendar)

    report = run_in_session(settings, work)
    _emit(report.to_csv(), output, f"{len(report.rows)} agencies, month {report.month}")


def _emit(data: bytes, output: Path | None, summary: str) -> None:
    """A report's bytes to stdout (pipes stay clean), or to a file with a summary on stderr."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        typer.echo(f"{summary} → {output}", err=True)


def _date(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {value!r}", param_hint=option) from None


@report_app.command("outages")
def outages_command(
    since: Annotated[
        str | None, typer.Option("--from", help="first day, e.g. 2026-11-01 (Vietnam time)")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="last day, included")] = None,
    agency: Annotated[
        str | None, typer.Option(help='one agency code, or "upstream" for the national axis')
    ] = None,
    format: Annotated[str, typer.Option(help="csv or json")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the report here (default: stdout)")
    ] = None,
) -> None:
    """Outage incidents (endpoints failing for more than the threshold of working hours) and,
    for each, the documents affected: DocumentId, code, subject, priority, delivery state."""
    if format not in ("csv", "json"):
        raise typer.BadParameter("csv or json", param_hint="--format")
    start, end = _date(since, "--from"), _date(until, "--to")
    try:
        check_period(start, end)
    except BadPeriod as exc:
        raise typer.BadParameter(say(str(exc), exc.en), param_hint="--from/--to") from None
    settings = get_settings()
    calendar = settings.office_calendar()

    async def work(session):  # type: ignore[no-untyped-def]
        return await outage_report(
            session, calendar, now=utcnow(), start=start, end=end, agency=agency
        )

    report = run_in_session(settings, work)
    if format == "json":
        data = json.dumps(report.as_dict(), ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    else:
        data = report.to_csv()
    affected = sum(len(i.affected) for i in report.incidents)
    _emit(data, output, f"{len(report.incidents)} incidents, {affected} copies")


report_app.command("period")(period_command)  # `gateway report period 2026-Q3 --format xlsx`
