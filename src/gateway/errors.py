"""Errors of the HTTP API: exception classes carrying their HTTP status and a stable code,
rendered as one JSON envelope:

    {"error": {"code": "VALIDATION_FAILED", "message": "…", "findings": [...], "details": {...}}}

`code` is stable (clients switch on it); `message` is for people: Vietnamese, or English when
the request's Accept-Language prefers it (the raiser's `en=` text, else the class's English
`description`; a Vietnamese-only detail then moves to `details.message_vi`). `request_id` (also
the X-Request-Id header) names the request in the gateway's logs. Endpoints list the errors they
can raise with `responses(...)` so the OpenAPI document is complete.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from .api_language import negotiate

log = logging.getLogger(__name__)


class FindingOut(BaseModel):
    code: str
    severity: str
    message: str
    path: str | None = None
    line: int | None = None


class ErrorBody(BaseModel):
    code: str = Field(examples=["VALIDATION_FAILED"])
    message: str
    request_id: str | None = Field(default=None, description="as in the X-Request-Id header")
    findings: list[FindingOut] | None = None
    details: dict[str, Any] | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class GatewayError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    default_message: ClassVar[str] = "Lỗi hệ thống"
    description: ClassVar[str] = "Internal error"

    def __init__(
        self,
        message: str | None = None,
        *,
        findings: list[dict[str, Any]] | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        en: str | None = None,
    ):
        self.message = message or self.default_message
        self.message_en = en
        self.custom_message = message is not None
        self.findings = findings
        self.details = details
        self.headers = headers
        super().__init__(self.message)

    def body(self, lang: str = "vi", request_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        details = self.details
        if lang == "en":
            error["message"] = self.message_en or self.description
            if self.custom_message and not self.message_en:  # keep the specifics, labelled
                details = {**(details or {}), "message_vi": self.message}
        if request_id:
            error["request_id"] = request_id
        if self.findings is not None:
            error["findings"] = self.findings
        if details is not None:
            error["details"] = details
        return {"error": error}


class BadRequest(GatewayError):
    status_code = 400
    code = "BAD_REQUEST"
    default_message = "Yêu cầu không hợp lệ"
    description = "Bad request"


class MethodNotAllowed(GatewayError):
    status_code = 405
    code = "METHOD_NOT_ALLOWED"
    default_message = "Phương thức không được hỗ trợ"
    description = "This HTTP method is not allowed on this path"


class MalformedJson(GatewayError):
    status_code = 400
    code = "MALFORMED_JSON"
    default_message = "Nội dung không phải JSON hợp lệ (không đúng cú pháp)"
    description = "The body is not well-formed JSON (findings say where)"


class MalformedXml(GatewayError):
    status_code = 400
    code = "MALFORMED_XML"
    default_message = "Gói tin không phải XML hợp lệ (không đúng cú pháp)"
    description = "The body is not well-formed XML (findings list why)"


class Unauthenticated(GatewayError):
    status_code = 401
    code = "UNAUTHENTICATED"
    default_message = "Chưa xác thực: thiếu hoặc sai khóa API"
    description = "Missing or invalid credentials"

    def __init__(self, message: str | None = None, **kw: Any):
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kw)


class Forbidden(GatewayError):
    status_code = 403
    code = "FORBIDDEN"
    default_message = "Không có quyền thực hiện thao tác này"
    description = "Authenticated, but not allowed"


class NotFound(GatewayError):
    status_code = 404
    code = "NOT_FOUND"
    default_message = "Không tìm thấy"
    description = "No such resource (or not visible to the caller)"


class Conflict(GatewayError):
    status_code = 409
    code = "CONFLICT"
    default_message = "Xung đột dữ liệu"
    description = "Conflicts with existing data"


class Gone(GatewayError):
    status_code = 410
    code = "GONE"
    default_message = "Không còn trên trục"
    description = (
        "The package's bytes were handed to the historical archive and pruned (details: "
        "sha256, bundle_sha256, pruned_at)"
    )


class PayloadTooLarge(GatewayError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "Gói tin vượt quá kích thước cho phép"
    description = "Request body larger than max_body_bytes"


class RequestTimeout(GatewayError):
    status_code = 408
    code = "REQUEST_TIMEOUT"
    default_message = "Nội dung yêu cầu gửi quá chậm (quá thời gian chờ), vui lòng gửi lại"
    description = "The request body stalled longer than body_timeout_seconds"


class UnsupportedMediaType(GatewayError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    default_message = "Kiểu nội dung không được hỗ trợ (cần application/xml)"
    description = "Content-Type is not accepted by this endpoint"


class ValidationFailed(GatewayError):
    status_code = 422
    code = "VALIDATION_FAILED"
    default_message = "Gói tin không hợp lệ"
    description = "The package or request failed validation (findings list every problem)"


class RecipientUnknown(GatewayError):
    status_code = 422
    code = "RECIPIENT_UNKNOWN"
    default_message = "Có mã cơ quan nhận không có trong danh bạ"
    description = "A recipient code is not in the agency registry"


class RecipientInactive(GatewayError):
    status_code = 422
    code = "RECIPIENT_INACTIVE"
    default_message = "Cơ quan nhận đã ngừng hoạt động và không có đơn vị kế thừa"
    description = "A recipient is inactive and has no (acyclic) successor"


class InternalError(GatewayError):
    pass


class ServiceUnavailable(GatewayError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    default_message = "Hệ thống tạm thời gián đoạn (cơ sở dữ liệu), vui lòng gửi lại sau"
    description = (
        "The database is unreachable for a moment (restart, fail-over): nothing was stored; "
        "send again after Retry-After seconds"
    )

    def __init__(self, message: str | None = None, *, retry_after: int = 5, **kw: Any):
        super().__init__(message, headers={"Retry-After": str(retry_after)}, **kw)


# SQLSTATEs that mean "the server is not there for now": connection exceptions (08…),
# operator intervention — admin/crash shutdown, cannot connect now (57P01–57P03) — and
# insufficient resources (53…), e.g. too many connections.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53")


def is_unavailable(exc: BaseException) -> bool:
    """The database (or its connection) is gone for now, rather than the request or the code
    being wrong: the client should retry later."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if isinstance(exc.orig, ConnectionError | TimeoutError):
            return True
    return isinstance(exc, OperationalError | InterfaceError | ConnectionError | TimeoutError)


# All classes, for OpenAPI and documentation.
ALL_ERRORS: tuple[type[GatewayError], ...] = (
    BadRequest,
    MalformedJson,
    MalformedXml,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    Gone,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    ValidationFailed,
    RecipientUnknown,
    RecipientInactive,
    InternalError,
    ServiceUnavailable,
)


def responses(*errors: type[GatewayError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the errors an endpoint can raise (grouped by status)."""
    by_status: dict[int, list[type[GatewayError]]] = {}
    for err in (*errors, InternalError):
        by_status.setdefault(err.status_code, []).append(err)
    out: dict[int | str, dict[str, Any]] = {}
    for status, errs in sorted(by_status.items()):
        codes = ", ".join(f"`{e.code}`" for e in errs)
        out[status] = {
            "model": ErrorEnvelope,
            "description": "; ".join(e.description for e in errs) + f" (code: {codes})",
        }
    return out


# Every endpoint may fail request validation (query/path/JSON body) and authentication.
COMMON = (ValidationFailed,)


def render(request: Request, err: GatewayError) -> JSONResponse:
    """The envelope in the caller's language, with the request's id."""
    body = err.body(negotiate(request.headers.get("accept-language")), _request_id(request))
    return JSONResponse(body, status_code=err.status_code, headers=err.headers)


def _request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")  # gateway.observability.logging sets it
