"""One request-body policy for every route, enforced on the ASGI `receive` channel.

FastAPI reads a route's JSON or form body before it solves the route's dependencies, so
without this an anonymous caller could make the gateway buffer a 256 MiB body just to be told
401. The policy, applied the first time a route asks for its body:

1. authenticate first: if the route depends on a registered authenticator (API key, dashboard
   session, VXP signature), that runs before a single body byte is read;
2. cap the body per route: routes that take a JSON or form body get `max_json_body_bytes`
   (kilobytes), routes that stream a package get `max_body_bytes`; a declared Content-Length
   above the cap is refused before reading, a body that grows past it is cut off as it streams;
3. time out a stalled body (`body_timeout_seconds` between two chunks): 408.

Routes that read their body themselves (packages, VXP) run their dependencies — and thus
authentication — before the endpoint reads, so only steps 2 and 3 apply to them.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import BadRequest, GatewayError, PayloadTooLarge, RequestTimeout

Check = Callable[[Request], Awaitable[Any]]

# dependency callable → the check the gate runs before the body (see `authenticates`)
_AUTHENTICATORS: dict[Callable[..., Any], Check] = {}
_CACHE_KEY = "gateway.authenticated"


def once_per_request(check: Check) -> Check:
    """`check(request)`, run at most once per request: the gate and the route's own
    dependency share the result (and the database round trip)."""

    @functools.wraps(check)
    async def cached(request: Request) -> Any:
        done: dict[Any, Any] = request.scope.setdefault(_CACHE_KEY, {})
        if cached not in done:
            done[cached] = await check(request)
        return done[cached]

    return cached


def authenticates(check: Check) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a FastAPI dependency as an authenticator whose `check` (a `once_per_request`
    function of the request alone) the gate runs before reading the body."""

    def register(dependency: Callable[..., Any]) -> Callable[..., Any]:
        _AUTHENTICATORS[dependency] = check
        return dependency

    return register


def authenticator(dependency: Check) -> Check:
    """A dependency of the request alone that authenticates: run once per request, and by the
    gate before the body."""
    cached = once_per_request(dependency)
    _AUTHENTICATORS[cached] = cached
    return cached


class BodyRefused(HTTPException):
    """Carries a refusal through FastAPI's body reader, which re-raises HTTPExceptions but turns
    anything else into a bare 400; `install` hands `error` to the app's own handler for it."""

    def __init__(self, error: Exception):
        super().__init__(status_code=getattr(error, "status_code", 400))
        self.error = error


def _checks_of(dependant: Dependant) -> list[Check]:
    found: list[Check] = []
    for dep in dependant.dependencies:
        check = _AUTHENTICATORS.get(dep.call)  # type: ignore[arg-type]
        if check is not None:
            found.append(check)
        else:
            found.extend(_checks_of(dep))
    return found


def _route_policy(route: APIRoute) -> tuple[bool, tuple[Check, ...]]:
    """(takes a JSON/form body, authenticators to run before reading it), kept on the route"""
    policy = route.__dict__.get("_gateway_body_policy")
    if policy is None:
        checks = tuple(dict.fromkeys(_checks_of(route.dependant)))
        policy = route.__dict__["_gateway_body_policy"] = (route.body_field is not None, checks)
    return policy


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit():  # "abc", "-1", "1e9": refused, never parsed loosely
                raise BadRequest("Content-Length không hợp lệ")
            return int(text)
    return None


class BodyPolicyMiddleware:
    def __init__(self, app: ASGIApp, *, json_limit: int, package_limit: int, timeout: float):
        self.app = app
        self.json_limit = json_limit
        self.package_limit = package_limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"started": False, "done": False, "read": 0, "limit": 0, "wrap": False}

        async def first_read() -> None:
            route = scope.get("route")
            reads_model, checks = (
                _route_policy(route) if isinstance(route, APIRoute) else (True, ())
            )
            state["wrap"] = reads_model
            state["limit"] = self.json_limit if reads_model else self.package_limit
            request = Request(scope)
            for check in checks:
                await check(request)
            declared = _declared_length(scope)
            if declared is not None and declared > state["limit"]:
                raise _too_large(state["limit"], declared)

        async def guarded() -> Message:
            if state["done"]:  # the body is in: later receives wait for a disconnect
                return await receive()
            try:
                if not state["started"]:
                    state["started"] = True
                    await first_read()
                try:
                    message = await asyncio.wait_for(receive(), self.timeout)
                except TimeoutError:
                    raise RequestTimeout(details={"timeout_seconds": self.timeout}) from None
                if message["type"] == "http.request":
                    state["read"] += len(message.get("body", b""))
                    if state["read"] > state["limit"]:
                        raise _too_large(state["limit"], None)
                    state["done"] = not message.get("more_body", False)
                return message
            except GatewayError as exc:
                state["done"] = True
                raise BodyRefused(exc) if state["wrap"] else exc from None
            except HTTPException:
                state["done"] = True
                raise
            except Exception as exc:  # e.g. the dashboard's LoginRequired
                state["done"] = True
                raise BodyRefused(exc) if state["wrap"] else exc from None

        await self.app(scope, guarded, send)


def _too_large(limit: int, size: int | None) -> PayloadTooLarge:
    if size is None:
        return PayloadTooLarge(
            f"Nội dung yêu cầu vượt quá giới hạn {limit} byte", details={"limit": limit}
        )
    return PayloadTooLarge(
        f"Nội dung yêu cầu {size} byte vượt quá giới hạn {limit} byte",
        details={"limit": limit, "size": size},
    )


def install(app: Any, *, json_limit: int, package_limit: int, timeout: float) -> None:
    """Add the gate, and render a carried refusal with the app's handler for what it carries."""
    app.add_middleware(
        BodyPolicyMiddleware, json_limit=json_limit, package_limit=package_limit, timeout=timeout
    )

    async def refused(request: Request, exc: Exception) -> Any:
        inner = exc.error if isinstance(exc, BodyRefused) else exc
        for cls in type(inner).__mro__:
            handler = app.exception_handlers.get(cls)
            if handler is not None:
                response = handler(request, inner)
                return await response if inspect.isawaitable(response) else response
        raise inner

    app.add_exception_handler(BodyRefused, refused)
