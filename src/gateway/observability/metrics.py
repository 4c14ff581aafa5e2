"""Prometheus metrics: `GET /metrics` (text exposition format).

Each app has its own registry (`app.state.metrics`), so several apps in one process (tests)
never share counters. Two kinds of figures:

Counted where things happen, each in one place:

- intake, at the route boundary (`MetricsMiddleware`, from the answer of `POST /api/v1/packages`):
  `gateway_intake_total{kind, outcome=accepted|duplicate|rejected}`,
  `gateway_intake_rejections_total{code}` (the error envelope's code),
  `gateway_intake_duration_seconds{outcome}`, and for accepted packages
  `gateway_signatures_total{signature_class}` (signed-valid, unsigned, placeholder, none);
- delivery, from the job handler's report per push attempt (gateway.observability.observe):
  `gateway_delivery_attempts_total{outcome=delivered|retry|failed|deferred}`,
  `gateway_delivery_retries_total`, `gateway_dead_letters_total`,
  `gateway_delivery_latency_seconds` (queued → delivered), `gateway_push_duration_seconds`;
- HTTP: `gateway_http_requests_total{method, route, status}`,
  `gateway_http_request_duration_seconds{method, route}` (route = the path template).

Read from the database (and the process) at scrape time by the API's `GET /metrics`
(gateway.ops.metrics_scrape, on the operators' floor: it reads every capability's tables), so
they are right for the whole deployment whichever process did the work:

- `gateway_queue_depth{agency}`, `gateway_queue_oldest_age_seconds{agency}` (pending copies per
  recipient agency — for a poll agency, what it has not fetched yet),
  `gateway_dead_letter_backlog{agency}` (failed copies waiting for an operator),
  `gateway_queue_jobs{state}` (embedded queue rows), `gateway_outbox_unpublished`,
  `gateway_outbox_lag_seconds` (age of the oldest unpublished outbox row; 0 when none);
- `gateway_certificate_days_left{role=gateway|trust_anchor, subject, serial}`;
- outage incidents (gateway.outages), per `kind` (agency, upstream):
  `gateway_outage_incidents_open`, `gateway_outage_incidents_total` (opened, ever),
  `gateway_outage_duration_seconds` and `gateway_outage_working_duration_seconds` (histograms
  of closed incidents, wall-clock and working time) — from the database, so they count every
  replica's incidents and survive restarts (`OutageCollector`);
- `gateway_endpoint_circuit_state{endpoint}` (0 closed, 1 half-open, 2 open; this process's
  workers), `gateway_build_info{version}`.

With a stand-alone worker (`gateway worker`, RabbitMQ) the delivery counters live in the worker
process: set GATEWAY_WORKER_METRICS_PORT to have it serve them (`serve_worker_metrics`); the
gauges above still cover the whole deployment from the API's `/metrics`.
`GATEWAY_METRICS_TOKEN` set: `/metrics` wants `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.registry import Collector

from .. import __version__

log = logging.getLogger(__name__)

INTAKE_PATHS = frozenset({"/api/v1/packages"})
LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
CIRCUIT = {"closed": 0, "half_open": 1, "half-open": 1, "open": 2}


class GatewayMetrics:
    def __init__(self, outages: Collector | None = None) -> None:
        """`outages`: the collector of outage figures read at scrape time (the API's
        `/metrics`, gateway.ops.metrics_scrape); a stand-alone worker has none."""
        r = self.registry = CollectorRegistry()
        self.intake = Counter(
            "gateway_intake", "Packages submitted, by outcome", ["kind", "outcome"], registry=r
        )
        self.intake_rejections = Counter(
            "gateway_intake_rejections", "Refused submissions, by error code", ["code"], registry=r
        )
        self.intake_seconds = Histogram(
            "gateway_intake_duration_seconds",
            "Time to answer a submission",
            ["outcome"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.signatures = Counter(
            "gateway_signatures",
            "Accepted packages by signature class",
            ["signature_class"],
            registry=r,
        )
        self.delivery_attempts = Counter(
            "gateway_delivery_attempts",
            "Push attempts by outcome (deferred: endpoint parked or busy, not called)",
            ["outcome"],
            registry=r,
        )
        self.retries = Counter(
            "gateway_delivery_retries", "Push attempts that will be retried", registry=r
        )
        self.dead_letters = Counter(
            "gateway_dead_letters", "Deliveries that gave up (failed, dead-lettered)", registry=r
        )
        self.delivery_latency = Histogram(
            "gateway_delivery_latency_seconds",
            "Queued to delivered, per pushed copy",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.push_seconds = Histogram(
            "gateway_push_duration_seconds",
            "Duration of one push request to an agency endpoint",
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.http_requests = Counter(
            "gateway_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.http_seconds = Histogram(
            "gateway_http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        # --- read at scrape time ---
        self.queue_depth = Gauge(
            "gateway_queue_depth", "Pending copies per recipient agency", ["agency"], registry=r
        )
        self.queue_oldest = Gauge(
            "gateway_queue_oldest_age_seconds",
            "Age of the oldest pending copy per recipient agency",
            ["agency"],
            registry=r,
        )
        self.dead_backlog = Gauge(
            "gateway_dead_letter_backlog",
            "Failed copies waiting for an operator, per recipient agency",
            ["agency"],
            registry=r,
        )
        self.queue_jobs = Gauge(
            "gateway_queue_jobs", "Rows of the embedded delivery queue", ["state"], registry=r
        )
        self.outbox_unpublished = Gauge(
            "gateway_outbox_unpublished", "Outbox rows not yet relayed", registry=r
        )
        self.outbox_lag = Gauge(
            "gateway_outbox_lag_seconds", "Age of the oldest unpublished outbox row", registry=r
        )
        self.cert_days = Gauge(
            "gateway_certificate_days_left",
            "Days until a certificate expires (negative: expired)",
            ["role", "subject", "serial"],
            registry=r,
        )
        self.circuit = Gauge(
            "gateway_endpoint_circuit_state",
            "Circuit breaker per push endpoint: 0 closed, 1 half-open, 2 open",
            ["endpoint"],
            registry=r,
        )
        self.audit_checkpoint = Gauge(
            "gateway_audit_checkpoint",
            "The latest signed audit checkpoint: the chain position it pins (labels: its number, "
            "hash and MAC, to keep outside the gateway for `gateway audit verify --expect`)",
            ["n", "hash", "mac"],
            registry=r,
        )
        self.audit_checkpoint_time = Gauge(
            "gateway_audit_checkpoint_timestamp_seconds",
            "When the latest signed audit checkpoint was made (Unix time)",
            registry=r,
        )
        self.outages = outages
        if outages is not None:
            r.register(outages)
        self.build = Gauge("gateway_build_info", "Version", ["version"], registry=r)
        self.build.labels(__version__).set(1)
        self.http_server: Any = None  # (server, thread) of serve_worker_metrics
        self.scrape_errors = Counter(
            "gateway_metrics_scrape_errors", "Failures reading scrape-time figures", registry=r
        )

    # --- gateway.observability.observe.DeliveryObserver -------------------------------
    def delivery_attempt(
        self,
        *,
        outcome: str,
        recipient: str,
        latency_seconds: float | None = None,
        push_seconds: float | None = None,
    ) -> None:
        self.delivery_attempts.labels(outcome).inc()
        if outcome == "retry":
            self.retries.inc()
        elif outcome == "failed":
            self.dead_letters.inc()
        if latency_seconds is not None:
            self.delivery_latency.observe(max(0.0, latency_seconds))
        if push_seconds is not None:
            self.push_seconds.observe(max(0.0, push_seconds))

    # --- intake, from the answer ----------------------------------------------------------
    def intake_answered(self, status: int, body: bytes, seconds: float) -> None:
        try:
            doc: Any = json.loads(body) if body else {}
        except ValueError:
            doc = {}
        if not isinstance(doc, dict):
            doc = {}
        if status == 202:
            outcome = "duplicate" if doc.get("duplicate") else "accepted"
            self.intake.labels(str(doc.get("kind") or "unknown"), outcome).inc()
            if outcome == "accepted":
                self.signatures.labels(str(doc.get("signature_class") or "none")).inc()
        else:
            outcome = "rejected"
            error = doc.get("error") if isinstance(doc.get("error"), dict) else {}
            self.intake.labels("unknown", outcome).inc()
            self.intake_rejections.labels(str(error.get("code") or f"HTTP_{status}")).inc()
        self.intake_seconds.labels(outcome).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def endpoint_snapshots(app: Any) -> list[Any]:
    """Circuit breakers of this process's delivery worker (empty when it runs elsewhere)."""
    runtime = getattr(app.state, "delivery", None)
    handler = getattr(runtime, "handler", None)
    guard = getattr(handler, "guard", None)
    return list(guard.snapshot()) if guard is not None else []


def route_template(scope: dict) -> str:
    """The matched path with its parameters put back as `{name}` (bounded label values);
    "unmatched" when no route matched (404 scans must not create series)."""
    if scope.get("route") is None and scope.get("endpoint") is None:
        return "unmatched"
    path = str(scope.get("path", ""))
    for name, raw in (scope.get("path_params") or {}).items():
        value = str(raw)
        if not value:
            continue
        if "/" in value:
            path = path.replace(value, "{" + name + "}", 1)
        else:
            path = "/".join("{" + name + "}" if seg == value else seg for seg in path.split("/"))
    return path


class MetricsMiddleware:
    """Pure ASGI: HTTP counters for every request, and the intake outcome from the answer of
    `POST /api/v1/packages` (the body of that answer is small JSON)."""

    def __init__(self, app: Any, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        intake = scope.get("method") == "POST" and scope.get("path") in INTAKE_PATHS
        status = 500
        chunks: list[bytes] = []
        started = time.perf_counter()

        async def observe(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif intake and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            seconds = time.perf_counter() - started
            template = route_template(scope)
            method = scope.get("method", "")
            m = self.metrics
            m.http_requests.labels(method, template, str(status)).inc()
            m.http_seconds.labels(method, template).observe(seconds)
            if intake:
                m.intake_answered(status, b"".join(chunks), seconds)


def serve_worker_metrics(db: Any, host: str, port: int) -> GatewayMetrics:
    """For a stand-alone `gateway worker` (GATEWAY_WORKER_METRICS_PORT): its delivery counters
    on http://host:port/metrics, served by prometheus-client's own thread."""
    from prometheus_client import start_http_server

    from . import observe

    metrics = GatewayMetrics()
    observe.attach(db, metrics)
    metrics.http_server = start_http_server(port, addr=host, registry=metrics.registry)
    return metrics
