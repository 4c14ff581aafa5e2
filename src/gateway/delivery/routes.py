"""HTTP: operator actions on deliveries (resend, cancel, list), push secrets, and the notice
list of poll-mode senders.

Notices (GET /notices): when a recipient acknowledges a copy, the original sender gets a
`delivery.acknowledged` notice. A push-mode sender receives it POSTed to its endpoint as JSON
(same HMAC headers as a package; X-Gateway-Delivery-Id is the notice id); a poll-mode sender
lists it here, oldest first, with `next_cursor`. Business status packages travel back to the
original sender like any package (its inbox, or a push).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from ..auth.dependencies import AdminOperator, CurrentOperator, CurrentPrincipal
from ..db import SessionDep
from ..errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationFailed,
    responses,
)
from ..packages.service import decode_cursor, encode_cursor
from ..registry.push_secrets import rotate_push_secret
from ..registry.service import RegistryService
from .repository import DeliveryRepository
from .schemas import (
    BulkResendIn,
    DeliveryList,
    DeliveryOut,
    NoticeOut,
    NoticePage,
    PushSecretOut,
    ReasonIn,
    ResendResult,
)
from .service import DeliveryAdmin

AUTH = (Unauthenticated, Forbidden, ValidationFailed)

admin = APIRouter(prefix="/admin", tags=["admin"])
notices = APIRouter(tags=["packages"])

State = Literal["pending", "delivered", "acknowledged", "failed", "cancelled"]


def _admin(session: SessionDep, op: AdminOperator, request: Request) -> DeliveryAdmin:
    """Operator actions on the app's clock (tests pin it), like the dashboard's."""
    return DeliveryAdmin(session, op.actor, clock=request.app.state.clock)


@admin.get("/deliveries", response_model=DeliveryList, responses=responses(*AUTH))
async def list_deliveries(
    session: SessionDep,
    op: CurrentOperator,
    state: Annotated[list[State] | None, Query()] = None,
    agency: Annotated[str | None, Query(description="recipient agency code")] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    """Deliveries, e.g. `?state=failed` (those waiting for an operator), least recently
    changed first."""
    rows = await DeliveryAdmin(session, op.actor).list(
        states=state, agency=agency, limit=limit, offset=offset
    )
    return DeliveryList(
        items=[DeliveryOut.model_validate(d) for d in rows], offset=offset, limit=limit
    )


@admin.post(
    "/deliveries/{delivery_id}/resend",
    response_model=ResendResult,
    responses=responses(*AUTH, NotFound, Conflict),
)
async def resend_delivery(
    delivery_id: str, body: ReasonIn, session: SessionDep, op: AdminOperator, request: Request
) -> ResendResult:
    """Resend a failed delivery: a new round of attempts (same delivery id), audited."""
    ids = await _admin(session, op, request).resend([delivery_id], reason=body.reason)
    return ResendResult(resent=ids, count=len(ids))


@admin.post(
    "/deliveries/resend",
    response_model=ResendResult,
    responses=responses(*AUTH, NotFound, Conflict),
)
async def resend_deliveries(
    body: BulkResendIn, session: SessionDep, op: AdminOperator, request: Request
) -> ResendResult:
    """Resend in bulk: `{"agency": "…", "reason": "…"}` resends every failed delivery to the
    agency (e.g. after its endpoint was fixed); or `{"delivery_ids": [...], "reason": "…"}`."""
    if bool(body.agency) == bool(body.delivery_ids):
        raise ValidationFailed(
            "Cần đúng một trong hai: agency hoặc delivery_ids",
            en="Give exactly one of agency or delivery_ids",
        )
    ids = await _admin(session, op, request).resend(
        body.delivery_ids, agency=body.agency, reason=body.reason
    )
    return ResendResult(resent=ids, count=len(ids))


@admin.post(
    "/deliveries/{delivery_id}/cancel",
    response_model=DeliveryOut,
    responses=responses(*AUTH, NotFound, Conflict),
)
async def cancel_delivery(
    delivery_id: str, body: ReasonIn, session: SessionDep, op: AdminOperator, request: Request
) -> DeliveryOut:
    """Give up on a failed (or pending) delivery for good, with the reason audited."""
    d = await _admin(session, op, request).cancel(delivery_id, reason=body.reason)
    return DeliveryOut.model_validate(d)


@admin.post(
    "/agencies/{code}/push-secret",
    response_model=PushSecretOut,
    responses=responses(*AUTH, NotFound),
)
async def rotate_secret(
    code: str, request: Request, session: SessionDep, op: AdminOperator
) -> PushSecretOut:
    """Generate (or replace) the agency's push HMAC secret; shown only in this answer."""
    agency = await RegistryService(session, op.actor).get_agency(code)
    secret = await rotate_push_secret(
        session, agency, request.app.state.settings.secret_box(), actor=op.actor
    )
    return PushSecretOut(agency=agency.code, push_secret=secret)


@notices.get(
    "/notices",
    response_model=NoticePage,
    responses=responses(BadRequest, Unauthenticated, Forbidden, ValidationFailed),
)
async def list_notices(
    session: SessionDep,
    principal: CurrentPrincipal,
    agency: Annotated[str | None, Query(description="sender agency (optional if only one)")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> NoticePage:
    """Notices for an original sender (e.g. `delivery.acknowledged`), oldest first. Push-mode
    senders get them POSTed as JSON as well."""
    if agency is None:
        if principal.kind == "system" and len(principal.agencies) == 1:
            agency = next(iter(principal.agencies))
        else:
            raise ValidationFailed("Cần tham số agency", en="The agency parameter is required")
    if not (principal.is_operator or principal.acts_for(agency)):
        raise Forbidden(
            f"Không được đọc thông báo của cơ quan {agency}",
            en=f"Not allowed to read the notices of agency {agency}",
        )
    after = decode_cursor(cursor) if cursor else None
    rows = await DeliveryRepository(session).notices_for(agency, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return NoticePage(
        agency=agency,
        items=[NoticeOut.model_validate(n) for n in rows],
        next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more else None,
    )
