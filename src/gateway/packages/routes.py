"""HTTP: intake (POST /packages), inbox polling, fetching, acknowledging, timelines."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response, status

from ..auth.dependencies import CurrentPrincipal, CurrentSystem
from ..body import read_body_limited
from ..db import SessionDep
from ..errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    MalformedXml,
    NotFound,
    PayloadTooLarge,
    RecipientInactive,
    RecipientUnknown,
    ServiceUnavailable,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
    responses,
)
from ..intake_gate import large_intake
from .exclusions import DocumentExcluded
from .models import OPEN_STATES
from .receipts import signed_receipt
from .schemas import AckResult, InboxPage, IntakeResult, Timeline
from .service import PackageService
from .status_rules import STATUS_ERRORS

router = APIRouter(tags=["packages"])

XML_TYPES = ("application/xml", "text/xml", "application/octet-stream")


def get_service(request: Request, session: SessionDep) -> PackageService:
    state = request.app.state
    return PackageService(
        session,
        limits=state.settings.edxml_limits(),
        calendar=state.calendar,
        node_code=state.settings.node_code,
        signature_check=state.signature_check,
        clock=state.clock,
        routing=getattr(state, "axis_routing", None),  # gateway.axis: national connector
    )


ServiceDep = Annotated[PackageService, Depends(get_service)]


@router.post(
    "/packages",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IntakeResult,
    responses=responses(
        MalformedXml,
        Unauthenticated,
        Forbidden,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        RecipientUnknown,
        RecipientInactive,
        ServiceUnavailable,
        *STATUS_ERRORS,  # who may say what (gateway.packages.status_rules)
        DocumentExcluded,  # secret documents, complaints (gateway.packages.exclusions)
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The edXML package (QCVN 102:2016), exactly as the sender built it. "
            "A document package (new, revoke, update, replace) or a status package.",
            "content": {
                "application/xml": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def submit_package(
    request: Request, service: ServiceDep, principal: CurrentSystem
) -> IntakeResult:
    """Submit a package. On success it is stored with one delivery per recipient (202).

    Repeating a submission (same From, DocumentId and BussinessDocType; for a status: From,
    ResponseFor/DocumentId, StatusCode, Timestamp) returns the first answer with
    `duplicate: true`. 400 MALFORMED_XML: not well-formed XML; 422 VALIDATION_FAILED: every
    finding is listed.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in XML_TYPES:
        raise UnsupportedMediaType(details={"accepted": list(XML_TYPES)})
    async with large_intake(request).admit(request):  # before the body is read
        data = await read_body_limited(request, request.app.state.settings.max_body_bytes)
        return await service.intake(data, principal)


@router.get(
    "/inbox",
    response_model=InboxPage,
    responses=responses(BadRequest, Unauthenticated, Forbidden, ValidationFailed),
)
async def inbox(
    service: ServiceDep,
    principal: CurrentPrincipal,
    request: Request,
    agency: Annotated[
        str | None, Query(description="Recipient agency code (optional if only one)")
    ] = None,
    kind: Annotated[Literal["document", "status"] | None, Query()] = None,
    state: Annotated[
        list[Literal["pending", "delivered", "acknowledged", "failed", "cancelled"]] | None,
        Query(description="Default: pending and delivered (not yet acknowledged)"),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> InboxPage:
    """Packages waiting for an agency, oldest first, paginated with `next_cursor`."""
    kinds = [kind] if kind else ["document", "status"]
    states = list(state) if state else list(OPEN_STATES)
    return await service.inbox(
        principal,
        agency,
        kinds=kinds,
        states=states,
        cursor=cursor,
        limit=min(limit, request.app.state.settings.inbox_page_max),
    )


@router.get(
    "/packages/{package_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The package as sent; unsigned ones with the gateway's TraceHeader",
            "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
        },
        **responses(Unauthenticated, Forbidden, NotFound, Gone),
    },
)
async def fetch_package(
    package_id: str, service: ServiceDep, principal: CurrentPrincipal
) -> Response:
    """The package bytes as the recipient must receive them: a signed package exactly as it
    was signed, an unsigned one with this gateway's TraceHeader appended; either way the hop
    is in the `X-Gateway-Trace` header. A recipient's first fetch marks its copy delivered."""
    fetched = await service.fetch(package_id, principal)
    headers = {"X-Package-Id": fetched.package_id}
    if fetched.trace:
        headers["X-Gateway-Trace"] = fetched.trace
    if fetched.delivery_ids:
        headers["X-Delivery-Id"] = ",".join(fetched.delivery_ids)
    return Response(fetched.data, media_type="application/xml", headers=headers)


@router.post(
    "/deliveries/{delivery_id}/ack",
    response_model=AckResult,
    responses=responses(Unauthenticated, Forbidden, NotFound, Conflict),
)
async def acknowledge(delivery_id: str, service: ServiceDep, principal: CurrentSystem) -> AckResult:
    """The recipient confirms receipt. Repeating it is harmless."""
    return await service.acknowledge(delivery_id, principal)


@router.get(
    "/packages/{package_id}/timeline",
    response_model=Timeline,
    responses=responses(Unauthenticated, Forbidden, NotFound),
)
async def timeline(package_id: str, service: ServiceDep, principal: CurrentPrincipal) -> Timeline:
    """Per recipient: queued, sent, received (delivered), acknowledged, legal receipt time,
    attempts, last error, and every business status; plus revoke/update/replace packages that
    act on this document."""
    return await service.timeline(package_id, principal)


@router.get(
    "/packages/{package_id}/receipt",
    response_class=Response,
    responses={
        200: {"content": {"application/xml": {}}, "description": "The signed receipt"},
        **responses(Unauthenticated, Forbidden, NotFound),
    },
)
async def receipt(
    package_id: str, request: Request, service: ServiceDep, principal: CurrentPrincipal
) -> Response:
    """The gateway's signed receipt for a package (who may read its timeline may read this):
    package id, sha256, From, DocumentId, received and legal receipt times, signature class and
    one line per delivery. Enveloped XMLDSig (RSA-SHA256); verify it against
    /.well-known/gateway-certificate.pem."""
    state = request.app.state
    timeline = await service.timeline(package_id, principal)
    body = await anyio.to_thread.run_sync(
        partial(
            signed_receipt,
            timeline,
            state.trust.signer,
            node_code=state.settings.node_code,
            issued_at=state.clock(),
        )
    )
    return Response(body, media_type="application/xml")
