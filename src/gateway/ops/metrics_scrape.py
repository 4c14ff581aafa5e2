"""The operators' `GET /metrics`: the figures of the whole deployment, read from the database
at scrape time (backlogs, outbox, embedded queue, outage incidents, the latest audit checkpoint,
certificates, circuit breakers) into the counters of gateway.observability.metrics.

It sits on the operators' floor because it reads every capability's tables; the counters and
the middleware below it import nothing above the foundation.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from ..audit.checkpoints import latest as latest_checkpoint
from ..db import utcnow
from ..observability.metrics import CIRCUIT, GatewayMetrics, endpoint_snapshots
from ..outages.models import KINDS
from ..outages.repository import OutageRepository
from .dashboard.repository import OpsRepository

log = logging.getLogger(__name__)

HOUR = 3600
OUTAGE_BUCKETS = tuple(h * HOUR for h in (4, 8, 24, 48, 96, 168, 336))
# office days of 7.5 working hours: ½, 1, 2, 3, 5, 10 days
OUTAGE_WORKING_BUCKETS = tuple(h * HOUR for h in (4, 7.5, 15, 22.5, 37.5, 75))

router = APIRouter(tags=["ops"])


def deployment_metrics() -> GatewayMetrics:
    """The API's metrics: the counters, plus the outage figures `refresh` reads."""
    return GatewayMetrics(outages=OutageCollector())


async def refresh(metrics: GatewayMetrics, app: Any) -> None:
    """Read the scrape-time figures (a failure is counted and logged, never an error)."""
    state = app.state
    now = state.clock() if callable(getattr(state, "clock", None)) else utcnow()
    try:
        async with state.db.read_session() as session:
            repo = OpsRepository(session)
            backlog = await repo.backlog_by_agency()
            unpublished, oldest = await repo.outbox_state()
            jobs = await repo.job_states()
            metrics.outages.figures = await OutageRepository(session).figures()
            checkpoint = await latest_checkpoint(session)
    except Exception as exc:  # the probe (/readyz) reports the database; keep serving
        log.warning("metrics: cannot read the database: %s", exc)
        metrics.scrape_errors.inc()
    else:
        for gauge in (metrics.queue_depth, metrics.queue_oldest, metrics.dead_backlog):
            gauge.clear()
        for code, b in backlog.items():
            if b.pending:
                metrics.queue_depth.labels(code).set(b.pending)
            if b.oldest_pending_at is not None:
                age = (now - b.oldest_pending_at).total_seconds()
                metrics.queue_oldest.labels(code).set(max(0.0, age))
            if b.failed:
                metrics.dead_backlog.labels(code).set(b.failed)
        metrics.outbox_unpublished.set(unpublished)
        lag = (now - oldest).total_seconds() if oldest else 0.0
        metrics.outbox_lag.set(max(0.0, lag))
        metrics.queue_jobs.clear()
        for st in ("queued", "dead"):
            metrics.queue_jobs.labels(st).set(jobs.get(st, 0))
        metrics.audit_checkpoint.clear()
        if checkpoint is not None:
            metrics.audit_checkpoint.labels(str(checkpoint.n), checkpoint.hash, checkpoint.mac).set(
                checkpoint.chain_pos
            )
            metrics.audit_checkpoint_time.set(checkpoint.at.timestamp())
    metrics.cert_days.clear()
    try:
        health = state.trust.health(now)
        gw = health["gateway"]
        metrics.cert_days.labels("gateway", gw.subject, gw.serial).set(gw.days_left)
        for anchor in health["trust_anchors"]:
            metrics.cert_days.labels("trust_anchor", anchor.subject, anchor.serial).set(
                anchor.days_left
            )
    except Exception as exc:
        log.warning("metrics: certificate health unavailable: %s", exc)
        metrics.scrape_errors.inc()
    metrics.circuit.clear()
    for snap in endpoint_snapshots(app):
        metrics.circuit.labels(snap.endpoint).set(CIRCUIT.get(str(snap.state.value), 0))


class OutageCollector:
    """The outage metrics, from the figures `refresh` last read from the database (none before
    the first scrape). A custom collector because a counter cannot be set from a count."""

    def __init__(self) -> None:
        self.figures: Any = None  # gateway.outages.repository.OutageFigures

    def collect(self) -> list[Metric]:
        f = self.figures
        if f is None:
            return []
        open_now = GaugeMetricFamily(
            "gateway_outage_incidents_open",
            "Open outage incidents (failing longer than the threshold of working hours)",
            labels=["kind"],
        )
        opened = CounterMetricFamily(
            "gateway_outage_incidents", "Outage incidents opened", labels=["kind"]
        )
        families: list[Metric] = [open_now, opened]
        for kind in KINDS:
            open_now.add_metric([kind], f.open[kind])
            opened.add_metric([kind], f.total[kind])
        for name, help_text, column, buckets in (
            (
                "gateway_outage_duration_seconds",
                "Closed outage incidents: from failing to recovered, wall-clock",
                1,
                OUTAGE_BUCKETS,
            ),
            (
                "gateway_outage_working_duration_seconds",
                "Closed outage incidents: from failing to recovered, in working time",
                2,
                OUTAGE_WORKING_BUCKETS,
            ),
        ):
            histogram = HistogramMetricFamily(name, help_text, labels=["kind"])
            for kind in KINDS:
                values = [row[column] for row in f.closed if row[0] == kind]
                counts = [(f"{b:g}", sum(v <= b for v in values)) for b in buckets]
                histogram.add_metric(
                    [kind], [*counts, ("+Inf", len(values))], sum_value=sum(values)
                )
            families.append(histogram)
        return families


@router.get("/metrics", include_in_schema=True, response_class=Response)
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text exposition. Requires `Authorization: Bearer <GATEWAY_METRICS_TOKEN>`
    when that setting is set; in production it is closed until it is set."""
    app = request.app
    token = app.state.settings.metrics_token
    if token is None and app.state.settings.environment == "production":
        return Response(
            "metrics are closed: set GATEWAY_METRICS_TOKEN\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if token is not None:
        given = request.headers.get("authorization", "")
        secret = token.get_secret_value() if hasattr(token, "get_secret_value") else str(token)
        expected = f"Bearer {secret}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return Response(
                "unauthorised\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": "Bearer"},
            )
    metrics: GatewayMetrics = app.state.metrics
    await refresh(metrics, app)
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
