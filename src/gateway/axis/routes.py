"""HTTP: the VXP face of the gateway (what the official SDK calls) and its admin API.

`vxp_router()` serves `{prefix}/{operation}` (prefix from `vxp_prefix`, default `/vxp`). Every
answer is JSON `{"status", "ErrorCode", "ErrorDesc", ...}` — `status: "OK"`, `ErrorCode: "0"`
and HTTP 200 on success; `status: "FAIL"`, a stable ErrorCode and a 4xx/5xx on failure, always
with the JSON body (the SDK reads the body whatever the HTTP status). downloadEdoc answers the
raw .edxml on success. Both GET and POST are accepted for every operation.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from ..auth.dependencies import AdminOperator
from ..auth.service import peer_is_trusted
from ..body import read_body_limited
from ..body_policy import authenticator
from ..db import SessionDep
from ..errors import (
    Conflict,
    Forbidden,
    GatewayError,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
    is_unavailable,
    responses,
)
from ..intake_gate import large_intake
from ..packages.routes import get_service as get_package_service
from ..packages.service import PackageService
from ..secretbox import SecretBox
from .replies import fail, ok
from .routing import UpstreamRouting
from .service import (
    AUTH_STATUS,
    MAX_SKEW_LIMIT,
    UnknownOperation,
    VxpCaller,
    VxpService,
    authenticate,
    issue_credential,
    policy_of,
    revoke_credential,
    set_policy,
)
from .vxp_auth import VxpAuthError

log = logging.getLogger(__name__)

OPERATIONS = (
    "sendEdoc",
    "getReceivedEdocList",
    "getEdoc",
    "updateStatus",
    "getSentEdocList",
    "countReceiveEdoc",
    "countReceiveStatus",
    "downloadEdoc",
    "getAgenciesList",
    "getAgenciesListQD20",
    "registerAgency",
    "deleteAgency",
    "getSynchronizeUnit",
)


class VxpFailure(BaseModel):
    """The SDK's envelope of a failed operation."""

    status: str = Field(examples=["FAIL"])
    ErrorCode: str = Field(examples=["AUTH_BAD_SIGNATURE"])
    ErrorDesc: str


# every status a VXP operation can fail with (gateway.errors, VxpAuthError, axis.service), so the
# OpenAPI document is complete for the VXP routes too
VXP_FAILURES: dict[int | str, dict[str, Any]] = {
    code: {"model": VxpFailure, "description": description}
    for code, description in (
        (400, "Malformed request, XML or headers (MALFORMED_XML, HASH_FILE_MISMATCH, …)"),
        (401, "Authentication failed (AUTH_MISSING_HEADERS, AUTH_BAD_SIGNATURE, …)"),
        (403, "Not allowed for this system (FORBIDDEN)"),
        (404, "No such document or operation (NOT_FOUND, UNKNOWN_OPERATION)"),
        (409, "Conflicts with the current state (CONFLICT)"),
        (410, "The package was pruned after archive hand-off (GONE)"),
        (413, "Body larger than the limit (PAYLOAD_TOO_LARGE)"),
        (415, "Unsupported media type (UNSUPPORTED_MEDIA_TYPE)"),
        (422, "Invalid package, recipient or signature (VALIDATION_FAILED, …)"),
        (500, "Internal error (INTERNAL_ERROR)"),
        (503, "Database unavailable for a moment: retry after Retry-After (SERVICE_UNAVAILABLE)"),
    )
}


def _describe(exc: GatewayError) -> str:
    """ErrorDesc: the message plus every finding (Vietnamese), on one line each."""
    lines = [exc.message]
    for finding in exc.findings or []:
        where = finding.get("path") or ""
        line = finding.get("line")
        at = f" ({where}{', dòng ' + str(line) if line else ''})" if where or line else ""
        lines.append(f"- [{finding.get('code')}] {finding.get('message')}{at}")
    return "\n".join(lines)


class VxpRoute(APIRoute):
    """Renders every failure of a VXP operation as the VXP JSON envelope.

    The handler runs inside FastAPI's dependency exit stack, so an exception caught here would
    let the request's session commit: roll the unit of work back first.
    """

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        # the failure envelope carries the fields this operation's SDK method reads
        name = self.path.rsplit("/", 1)[-1]

        async def vxp_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except VxpAuthError as exc:
                await _rollback(request)
                return fail(name, str(exc.code), exc.message, AUTH_STATUS.get(exc.code, 401))
            except GatewayError as exc:
                await _rollback(request)
                return fail(name, exc.code, _describe(exc), exc.status_code, exc.headers)
            except RequestValidationError:
                await _rollback(request)
                return fail(name, "BAD_REQUEST", "Yêu cầu không hợp lệ", 400)
            except Exception as exc:
                with suppress(Exception):  # the connection may be gone with the database
                    await _rollback(request)
                if is_unavailable(exc):
                    log.warning("VXP operation: database unavailable: %s", exc)
                    err = ServiceUnavailable()
                    return fail(name, err.code, err.message, err.status_code, err.headers)
                log.exception("VXP operation failed")
                return fail(name, "INTERNAL_ERROR", "Lỗi hệ thống", 500)

        return vxp_handler


async def _rollback(request: Request) -> None:
    session = getattr(request.state, "vxp_session", None)
    if session is not None:
        await session.rollback()


def _box(request: Request) -> SecretBox:
    state = request.app.state
    box = getattr(state, "axis_secret_box", None)
    if box is None:
        box = state.axis_secret_box = state.settings.secret_box()
    return box


@authenticator  # the signed headers are checked before any body is read
async def vxp_caller(request: Request) -> VxpCaller:
    skew = request.app.state.settings.vxp_max_skew_seconds  # opt-in; None = not checked
    async with request.app.state.db.read_session() as session:
        return await authenticate(
            session,
            _box(request),
            request.scope["headers"],  # raw, in arrival order, repeats kept
            now=request.app.state.clock(),
            max_skew=timedelta(seconds=skew) if skew else None,
            source=_source(request),
        )


def _source(request: Request) -> str | None:
    """The caller's address: the peer, or what a trusted proxy (GATEWAY_TRUSTED_PROXIES) says
    it saw (the last X-Forwarded-For entry, the one that proxy appended)."""
    peer = request.client.host if request.client else None
    if peer_is_trusted(peer, request.app.state.settings.trusted_proxies):
        forwarded = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
        seen = [entry.strip() for entry in forwarded if entry.strip()]
        if seen:
            return seen[-1]
    return peer


def get_vxp_service(
    request: Request,
    session: SessionDep,
    packages: Annotated[PackageService, Depends(get_package_service)],
) -> VxpService:
    request.state.vxp_session = session  # rolled back by VxpRoute when the operation fails
    return VxpService(session, packages, node_code=request.app.state.settings.node_code)


Caller = Annotated[VxpCaller, Depends(vxp_caller)]
Service = Annotated[VxpService, Depends(get_vxp_service)]


def vxp_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix.rstrip("/"), route_class=VxpRoute, tags=["vxp"])

    def operation(name: str, main: str = "POST") -> Callable[[Any], Any]:
        """Serve `name` on GET and POST; the SDK's method is the one shown in the OpenAPI."""

        def register(endpoint: Any) -> Any:
            other = "GET" if main == "POST" else "POST"
            router.add_api_route(
                f"/{name}",
                endpoint,
                methods=[main],
                operation_id=f"vxp_{name}",
                responses=VXP_FAILURES,
            )
            router.add_api_route(f"/{name}", endpoint, methods=[other], include_in_schema=False)
            return endpoint

        return register

    @operation("sendEdoc")
    async def send_edoc(request: Request, caller: Caller, service: Service) -> Response:
        """Send a package (body: the .edxml + CRLF). Answers `DocId` (the package id)."""
        async with large_intake(request).admit(request):  # before the body is read
            body = await read_body_limited(request, request.app.state.settings.max_body_bytes)
            result = await service.send_edoc(caller, body)
        return ok(result.pop("ErrorDesc"), **result)

    @operation("getReceivedEdocList")
    async def received_list(caller: Caller, service: Service) -> Response:
        """Copies waiting for the caller's agencies (`docId` = delivery id), oldest first."""
        return ok(**await service.received_list(caller))

    @operation("getEdoc")
    async def get_edoc(caller: Caller, service: Service) -> Response:
        """One copy, base64 in `data` (gateway.edxml.trace.relay_bytes: signed bytes as sent)."""
        return ok(**await service.get_edoc(caller))

    @operation("updateStatus")
    async def update_status(caller: Caller, service: Service) -> Response:
        """done = acknowledge the copy; fail = failed receipt (kept in the list); processing."""
        result = await service.update_status(caller)
        return ok(result.pop("ErrorDesc"), **result)

    @operation("getSentEdocList")
    async def sent_list(caller: Caller, service: Service) -> Response:
        return ok(**await service.sent_list(caller))

    @operation("countReceiveEdoc", "GET")
    async def count_edoc(caller: Caller, service: Service) -> Response:
        kind = service._message_kind(caller, default="edoc")
        return ok(**await service.count(caller, kind))

    @operation("countReceiveStatus", "GET")
    async def count_status(caller: Caller, service: Service) -> Response:
        return ok(**await service.count(caller, "status"))

    @operation("downloadEdoc", "GET")
    async def download_edoc(caller: Caller, service: Service) -> Response:
        data = await service.download(caller)
        return Response(data, media_type="application/octet-stream")

    @operation("getAgenciesList")
    async def agencies_list(_caller: Caller, service: Service) -> Response:
        return ok(**await service.agencies_list())

    @operation("getAgenciesListQD20")
    async def agencies_qd20(caller: Caller, service: Service) -> Response:
        return ok(**await service.agencies_qd20(caller))

    @operation("registerAgency")
    async def register_agency(request: Request, caller: Caller, service: Service) -> Response:
        """Admin systems only (operator policy): the request signature does not cover the body."""
        caller.require_admin()  # before reading the body
        body = await read_body_limited(request, 64 * 1024)
        result = await service.register_agency(caller, body)
        return ok(result.pop("ErrorDesc"))

    @operation("deleteAgency")
    async def delete_agency(caller: Caller, service: Service) -> Response:
        result = await service.delete_agency(caller)
        return ok(result.pop("ErrorDesc"))

    @operation("getSynchronizeUnit")
    async def synchronize_unit(_caller: Caller, service: Service) -> Response:
        return ok(**await service.synchronize_unit())

    @router.api_route("/{operation}", methods=["GET", "POST"], include_in_schema=False)
    async def unknown_operation(operation: str) -> Response:
        raise UnknownOperation(f"Thao tác không được hỗ trợ: {operation}")

    return router


# ------------------------------------------------------------------------------ admin


class VxpSecretIn(BaseModel):
    vxp_system_id: str | None = Field(
        default=None,
        max_length=100,
        description="The `systemid` the SDK client uses (default: the system's only agency code)",
    )


class VxpSecretOut(BaseModel):
    system_id: str
    vxp_system_id: str
    secret: str = Field(description="Shown only once: configure it in the SDK client now.")


class VxpSecretState(BaseModel):
    system_id: str
    vxp_system_id: str
    active: bool


admin = APIRouter(prefix="/admin", tags=["admin", "vxp"])
ADMIN_ERRORS = (Unauthenticated, Forbidden, ValidationFailed, NotFound)


@admin.post(
    "/systems/{system_id}/vxp-secret",
    status_code=status.HTTP_201_CREATED,
    response_model=VxpSecretOut,
    responses=responses(*ADMIN_ERRORS, Conflict),
)
async def create_vxp_secret(
    system_id: str,
    request: Request,
    session: SessionDep,
    op: AdminOperator,
    body: Annotated[VxpSecretIn | None, Body()] = None,
) -> VxpSecretOut:
    """Create or rotate the VXP `systemid` + secret of an agency system (for SDK clients).
    The secret is shown only in this answer; rotating invalidates the previous one at once."""
    credential, secret = await issue_credential(
        session, _box(request), system_id, body.vxp_system_id if body else None, op.actor
    )
    return VxpSecretOut(
        system_id=credential.system_id, vxp_system_id=credential.vxp_system_id, secret=secret
    )


@admin.delete(
    "/systems/{system_id}/vxp-secret",
    response_model=VxpSecretState,
    responses=responses(*ADMIN_ERRORS),
)
async def revoke_vxp_secret(
    system_id: str, session: SessionDep, op: AdminOperator
) -> VxpSecretState:
    """Disable the VXP credential of a system (its SDK requests are refused from now on)."""
    credential = await revoke_credential(session, system_id, op.actor)
    return VxpSecretState(
        system_id=credential.system_id,
        vxp_system_id=credential.vxp_system_id,
        active=credential.active,
    )


class VxpPolicyIn(BaseModel):
    """Only the fields sent are changed."""

    admin: bool | None = Field(
        default=None, description="may call registerAgency / deleteAgency (audited)"
    )
    max_skew_seconds: float | None = Field(
        default=None,
        gt=0,
        le=MAX_SKEW_LIMIT,
        description="opt-in timestamp window for a client that re-stamps every call; "
        "null = the gateway setting (by default: not checked)",
    )
    allowed_sources: list[str] | None = Field(
        default=None,
        max_length=100,
        description="IP addresses or CIDR networks the system may call from; null or [] = any",
    )


class VxpPolicyOut(BaseModel):
    system_id: str
    vxp_system_id: str
    admin: bool
    max_skew_seconds: float | None
    allowed_sources: list[str]


@admin.patch(
    "/systems/{system_id}/vxp-policy",
    response_model=VxpPolicyOut,
    responses=responses(*ADMIN_ERRORS),
)
async def change_vxp_policy(
    system_id: str, body: VxpPolicyIn, session: SessionDep, op: AdminOperator
) -> VxpPolicyOut:
    """Mark a system as an admin system, opt it into a timestamp window, or restrict the
    addresses it may call from (docs/vxp.md "Replay"). Audited as `vxp_policy.changed`."""
    given = body.model_dump(exclude_unset=True)
    given["admin"] = given.get("admin")  # None = unchanged
    credential = await set_policy(session, system_id, op.actor, **given)
    return VxpPolicyOut(system_id=credential.system_id, **policy_of(credential))


def install(app: FastAPI, api: APIRouter) -> None:
    """Mount the VXP face at `vxp_prefix` and the VXP admin routes under the API prefix (call
    before `app.include_router(api)`); set the routing seam of intake (gateway.axis.routing)."""
    settings = app.state.settings
    app.state.axis_routing = UpstreamRouting(
        enabled=bool(settings.upstream_url), local_groups=settings.local_code_groups
    )
    api.include_router(admin)
    app.include_router(vxp_router(settings.vxp_prefix))
