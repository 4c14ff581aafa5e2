"""FastAPI dependencies: who is calling (`CurrentPrincipal`, `CurrentSystem`, `CurrentOperator`,
`AdminOperator`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ..body_policy import authenticates, once_per_request
from ..errors import Forbidden, Unauthenticated
from ..settings import Settings
from .cache import PrincipalCache
from .service import AuthService, Principal, hash_api_key, peer_is_trusted

_bearer = HTTPBearer(auto_error=False, description="Khóa API: `Authorization: Bearer gw_…`")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Khóa API (thay thế)")


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


@once_per_request
async def principal_for_request(request: Request) -> Principal:
    """Who is calling, from the request's headers alone (so the body gate can ask first)."""
    settings: Settings = request.app.state.settings
    bearer = await _bearer(request)
    key = bearer.credentials if bearer else await _api_key(request)
    identity = None
    if not key and settings.client_cert_header:
        identity = request.headers.get(settings.client_cert_header)
        peer = request.client.host if request.client else None
        if identity and not peer_is_trusted(peer, settings.trusted_proxies):
            raise Unauthenticated(
                "Chứng thư số chuyển tiếp từ nguồn không tin cậy",
                en="A forwarded client certificate from an untrusted source",
            )
    if not key and not identity:
        raise Unauthenticated()
    key = key.strip() if key else None

    async def load() -> Principal:
        # a short read-only session of its own: the request's unit of work (and, on SQLite,
        # the write lock) starts only when the endpoint needs it, after e.g. validating
        async with request.app.state.db.read_session() as session:
            service = AuthService(session)
            if key:
                return await service.principal_for_key(key)
            return await service.principal_for_certificate(identity or "")

    cache: PrincipalCache | None = getattr(request.app.state, "principals", None)
    if cache is None:
        return await load()
    # the key's hash (what is stored) or the certificate identity as forwarded
    credential = "key:" + hash_api_key(key) if key else "cert:" + (identity or "")
    return await cache.principal(credential, load)


@authenticates(principal_for_request)
async def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    # `bearer` and `api_key` declare the security schemes in OpenAPI; the check reads them
    return await principal_for_request(request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def current_system(principal: CurrentPrincipal) -> Principal:
    if principal.kind != "system":
        raise Forbidden(
            "Thao tác này chỉ dành cho hệ thống của cơ quan", en="Only agency systems may do this"
        )
    return principal


async def current_operator(principal: CurrentPrincipal) -> Principal:
    if principal.kind != "operator":
        raise Forbidden("Thao tác này chỉ dành cho người vận hành", en="Only operators may do this")
    return principal


async def admin_operator(principal: CurrentPrincipal) -> Principal:
    if not principal.is_admin:
        raise Forbidden("Thao tác này cần quyền quản trị (admin)")
    return principal


CurrentSystem = Annotated[Principal, Depends(current_system)]
CurrentOperator = Annotated[Principal, Depends(current_operator)]
AdminOperator = Annotated[Principal, Depends(admin_operator)]
