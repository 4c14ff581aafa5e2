"""One input policy: text the gateway cannot store or serve safely is refused with 400
BAD_REQUEST, not passed on until the database driver (or the static file server) fails.

- at the door (`InputPolicyMiddleware`): a NUL character in the URL path, query string or any
  header (400); a `..` or `.` path segment, however it was encoded (`..%2f`, `%2e%2e`): 404,
  since such a path names nothing;
- at the database (`guard_engine`): a NUL in any text parameter of any statement, whatever it
  came from (JSON strings, form fields, VXP bodies). PostgreSQL cannot store NUL in text and
  SQLite would keep it silently; refusing on both keeps the backends alike.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import BadRequest, GatewayError, NotFound

NUL_MESSAGE = "Dữ liệu chứa ký tự NUL (\\x00), không được chấp nhận"


def _refusal(where: str) -> BadRequest:
    return BadRequest(NUL_MESSAGE, details={"where": where})


def _problem(scope: Scope) -> GatewayError | None:
    raw_path: bytes = scope.get("raw_path") or scope.get("path", "").encode()
    path = unquote(raw_path.decode("latin-1"))  # %2f counts as a separator here
    if "\x00" in path or "\x00" in scope.get("path", ""):
        return _refusal("path")
    segments = path.replace("\\", "/").split("/")
    if any(s in ("..", ".") for s in segments):  # names no resource, however encoded
        return NotFound(
            "Đường dẫn chứa đoạn '..' hoặc '.': không có tài nguyên nào như vậy",
            details={"where": "path"},
        )
    if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
        return _refusal("query")
    for name, value in scope.get("headers", ()):
        if b"\x00" in value or b"\x00" in name:
            return BadRequest(
                NUL_MESSAGE,
                details={
                    "where": "header",
                    "name": name.decode("latin-1", "replace").replace("\x00", ""),
                },
            )
    return None


class InputPolicyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = _problem(scope)
            if problem is not None:
                response = JSONResponse(problem.body(), status_code=problem.status_code)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    return False


def guard_engine(engine: AsyncEngine) -> None:
    """Refuse (BadRequest, before it reaches the driver) any statement with NUL in a text
    parameter; the request's unit of work then rolls back, so nothing is half-written."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _refuse_nul(_conn, _cursor, _statement, parameters, _context, _executemany) -> None:
        if _has_nul(parameters):
            raise _refusal("data")
