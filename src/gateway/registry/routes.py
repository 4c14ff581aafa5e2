"""HTTP: the agency directory (any authenticated caller) and the admin API (operators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.dependencies import AdminOperator, CurrentOperator, CurrentPrincipal
from ..body import read_body_limited
from ..db import SessionDep
from ..errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
    responses,
)
from ..secretbox import SecretBox
from .endpoint_policy import PushEndpointNotHttps
from .export import export_csv
from .models import Agency
from .schemas import (
    AgencyIn,
    AgencyOut,
    AgencyPage,
    AgencyPatch,
    ApiKeyOut,
    CertificateIn,
    CertificateOut,
    ImportResult,
    KeyCreated,
    SystemCreated,
    SystemIn,
    SystemOut,
    SystemPatch,
    WhoAmI,
)
from .service import RegistryService, parse_import

AUTH = (Unauthenticated, Forbidden, ValidationFailed)

directory = APIRouter(tags=["directory"])
admin = APIRouter(prefix="/admin", tags=["admin"])


@directory.get("/me", response_model=WhoAmI, responses=responses(Unauthenticated))
async def who_am_i(principal: CurrentPrincipal) -> WhoAmI:
    """Who the presented credentials belong to."""
    return WhoAmI(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        agencies=sorted(principal.agencies),
        role=principal.role,
    )


@directory.get("/agencies", response_model=AgencyPage, responses=responses(*AUTH))
async def list_agencies(
    session: SessionDep,
    principal: CurrentPrincipal,
    q: Annotated[str | None, Query(description="part of the code or name")] = None,
    parent: str | None = None,
    active: bool | None = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AgencyPage:
    """The agency directory (danh bạ cơ quan)."""
    items, total = await RegistryService(session, principal.actor).agencies.page(
        q=q, parent=parent, active=active, offset=offset, limit=limit
    )
    return AgencyPage(
        items=[AgencyOut.model_validate(a) for a in items], total=total, offset=offset, limit=limit
    )


@directory.get("/agencies/{code}", response_model=AgencyOut, responses=responses(*AUTH, NotFound))
async def show_agency(code: str, session: SessionDep, principal: CurrentPrincipal) -> AgencyOut:
    agency = await RegistryService(session, principal.actor).get_agency(code)
    return AgencyOut.model_validate(agency)


# ------------------------------------------------------------------------------- admin


@admin.post(
    "/agencies",
    status_code=status.HTTP_201_CREATED,
    response_model=AgencyOut,
    responses=responses(*AUTH, Conflict, PushEndpointNotHttps),
)
async def create_agency(
    body: AgencyIn, request: Request, session: SessionDep, op: AdminOperator
) -> AgencyOut:
    """Register an agency. In push mode the answer holds its push secret, shown only once."""
    agency = await _admin_service(request, session, op.actor).create_agency(body)
    return await _with_push_secret(request, session, op.actor, agency)


def _box(request: Request) -> SecretBox:
    return request.app.state.settings.secret_box()  # seals credentials in endpoint URLs


async def _with_push_secret(
    request: Request, session: AsyncSession, actor: str, agency: Agency
) -> AgencyOut:
    from .push_secrets import ensure_push_secret

    secret = await ensure_push_secret(session, agency, _box(request), actor=actor)
    return AgencyOut.model_validate(agency).model_copy(update={"push_secret": secret})


@admin.patch(
    "/agencies/{code}",
    response_model=AgencyOut,
    responses=responses(*AUTH, NotFound, PushEndpointNotHttps),
)
async def update_agency(
    code: str, body: AgencyPatch, request: Request, session: SessionDep, op: AdminOperator
) -> AgencyOut:
    """Change an agency; e.g. `{"active": false, "superseded_by": "…"}` after a merger.
    Switching to push mode generates its push secret, shown only in this answer."""
    agency = await _admin_service(request, session, op.actor).update_agency(code, body)
    return await _with_push_secret(request, session, op.actor, agency)


@admin.post(
    "/agencies/import",
    response_model=ImportResult,
    responses=responses(*AUTH, BadRequest, PayloadTooLarge, UnsupportedMediaType),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "CSV (header code,name,parent_code,level,active,superseded_by,"
            "delivery_mode,endpoint_url[,test_endpoint,contact_name,contact_position,"
            "contact_email,contact_phone]) or JSON (a list of agencies)",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
)
async def import_agencies(request: Request, session: SessionDep, op: AdminOperator) -> ImportResult:
    """Create or update many agencies at once (upsert by code), all or nothing."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("text/csv", "application/json"):
        raise UnsupportedMediaType(
            "Cần text/csv hoặc application/json", en="Send text/csv or application/json"
        )
    data = await read_body_limited(request, request.app.state.settings.max_body_bytes)
    rows = parse_import(data, "csv" if ctype == "text/csv" else "json")
    return await _admin_service(request, session, op.actor).import_agencies(rows)


@admin.get(
    "/agencies/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **responses(*AUTH)},
)
async def export_agencies(session: SessionDep, op: CurrentOperator) -> Response:
    """The registry as CSV in the import format, contacts included (re-importable)."""
    return Response(
        await export_csv(session),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="agencies.csv"'},
    )


def _admin_service(request: Request, session: AsyncSession, actor: str) -> RegistryService:
    production = request.app.state.settings.environment == "production"
    return RegistryService(session, actor, box=_box(request), require_https=production)


@admin.get("/systems", response_model=list[SystemOut], responses=responses(*AUTH))
async def list_systems(session: SessionDep, op: CurrentOperator) -> list[SystemOut]:
    service = RegistryService(session, op.actor)
    return [await service.system_out(s) for s in await service.systems.all()]


@admin.post(
    "/systems",
    status_code=status.HTTP_201_CREATED,
    response_model=SystemCreated,
    responses=responses(*AUTH, Conflict),
)
async def create_system(body: SystemIn, session: SessionDep, op: AdminOperator) -> SystemCreated:
    """Register an agency system; the answer holds its API key, shown only this once."""
    service = RegistryService(session, op.actor)
    system, key = await service.create_system(body)
    return SystemCreated(system=await service.system_out(system), api_key=key)


@admin.get("/systems/{system_id}", response_model=SystemOut, responses=responses(*AUTH, NotFound))
async def show_system(system_id: str, session: SessionDep, op: CurrentOperator) -> SystemOut:
    service = RegistryService(session, op.actor)
    return await service.system_out(await service.get_system(system_id))


@admin.patch("/systems/{system_id}", response_model=SystemOut, responses=responses(*AUTH, NotFound))
async def update_system(
    system_id: str, body: SystemPatch, session: SessionDep, op: AdminOperator
) -> SystemOut:
    service = RegistryService(session, op.actor)
    return await service.system_out(await service.update_system(system_id, body))


@admin.post(
    "/systems/{system_id}/keys",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyCreated,
    responses=responses(*AUTH, NotFound),
)
async def create_key(
    system_id: str,
    session: SessionDep,
    op: AdminOperator,
    label: Annotated[str | None, Body(embed=True)] = None,
) -> KeyCreated:
    row, key = await RegistryService(session, op.actor).new_key(system_id, label)
    return KeyCreated(key=ApiKeyOut.model_validate(row), api_key=key)


@admin.delete(
    "/systems/{system_id}/keys/{key_id}",
    response_model=ApiKeyOut,
    responses=responses(*AUTH, NotFound),
)
async def revoke_key(
    system_id: str, key_id: str, session: SessionDep, op: AdminOperator
) -> ApiKeyOut:
    row = await RegistryService(session, op.actor).revoke_key(system_id, key_id)
    return ApiKeyOut.model_validate(row)


@admin.post(
    "/systems/{system_id}/certificates",
    status_code=status.HTTP_201_CREATED,
    response_model=CertificateOut,
    responses=responses(*AUTH, NotFound, Conflict),
)
async def add_certificate(
    system_id: str, body: CertificateIn, session: SessionDep, op: AdminOperator
) -> CertificateOut:
    cert = await RegistryService(session, op.actor).add_certificate(system_id, body.identity)
    return CertificateOut.model_validate(cert)
