"""The handlers that render every error of the HTTP app as the gateway's envelope
(gateway.errors), request validation included (gateway.request_problems, which builds on the
error classes: it is kept apart so that neither module imports the other's importer)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .api_language import negotiate
from .errors import (
    BadRequest,
    GatewayError,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    _request_id,
    is_unavailable,
    log,  # the handlers log as gateway.errors, as they always have
    render,
)
from .request_problems import request_problem


def install(app: FastAPI) -> None:
    """Register the handlers that render every error as the envelope."""

    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = negotiate(request.headers.get("accept-language"))
        return render(request, request_problem(exc.errors(), lang))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        mapping = {404: NotFound, 405: BadRequest, 413: PayloadTooLarge, 415: UnsupportedMediaType}
        cls = MethodNotAllowed if exc.status_code == 405 else mapping.get(exc.status_code)
        if cls is not None:
            response = render(request, cls())
            response.headers.update(exc.headers or {})  # e.g. Allow on 405
            return response
        body = {"error": {"code": f"HTTP_{exc.status_code}", "message": str(exc.detail)}}
        if rid := _request_id(request):
            body["error"]["request_id"] = rid
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    def _server_error(request: Request, exc: Exception) -> JSONResponse:
        if is_unavailable(exc):
            # the transaction did not commit, so nothing was accepted: say when to come back
            log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
            return render(request, ServiceUnavailable())
        log.exception("unhandled error", exc_info=exc)
        return render(request, InternalError())

    # Database and connection errors get their own handlers: those run inside the app and
    # answer cleanly, where the catch-all below (Starlette's outermost middleware) re-raises
    # after answering, so that uvicorn logs a traceback and drops the keep-alive connection.
    for transient in (DBAPIError, ConnectionError, TimeoutError):
        app.add_exception_handler(transient, _server_error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _server_error(request, exc)
