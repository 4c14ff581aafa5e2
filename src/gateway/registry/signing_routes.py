"""HTTP (admin): an agency's signing identities. See gateway.registry.signing."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from ..auth.dependencies import AdminOperator, CurrentOperator
from ..body import read_body_limited
from ..db import SessionDep
from ..errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
    ValidationFailed,
    responses,
)
from .signing import (
    MAX_CERTIFICATE_FILE,
    SigningIdentities,
    SigningIdentityIn,
    SigningIdentityOut,
)

router = APIRouter(prefix="/admin/agencies/{code}/signing-identities", tags=["admin"])
AUTH = (Unauthenticated, Forbidden, ValidationFailed)


@router.get("", response_model=list[SigningIdentityOut], responses=responses(*AUTH, NotFound))
async def list_identities(
    code: str, session: SessionDep, operator: CurrentOperator
) -> list[SigningIdentityOut]:
    """Who may sign for the agency. A signed package from it whose signer matches none of
    these is refused (SIGNATURE_INVALID, reason SIGNER_NOT_SENDER)."""
    rows = await SigningIdentities(session, operator.actor).of(code)
    return [SigningIdentityOut.model_validate(r) for r in rows]


@router.post(
    "",
    response_model=SigningIdentityOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(*AUTH, NotFound, BadRequest, Conflict),
)
async def add_identity(
    code: str, data: SigningIdentityIn, session: SessionDep, admin: AdminOperator
) -> SigningIdentityOut:
    """Record a certificate fingerprint or subject attributes (e.g. `O=…`) for the agency."""
    row = await SigningIdentities(session, admin.actor).add(code, data)
    return SigningIdentityOut.model_validate(row)


@router.post(
    "/certificates",
    response_model=list[SigningIdentityOut],
    status_code=status.HTTP_201_CREATED,
    responses=responses(*AUTH, NotFound, BadRequest, Conflict, PayloadTooLarge),
    openapi_extra={
        "requestBody": {
            "content": {
                # PEM or DER, whatever the Content-Type says
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
async def import_certificates(
    code: str, request: Request, session: SessionDep, admin: AdminOperator
) -> list[SigningIdentityOut]:
    """Body: the agency's certificate(s), PEM or DER; each becomes a fingerprint identity."""
    data = await read_body_limited(request, MAX_CERTIFICATE_FILE)
    rows = await SigningIdentities(session, admin.actor).import_certificates(code, data)
    return [SigningIdentityOut.model_validate(r) for r in rows]


@router.delete(
    "/{identity_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(*AUTH, NotFound),
)
async def remove_identity(
    code: str, identity_id: str, session: SessionDep, admin: AdminOperator
) -> Response:
    await SigningIdentities(session, admin.actor).remove(code, identity_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
