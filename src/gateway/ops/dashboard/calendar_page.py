"""Dashboard pages of issue 15: `/dashboard/calendar` (the year's days off, working weekend days,
office hours; admins add and remove changes, audited), `/dashboard/agencies` (the registry
with its administrator contacts, CSV export, stale inboxes flagged) and
`/dashboard/reports/period` (the period report with charts)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from ...db import SessionDep, begin_write
from ...errors import GatewayError
from ...outages.inbox_watch import stale_inboxes
from ...registry.export import export_csv
from ...registry.models import Agency
from ...workdays.service import CalendarChanges, apply_changes, year_view
from ..period_report import (
    HEADINGS,
    INCIDENT_HEADINGS,
    PRIORITY_KEYS,
    BadPeriod,
    parse_period,
    period_report,
)
from . import charts, i18n
from .routes import FLASHES, PREFIX, DashboardError, Op, check_csrf, redirect, render
from .routes import _lang as render_lang

router = APIRouter(prefix=PREFIX, include_in_schema=False)

i18n.LABELS.update(
    {
        "nav.calendar": ("Lịch làm việc", "Office calendar"),
        "nav.agencies": ("Cơ quan", "Agencies"),
        "cal.title": ("Lịch làm việc năm", "Office calendar of"),
        "cal.days_off": ("Ngày nghỉ", "Days off"),
        "cal.working": ("Ngày làm việc bù (cuối tuần)", "Working weekend days"),
        "cal.hours": ("Giờ làm việc", "Office hours"),
        "cal.changes": ("Thay đổi do quản trị viên nhập", "Operators' changes"),
        "cal.day": ("Ngày", "Day"),
        "cal.name": ("Tên", "Name"),
        "cal.source": ("Nguồn", "Source"),
        "cal.source.public": ("Ngày lễ (quy định)", "Public holiday"),
        "cal.source.settings": ("Cấu hình", "Settings"),
        "cal.source.operator": ("Quản trị viên", "Operator"),
        "cal.kind.day_off": ("Ngày nghỉ", "Day off"),
        "cal.kind.working_day": ("Ngày làm việc", "Working day"),
        "cal.kind.office_hours": ("Giờ làm việc theo mùa", "Seasonal office hours"),
        "cal.season": ("Từ ngày – đến ngày (MM-DD)", "From – to (MM-DD)"),
        "cal.periods": ("Các buổi (HH:MM-HH:MM,…)", "Periods (HH:MM-HH:MM,…)"),
        "cal.note": ("Ghi chú", "Note"),
        "cal.by": ("Người nhập", "By"),
        "cal.add": ("Thêm", "Add"),
        "cal.remove": ("Xóa", "Remove"),
        "cal.confirm_remove": ("Xóa thay đổi này?", "Remove this change?"),
        "cal.none": ("Chưa có.", "None."),
        "flash.calendar_added": ("Đã thêm thay đổi lịch.", "Calendar change added."),
        "flash.calendar_removed": ("Đã xóa thay đổi lịch.", "Calendar change removed."),
        "flash.calendar_invalid": (
            "Thay đổi không hợp lệ (ngày, mùa hoặc giờ sai, hoặc ngày đã có quyết định khác).",
            "Invalid change (bad day, season or hours, or the day already has a decision).",
        ),
        "ag.title": ("Danh bạ cơ quan và đầu mối quản trị", "Agencies and their administrators"),
        "ag.code": ("Mã", "Code"),
        "ag.name": ("Tên cơ quan", "Agency"),
        "ag.mode": ("Nhận văn bản", "Delivery"),
        "ag.contact": ("Người quản trị", "Administrator"),
        "ag.position": ("Chức vụ", "Position"),
        "ag.email": ("Thư điện tử", "E-mail"),
        "ag.phone": ("Điện thoại", "Phone"),
        "ag.test": ("thử nghiệm (http)", "test endpoint (http)"),
        "ag.csv": ("Tải CSV", "Download CSV"),
        "ag.stale": (
            "Chưa nhận văn bản quá {hours} giờ làm việc",
            "Inbox not collected for more than {hours} working hours",
        ),
        "ag.waiting": ("văn bản chờ nhận, từ", "documents waiting, since"),
    }
)
FLASHES.update({"calendar_added": "ok", "calendar_removed": "ok", "calendar_invalid": "error"})


@router.get("/calendar", response_class=HTMLResponse)
async def calendar_page(request: Request, op: Op, year: int | None = None):
    state = request.app.state
    async with state.db.read_session() as session:
        changes = await CalendarChanges(session, op.actor).list()
    calendar = apply_changes(state.settings.office_calendar(), changes)
    current = state.clock().astimezone(calendar.zone).year
    chosen = year if year and 1900 <= year <= 2200 else current
    view = year_view(calendar, state.settings, changes, chosen)
    return render(request, "calendar.html", op, section="calendar", view=view)


@router.post("/calendar/changes")
async def add_change(
    request: Request,
    session: SessionDep,
    op: Op,
    csrf_token: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    day: Annotated[str, Form()] = "",
    first_day: Annotated[str, Form()] = "",
    last_day: Annotated[str, Form()] = "",
    periods: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=500)] = "",
):
    check_csrf(op, csrf_token)
    if not op.is_admin:
        raise DashboardError("flash.admin_only", 403)
    await begin_write(session)
    service = CalendarChanges(session, op.actor, clock=request.app.state.clock)
    try:
        if kind == "office_hours":
            await service.add_office_hours(first_day, last_day, periods, note)
        elif kind in ("day_off", "working_day"):
            await service.add_day(kind, date.fromisoformat(day), note)  # type: ignore[arg-type]
        else:
            return redirect(f"{PREFIX}/calendar?flash=calendar_invalid")
    except (GatewayError, ValueError):
        return redirect(f"{PREFIX}/calendar?flash=calendar_invalid")
    await _use_now(request, session)
    return redirect(f"{PREFIX}/calendar?flash=calendar_added")


@router.post("/calendar/changes/{change_id}/remove")
async def remove_change(
    request: Request,
    change_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    session: SessionDep,
    op: Op,
    csrf_token: Annotated[str, Form()] = "",
):
    check_csrf(op, csrf_token)
    if not op.is_admin:
        raise DashboardError("flash.admin_only", 403)
    await begin_write(session)
    try:
        await CalendarChanges(session, op.actor, clock=request.app.state.clock).remove(change_id)
    except GatewayError:
        return redirect(f"{PREFIX}/calendar?flash=not_found")
    await _use_now(request, session)
    return redirect(f"{PREFIX}/calendar?flash=calendar_removed")


async def _use_now(request: Request, session: SessionDep) -> None:
    state = request.app.state
    changes = await CalendarChanges(session, "").list()
    state.calendar = apply_changes(state.settings.office_calendar(), changes)


@router.get("/agencies", response_class=HTMLResponse)
async def agencies_page(request: Request, op: Op):
    state = request.app.state
    threshold = timedelta(hours=state.settings.inbox_stale_working_hours)
    async with state.db.read_session() as session:
        agencies = list(await session.scalars(select(Agency).order_by(Agency.code)))
        stale = await stale_inboxes(session, state.calendar, now=state.clock(), threshold=threshold)
    return render(
        request,
        "agencies.html",
        op,
        section="agencies",
        agencies=agencies,
        stale={s.code: s for s in stale},
        stale_hours=state.settings.inbox_stale_working_hours,
    )


@router.get("/agencies.csv")
async def agencies_csv(request: Request, op: Op) -> Response:
    async with request.app.state.db.read_session() as session:
        text = await export_csv(session)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="danh-ba-co-quan.csv"',
            "Cache-Control": "no-store",
        },
    )


# ------------------------------------------------------------ period report (issue 15 item 2)

i18n.LABELS.update(
    {
        "pr.title": ("Báo cáo theo kỳ", "Report by period"),
        "pr.period": ("Kỳ (2026-10, 2026-Q3, 2026)", "Period (2026-10, 2026-Q3, 2026)"),
        "pr.sent_vs_received": ("Gửi và nhận theo cơ quan", "Sent and received per agency"),
        "pr.priority": ("Văn bản gửi theo độ khẩn", "Documents sent by priority"),
        "pr.outcomes": ("Kết quả xử lý", "Processing outcomes"),
        "pr.sent": ("Gửi", "Sent"),
        "pr.received": ("Nhận", "Received"),
    }
)
CHART_AGENCIES = 30  # the busiest agencies in the chart; the table lists every one


def _default_quarter(now: datetime, zone: Any) -> str:
    local = now.astimezone(zone)
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


@router.get("/reports/period", response_class=HTMLResponse)
async def period_page(request: Request, op: Op, period: str = ""):
    state = request.app.state
    chosen = period or _default_quarter(state.clock(), state.calendar.zone)
    try:
        parse_period(chosen)
    except BadPeriod:
        chosen = _default_quarter(state.clock(), state.calendar.zone)
    async with state.db.read_session() as session:
        report = await period_report(session, chosen, state.calendar, now=state.clock())
    t = i18n.translator(render_lang(request))
    busiest = sorted(
        report.rows,
        key=lambda r: -(r.sent_new + r.sent_update + r.sent_replace + r.received),
    )[:CHART_AGENCIES]
    volume = charts.bars(
        [r.agency_code for r in busiest],
        [
            (t("pr.sent"), [r.sent_new + r.sent_update + r.sent_replace for r in busiest], "s1"),
            (t("pr.received"), [r.received for r in busiest], "s2"),
        ],
        title=t("pr.sent_vs_received"),
    )
    total = report.total
    priority = charts.bars(
        [heading.removeprefix("Gửi: ") for key, heading in HEADINGS if key in PRIORITY_KEYS],
        [(t("pr.sent"), [getattr(total, key) for key in PRIORITY_KEYS], "s1")],
        title=t("pr.priority"),
    )
    outcomes = charts.bars(
        ["03", "02", "06"],
        [(t("pr.outcomes"), [total.accepted, total.refused, total.done], "s2")],
        title=t("pr.outcomes"),
    )
    return render(
        request,
        "period_report.html",
        op,
        section="reports",
        report=report,
        headings=HEADINGS,
        incident_headings=INCIDENT_HEADINGS,
        charts_svg=[volume, priority, outcomes],
        csv_url=f"/api/v1/admin/reports/period?period={report.period}&format=csv",
    )
