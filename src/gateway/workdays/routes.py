"""Admin API of the office calendar: `/api/v1/admin/calendar…` (read: operators; change: admins).

A change is used by this process at once and by other processes within a minute
(gateway.workdays.runtime)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.dependencies import AdminOperator, CurrentOperator
from ..db import SessionDep, begin_write
from ..errors import Forbidden, NotFound, Unauthenticated, ValidationFailed, responses
from .schemas import CalendarChangeIn, CalendarChangeOut, CalendarYear
from .service import (
    CalendarChangeInvalid,
    CalendarChanges,
    CalendarDayTaken,
    apply_changes,
    year_view,
)

AUTH = (Unauthenticated, Forbidden, ValidationFailed)

router = APIRouter(prefix="/admin/calendar", tags=["calendar"])


@router.get("", response_model=CalendarYear, responses=responses(*AUTH))
async def show_year(
    request: Request,
    session: SessionDep,
    op: CurrentOperator,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
) -> CalendarYear:
    """The effective calendar of a year (default: the current one, Vietnam time)."""
    state = request.app.state
    changes = await CalendarChanges(session, op.actor).list()
    calendar = apply_changes(state.settings.office_calendar(), changes)
    year = year or state.clock().astimezone(calendar.zone).year
    return CalendarYear.model_validate(year_view(calendar, state.settings, changes, year))


@router.post(
    "/changes",
    status_code=status.HTTP_201_CREATED,
    response_model=CalendarChangeOut,
    responses=responses(*AUTH, CalendarChangeInvalid, CalendarDayTaken),
)
async def add_change(
    body: CalendarChangeIn, request: Request, session: SessionDep, op: AdminOperator
) -> CalendarChangeOut:
    """A day off (nghỉ bù, a province's day), a working Saturday, or seasonal office hours."""
    await begin_write(session)
    service = CalendarChanges(session, op.actor, clock=request.app.state.clock)
    if body.kind == "office_hours":
        change = await service.add_office_hours(
            body.first_day or "", body.last_day or "", body.periods or "", body.note
        )
    else:
        assert body.day is not None  # checked by the schema
        change = await service.add_day(body.kind, body.day, body.note)
    await _use_now(request, session)
    return CalendarChangeOut.model_validate(change)


@router.delete(
    "/changes/{change_id}",
    response_model=CalendarChangeOut,
    responses=responses(*AUTH, NotFound),
)
async def remove_change(
    change_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    request: Request,
    session: SessionDep,
    op: AdminOperator,
) -> CalendarChangeOut:
    await begin_write(session)
    change = await CalendarChanges(session, op.actor, clock=request.app.state.clock).remove(
        change_id
    )
    await _use_now(request, session)
    return CalendarChangeOut.model_validate(change)


async def _use_now(request: Request, session: AsyncSession) -> None:
    """This process uses the change at once (others pick it up on their next refresh)."""
    state = request.app.state
    changes = await CalendarChanges(session, "").list()
    state.calendar = apply_changes(state.settings.office_calendar(), changes)
