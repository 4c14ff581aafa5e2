"""Admin API of outages (operators): documents handled on paper, poll-mode agencies that stopped
collecting their inbox, the gateway's own downtimes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ..auth.dependencies import CurrentOperator
from ..db import SessionDep, begin_write
from ..errors import Forbidden, NotFound, Unauthenticated, ValidationFailed, responses
from .inbox_watch import stale_inboxes
from .models import OutageIncident
from .paper import PaperHandlings, PaperNotAllowed

AUTH = (Unauthenticated, Forbidden, ValidationFailed)
router = APIRouter(prefix="/admin", tags=["outages"])


class PaperIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reference: str = Field(
        min_length=1, max_length=200, description="số, ký hiệu of the paper dispatch"
    )
    handled_on: date
    handled_by: str = Field(min_length=1, max_length=200, description="who handled it")
    note: str = Field(default="", max_length=2000)


class ReconcileIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    outcome: Literal["keep", "cancel"] = Field(
        description="keep: the electronic copy was delivered too; cancel: cancel it"
    )
    note: str = Field(default="", max_length=2000)


class PaperOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    delivery_id: str
    reference: str
    handled_on: date
    handled_by: str
    note: str
    recorded_by: str
    recorded_at: datetime
    reconciled_at: datetime | None
    reconciled_by: str | None
    outcome: str | None


@router.post(
    "/deliveries/{delivery_id}/paper",
    status_code=status.HTTP_201_CREATED,
    response_model=PaperOut,
    responses=responses(*AUTH, NotFound, PaperNotAllowed),
)
async def record_paper(
    delivery_id: Annotated[str, Path(max_length=36)],
    body: PaperIn,
    request: Request,
    session: SessionDep,
    op: CurrentOperator,
) -> PaperOut:
    """Record that a copy the gateway could not deliver was handled on paper."""
    await begin_write(session)
    paper = await PaperHandlings(session, op.actor, clock=request.app.state.clock).record(
        delivery_id, **body.model_dump()
    )
    return PaperOut.model_validate(paper)


@router.get("/paper", response_model=list[PaperOut], responses=responses(*AUTH))
async def list_paper(
    session: SessionDep, op: CurrentOperator, open_only: bool = False
) -> list[PaperOut]:
    """Paper handlings; `open_only`: those not reconciled yet."""
    rows = await PaperHandlings(session, op.actor).list(open_only=open_only)
    return [PaperOut.model_validate(r) for r in rows]


@router.post(
    "/paper/{paper_id}/reconcile",
    response_model=PaperOut,
    responses=responses(*AUTH, NotFound, PaperNotAllowed),
)
async def reconcile_paper(
    paper_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: ReconcileIn,
    request: Request,
    session: SessionDep,
    op: CurrentOperator,
) -> PaperOut:
    """After recovery: keep the electronic copy (delivered too) or cancel it."""
    await begin_write(session)
    paper = await PaperHandlings(session, op.actor, clock=request.app.state.clock).reconcile(
        paper_id, body.outcome, body.note
    )
    return PaperOut.model_validate(paper)


class StaleInboxOut(BaseModel):
    code: str
    name: str
    waiting: int = Field(description="copies waiting in its inbox")
    oldest_since: datetime
    working_seconds: int = Field(description="working time the oldest one has waited")
    contact_email: str | None


@router.get(
    "/outages/stale-inboxes", response_model=list[StaleInboxOut], responses=responses(*AUTH)
)
async def list_stale_inboxes(
    request: Request, session: SessionDep, op: CurrentOperator
) -> list[StaleInboxOut]:
    """Poll-mode agencies that have not collected their inbox for longer than
    `GATEWAY_INBOX_STALE_WORKING_HOURS` working hours (oldest first)."""
    state = request.app.state
    threshold = timedelta(hours=state.settings.inbox_stale_working_hours)
    found = await stale_inboxes(session, state.calendar, now=state.clock(), threshold=threshold)
    return [StaleInboxOut.model_validate(f, from_attributes=True) for f in found]


class DowntimeOut(BaseModel):
    id: int = Field(description="the outage incident (kind gateway)")
    started_at: datetime = Field(description="the last heartbeat before the downtime")
    ended_at: datetime = Field(description="the restart that recorded it")
    duration_seconds: int
    working_seconds: int
    description: str | None


@router.get("/outages/downtimes", response_model=list[DowntimeOut], responses=responses(*AUTH))
async def list_downtimes(session: SessionDep, op: CurrentOperator) -> list[DowntimeOut]:
    """The gateway's own downtimes (no server running), newest first: the outage incidents of
    kind `gateway` (also in GET /admin/reports/outages and on the dashboard's Outages page)."""
    rows = await session.scalars(
        select(OutageIncident)
        .where(OutageIncident.kind == "gateway")
        .order_by(OutageIncident.started_at.desc())
        .limit(500)
    )
    return [
        DowntimeOut(
            id=r.id,
            started_at=r.started_at,
            ended_at=r.closed_at or r.opened_at,
            duration_seconds=r.duration_seconds or 0,
            working_seconds=r.working_seconds or 0,
            description=r.last_error,
        )
        for r in rows
    ]
