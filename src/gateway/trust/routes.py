"""HTTP: the gateway's published certificate (for agencies to pin) and certificate health."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ..auth.dependencies import CurrentOperator
from ..db import ShownDateTime
from ..errors import Forbidden, Unauthenticated, responses
from ..registry.signing_routes import router as signing_identities
from . import CertificateHealth

well_known = APIRouter(tags=["trust"])
api = APIRouter(tags=["trust"])
api.include_router(signing_identities)  # who may sign for an agency (gateway.registry.signing)

CERTIFICATE_PATH = "/.well-known/gateway-certificate.pem"


class CertificateStatus(BaseModel):
    subject: str
    serial: str
    not_after: ShownDateTime
    days_left: int


class CertificatesHealth(BaseModel):
    gateway: CertificateStatus
    trust_anchors: list[CertificateStatus]
    signature_policy: str
    trust_bundle_configured: bool


def _status(health: CertificateHealth) -> CertificateStatus:
    return CertificateStatus(
        subject=health.subject,
        serial=health.serial,
        not_after=health.not_after,
        days_left=health.days_left,
    )


@well_known.get(
    CERTIFICATE_PATH,
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
async def gateway_certificate(request: Request) -> Response:
    """The certificate the gateway signs receipts and status packages with (PEM)."""
    pem = request.app.state.trust.signer.certificate_pem()
    return Response(pem, media_type="application/x-pem-file")


@api.get(
    "/admin/certificates",
    response_model=CertificatesHealth,
    responses=responses(Unauthenticated, Forbidden),
)
async def certificates_health(request: Request, _operator: CurrentOperator) -> CertificatesHealth:
    """Days left on the gateway's certificate and on every configured trust anchor."""
    trust = request.app.state.trust
    now: datetime = request.app.state.clock()
    health = trust.health(now)
    return CertificatesHealth(
        gateway=_status(health["gateway"]),
        trust_anchors=[_status(h) for h in health["trust_anchors"]],
        signature_policy=trust.policy.mode.value,
        trust_bundle_configured=trust.store is not None,
    )
