"""HTTP (read-only, operators' API keys): `GET /api/v1/admin/reports/monthly?month=2026-10`
as JSON, or `&format=csv` for the same CSV as `gateway report monthly`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from ..auth.dependencies import CurrentOperator
from ..errors import Forbidden, Unauthenticated, ValidationFailed, responses
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
    """Per agency: documents sent and received electronically that month, signed / unsigned,
    sent on time / late (by the end of the morning of the next working day after promulgation),
    with a paper copy. See gateway.ops.reports for the exact rules."""
    state = request.app.state
    try:
        async with state.db.read_session() as session:
            report = await monthly_report(session, month, state.calendar, now=state.clock())
    except BadMonth as exc:
        raise ValidationFailed(str(exc)) from None
    if format == "csv":
        return Response(
            report.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="report-{report.month}.csv"'},
        )
    return {
        "month": report.month,
        "generated_at": report.generated_at.isoformat(),
        "agencies": [asdict(r) for r in report.rows],
        "totals": report.totals,
    }
