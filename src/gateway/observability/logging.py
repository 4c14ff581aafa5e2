"""Structured logs and the request id that follows a package.

- Every HTTP request gets a request id: the caller's `X-Request-Id` when it is a sane token
  (letters, digits, `._:-`, at most 64 characters), else a new random one. It is answered in
  the `X-Request-Id` response header and kept in a context variable while the request runs, so
  every log line written for the request carries it.
- Intake stores the id with the package (`packages.request_id`) and in each outbox row; the
  relay copies it into the delivery job, and the worker sets it again while it handles the job.
  One `grep` on the id (or one query in the log store) shows a package's intake, relay and
  every delivery attempt, across processes.
- `GATEWAY_LOG_FORMAT=json` writes one JSON object per line: `ts` (UTC, ISO 8601), `level`,
  `logger`, `message`, `request_id` and any structured fields passed with `extra=`
  (`package_id`, `delivery_id`, `recipient`, `outcome`, …); `text` (the default) writes
  classic lines with the request id in brackets.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("gateway_request_id", default=None)

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_QUIET_PATHS = ("/livez", "/readyz", "/metrics", "/dashboard/static/")
_HANDLER_MARK = "_gateway_handler"

# attributes every LogRecord has; anything else on a record came from `extra=`
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

http_log = logging.getLogger("gateway.http")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str | None:
    """The caller's id if it is safe to log and store, else None."""
    if value and _SANE.match(value):
        return value
    return None


def current_request_id() -> str | None:
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (unless the record brings its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id_var.get()
        if rid:
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not getattr(record, "request_id", None):
            record.request_id = "-"
        return super().format(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        # one record, one line: a `%0A` in a URL path must not forge a line of its own (a
        # traceback, appended after this, keeps its lines)
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """Control characters (newlines, escapes, …) as visible escapes: `\\n`, `\\x1b`."""
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def configure_logging(fmt: str = "text", level: str = "info", *, stream: Any = None) -> None:
    """Route every log record (the gateway's, uvicorn's, libraries') to one handler on the
    root logger, formatted as `fmt` ("json" or "text"). Calling it again replaces the handler."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _HANDLER_MARK, False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True


class RequestContextMiddleware:
    """Pure ASGI middleware: request id in, request id out, one log line per request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope.get("headers") or ()).get(HEADER.encode())
        rid = accept_request_id(raw.decode("latin-1") if raw else None) or new_request_id()
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != HEADER.encode()]
                headers.append((HEADER.encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            if not path.startswith(_QUIET_PATHS):
                http_log.info(
                    "%s %s %s",
                    scope.get("method"),
                    path,
                    status,
                    extra={
                        "method": scope.get("method"),
                        "path": path,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            request_id_var.reset(token)
