"""Mounts the operators' dashboard on the app: the pages of gateway.ops.dashboard.routes, then
those built on it (signers, accounts, calendar and period reports), the static files and the
handlers that turn a missing login or a dashboard error into a page. Kept apart from routes.py,
which the other page modules import, so that no module imports one that imports it back."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from ..sessions import COOKIE, COOKIE_PATH, SessionStore
from . import accounts, calendar_page
from . import signers as _signers  # noqa: F401 - its pages join `router` after routes.py's own
from .routes import PREFIX, STATIC_DIR, DashboardError, LoginRequired, redirect, render, router


def install(app: FastAPI) -> None:
    """Mount the dashboard on `app` (called by gateway.app.create_app)."""
    app.state.dashboard_sessions = SessionStore(app.state.settings, lambda: app.state.clock())
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    app.include_router(router)
    app.include_router(accounts.router)
    app.include_router(calendar_page.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        query = {"next": exc.next_path}
        if exc.expired:
            query["expired"] = "1"
        response = redirect(f"{PREFIX}/login?{urlencode(query)}")
        if exc.expired:
            response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response

    @app.exception_handler(DashboardError)
    async def _error(request: Request, exc: DashboardError) -> Response:
        return render(request, "error.html", None, status=exc.status, message_key=exc.key)
