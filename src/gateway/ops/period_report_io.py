"""The period report (gateway.ops.period_report) from the CLI — `gateway report period 2026-Q3
--format xlsx -o bao-cao.xlsx` — and the admin API —
`GET /api/v1/admin/reports/period?period=2026-Q3&format=json|csv|xlsx`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from fastapi import APIRouter, Query, Request, Response

from ..auth.dependencies import CurrentOperator
from ..cli_session import run_in_session
from ..db import utcnow
from ..errors import Forbidden, Unauthenticated, ValidationFailed, responses
from ..settings import get_settings
from .period_report import BadPeriod, PeriodReport, parse_period, period_report

Format = Literal["json", "csv", "xlsx"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def render(report: PeriodReport, fmt: Format) -> tuple[bytes, str]:
    if fmt == "csv":
        return report.to_csv(), "text/csv; charset=utf-8"
    if fmt == "xlsx":
        return report.to_xlsx(), XLSX
    data = json.dumps(report.to_json(), ensure_ascii=False, indent=1, default=str)
    return data.encode("utf-8"), "application/json"


def period_command(
    period: Annotated[str, typer.Argument(help="2026-10 (month), 2026-Q3 (quarter), 2026 (year)")],
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx or json")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")
    ] = None,
) -> None:
    """Per agency and for the province: sent (new, update, replace; revocations apart),
    received, signed, on time, by priority, copies not fetched / acknowledged / failed,
    processing outcomes and median time to done."""
    if fmt not in ("csv", "xlsx", "json"):
        raise typer.BadParameter("csv, xlsx or json", param_hint="--format")
    try:
        parse_period(period)
    except BadPeriod as exc:
        raise typer.BadParameter(str(exc), param_hint="PERIOD") from None
    settings = get_settings()

    async def work(session):  # type: ignore[no-untyped-def]
        from ..workdays.service import load_calendar

        calendar = await load_calendar(session, settings)
        return await period_report(session, period, calendar, now=utcnow())

    report = run_in_session(settings, work)
    data, _ = render(report, fmt)  # type: ignore[arg-type]
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        typer.echo(f"{len(report.rows)} agencies, period {report.period} → {output}", err=True)


router = APIRouter(prefix="/admin/reports", tags=["admin"])


@router.get(
    "/period",
    responses={
        200: {"description": "JSON, CSV or XLSX", "content": {"text/csv": {}, XLSX: {}}},
        **responses(Unauthenticated, Forbidden, ValidationFailed),
    },
)
async def period(
    request: Request,
    _op: CurrentOperator,
    period: Annotated[str, Query(max_length=10, description="2026-10, 2026-Q3 or 2026")],
    format: Annotated[Format, Query()] = "json",
) -> Any:
    """The period report (month, quarter, year), Vietnamese headings in CSV and XLSX."""
    state = request.app.state
    try:
        async with state.db.read_session() as session:
            report = await period_report(session, period, state.calendar, now=state.clock())
    except BadPeriod as exc:
        raise ValidationFailed(str(exc)) from None
    if format == "json":
        return report.to_json()
    data, media = render(report, format)
    name = f"bao-cao-{report.period}.{format}"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
