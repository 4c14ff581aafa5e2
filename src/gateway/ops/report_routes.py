"""HTTP (read-only, operators' API keys): `GET /api/v1/admin/reports/monthly?month=2026-10`
— the period report for that month — as JSON, or `&format=csv` for the same CSV as
`gateway report monthly` (Vietnamese headings);
`GET /api/v1/admin/reports/outages?from=…&to=…&agency=…` the outage incidents and the documents
they affected, as JSON or CSV (the same as `gateway report outages`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from ..auth.dependencies import CurrentOperator
from ..errors import Forbidden, Unauthenticated, ValidationFailed, responses
from ..outages.report import BadPeriod, outage_report
from .reports import BadMonth, monthly_report

router = APIRouter(prefix="/admin/reports", tags=["admin"])


@router.get(
    "/monthly",
    responses={
        200: {
            "description": "The report (JSON), or CSV with format=csv",
            "content": {"text/csv": {}},
        },
        **responses(Unauthenticated, Forbidden, ValidationFailed),
    },
)
async def monthly(
    request: Request,
    _op: CurrentOperator,
    month: Annotated[str, Query(description="e.g. 2026-10 (Vietnam time)")],
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """The period report for a month: per agency and for the province, documents sent (new,
    update, replace; revocations apart) and received, signed, on time / late, with a paper
    copy, by priority, copies not fetched / acknowledged / failed, processing outcomes and the
    median time to done (wall-clock and working hours). See gateway.ops.period_report."""
    state = request.app.state
    try:
        async with state.db.read_session() as session:
            report = await monthly_report(session, month, state.calendar, now=state.clock())
    except BadMonth as exc:
        raise ValidationFailed(str(exc), en=exc.en) from None
    if format == "csv":
        return Response(
            report.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="bao-cao-{report.period}.csv"'},
        )
    return {"month": report.period, **report.to_json()}


@router.get(
    "/outages",
    responses={
        200: {
            "description": "The incidents with their affected documents (JSON), or CSV with "
            "format=csv (one line per affected copy)",
            "content": {"text/csv": {}},
        },
        **responses(Unauthenticated, Forbidden, ValidationFailed),
    },
)
async def outages(
    request: Request,
    _op: CurrentOperator,
    start: Annotated[
        date | None, Query(alias="from", description="first day (Vietnam time), e.g. 2026-11-01")
    ] = None,
    end: Annotated[date | None, Query(alias="to", description="last day, included")] = None,
    agency: Annotated[
        str | None,
        Query(max_length=35, description='an agency code, or "upstream" (the national axis)'),
    ] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Outage incidents overlapping the period (an agency endpoint, or the upstream link,
    failing for more than the threshold of working hours), each with its wall-clock and
    working durations and the copies it affected: DocumentId, code, subject, priority and
    delivery state. See gateway.outages.report for the exact rules."""
    state = request.app.state
    try:
        async with state.db.read_session() as session:
            report = await outage_report(
                session, state.calendar, now=state.clock(), start=start, end=end, agency=agency
            )
    except BadPeriod as exc:
        raise ValidationFailed(str(exc), en=exc.en) from None
    if format == "csv":
        return Response(
            report.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="outages.csv"'},
        )
    return report.as_dict()
