"""The FastAPI application: `create_app(settings)`.

The database engine is created in the lifespan (and migrated when `auto_migrate` is on) and
kept on `app.state.db`; every request gets its own session that commits before the response
is sent or rolls back on error (gateway.db.SessionDep).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from . import __version__, body_policy, error_handlers, input_policy, wiring
from .audit.chainer import background_chainer
from .auth.cache import PrincipalCache
from .axis import routes as axis_routes
from .axis.connector import run_connector
from .db import Database, utcnow
from .delivery import routes as delivery_routes
from .delivery.runtime import start_delivery
from .observability import observe
from .observability.health import router as health_router
from .observability.logging import RequestContextMiddleware
from .observability.metrics import MetricsMiddleware
from .ops import account_routes, api_docs
from .ops.dashboard.mount import install as install_dashboard
from .ops.metrics_scrape import deployment_metrics
from .ops.metrics_scrape import router as metrics_router
from .ops.period_report_io import router as period_report_router
from .ops.report_routes import router as report_router
from .outages.admin_routes import router as outage_admin_router
from .outages.downtime import heartbeat
from .outages.monitor import run_outage_monitor
from .packages.routes import router as packages_router
from .packages.service import SignatureCheck
from .registry.routes import admin as admin_router
from .registry.routes import directory as directory_router
from .registry.service import RegistryService
from .settings import Settings
from .trust import routes as trust_routes
from .trust.runtime import build_trust
from .workdays.routes import router as calendar_router
from .workdays.runtime import calendar_refresher, load_app_calendar

API_PREFIX = "/api/v1"

DESCRIPTION = """
Provincial node of the document interchange axis (trục liên thông văn bản): agency systems
send edXML packages (QCVN 102:2016), poll their inbox, fetch and acknowledge packages, and follow
each package's timeline.

Authenticate with an API key: `Authorization: Bearer gw_…` (or `X-API-Key: gw_…`).
Every error has the same shape:
`{"error": {"code", "message", "request_id", "findings"?, "details"?}}`; messages are
Vietnamese, or English with `Accept-Language: en`.
Times are shown in Vietnam time with their offset (stored in UTC).
"""


class Health(BaseModel):
    status: str
    version: str
    database: str


async def bootstrap_admin(db: Database, key: str) -> None:
    """Create the first admin from the deployment's secret; replicas starting at once race on
    the unique user name, and the loser finds the admin already there."""
    async with db.sessionmaker() as session:
        try:
            await RegistryService(session, "bootstrap").bootstrap_admin(key)
            await session.commit()
        except IntegrityError:
            await session.rollback()


def create_app(settings: Settings, *, signature_check: SignatureCheck | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings)
        input_policy.guard_engine(db.engine)  # no NUL reaches the database
        try:
            if settings.auto_migrate:
                await db.migrate()
            app.state.db = db
            app.state.principals = PrincipalCache(  # resolved API keys (gateway.auth.cache)
                db.engine,
                ttl=settings.auth_cache_seconds,
                check_every=settings.auth_cache_check_seconds,
            )
            app.state.trust.attach(db)  # signer = sender: the registry's signing identities
            if settings.bootstrap_admin_key:
                await bootstrap_admin(db, settings.bootstrap_admin_key.get_secret_value())
            await load_app_calendar(app)  # holidays + operators' changes (gateway.workdays)
            observe.attach(db, app.state.metrics)  # the worker's reports → /metrics
            # delivery: the outbox relay and (embedded mode) the worker, as background tasks
            delivery = start_delivery(settings, db)
            app.state.delivery = delivery
            try:
                async with (
                    calendar_refresher(app),
                    heartbeat(app),  # gateway.outages.downtime: the gateway's own downtime
                    background_chainer(db, settings.audit_chain_interval),
                    run_connector(app),  # gateway.axis: national connector, if set
                    run_outage_monitor(app),  # gateway.outages: outage incidents
                ):
                    yield
            finally:
                if delivery is not None:
                    await delivery.stop()
        finally:
            await db.dispose()

    app = FastAPI(
        title="Gateway — trục liên thông văn bản (QCVN 102:2016)",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served from the packaged assets by gateway.ops.api_docs
        redoc_url=None,
    )
    wiring.wire()  # hooks between capabilities (gateway.wiring)
    app.state.settings = settings
    app.state.calendar = settings.office_calendar()
    settings.check_service_runtime()
    app.state.trust = build_trust(settings)
    app.state.signature_check = signature_check or app.state.trust.check
    app.state.clock = utcnow  # tests may replace it to pin "now"
    error_handlers.install(app)
    body_policy.install(  # authenticate, then cap and time the body, per route
        app,
        json_limit=settings.max_json_body_bytes,
        package_limit=settings.max_body_bytes,
        timeout=settings.body_timeout_seconds,
    )
    # gateway.ops: Prometheus counters per app, and the request id in every log line
    app.state.metrics = deployment_metrics()
    app.add_middleware(input_policy.InputPolicyMiddleware)  # NUL or `..` in the URL or headers: 400
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestContextMiddleware)  # outermost: ids even for refused requests

    api = APIRouter(prefix=API_PREFIX)

    @api.get("/health", response_model=Health, tags=["ops"])
    async def health() -> Health:
        return Health(status="ok", version=__version__, database=app.state.db.dialect)

    api.include_router(packages_router)
    api.include_router(directory_router)
    api.include_router(admin_router)
    api.include_router(trust_routes.api)
    app.include_router(trust_routes.well_known)
    api.include_router(delivery_routes.admin)
    api.include_router(delivery_routes.notices)
    app.include_router(health_router)
    app.include_router(metrics_router)
    api.include_router(report_router)
    api.include_router(account_routes.router)  # /admin/operators (gateway.ops.accounts)
    api.include_router(calendar_router)
    api.include_router(period_report_router)
    api.include_router(outage_admin_router)
    if settings.dashboard_enabled:
        install_dashboard(app)  # /dashboard: operators' pages (gateway.ops.dashboard)
    axis_routes.install(app, api)  # gateway.axis: the VXP (SDK) face and its admin API
    api_docs.install(app, API_PREFIX, dashboard=settings.dashboard_enabled)  # /api/v1/docs and /
    app.include_router(api)
    return app
