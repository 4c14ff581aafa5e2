"""GET /metrics: names, labels and values after real activity (intake, push deliveries that
fail, dead-letter and are resent), gauges read from the database, certificate days left; the
token; and the health probes' semantics."""

from __future__ import annotations

import asyncio
import time

import pytest
from ops_support import (
    A80,
    FAST_DELIVERY,
    H17,
    PushEndpoint,
    ThreadedServer,
    create_operator,
    document,
)
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from gateway.packages.models import Delivery
from outages.outage_support import recover, vn, weekend_outage
from outages.outage_support import start as start_outage_harness

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def scrape(gw, **headers: str) -> dict[str, dict[tuple, float]]:
    r = await gw.http.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            out.setdefault(sample.name, {})[key] = sample.value
    return out


def value(metrics: dict, name: str, **labels: str) -> float:
    samples = metrics.get(name, {})
    want = set(labels.items())
    found = [v for k, v in samples.items() if want <= set(k)]
    assert found, f"{name}{labels} not exposed; have {sorted(samples)}"
    return sum(found)


async def test_intake_queue_and_certificate_metrics(gw):
    keys = await gw.setup(A80, H17)
    assert (await gw.post_package(document(1), keys[A80])).status_code == 202
    assert (await gw.post_package(document(1), keys[A80])).status_code == 202  # duplicate
    assert (await gw.post_package(b"<not-xml", keys[A80])).status_code == 400
    unknown = document(2).replace(H17.encode(), b"99.99.H99")
    assert (await gw.post_package(unknown, keys[A80])).status_code == 422

    m = await scrape(gw)
    assert value(m, "gateway_intake_total", kind="document", outcome="accepted") == 1
    assert value(m, "gateway_intake_total", kind="document", outcome="duplicate") == 1
    assert value(m, "gateway_intake_total", outcome="rejected") == 2
    assert value(m, "gateway_intake_rejections_total", code="MALFORMED_XML") == 1
    assert value(m, "gateway_intake_rejections_total", code="RECIPIENT_UNKNOWN") == 1
    assert value(m, "gateway_intake_duration_seconds_count") == 4
    assert value(m, "gateway_intake_duration_seconds_count", outcome="accepted") == 1
    # the sample carries the SDK's placeholder signature; the class is a label either way
    assert sum(m["gateway_signatures_total"].values()) == 1
    classes = {dict(k)["signature_class"] for k in m["gateway_signatures_total"]}
    assert classes <= {"signed-valid", "unsigned", "placeholder", "none"}

    # the poll recipient has not fetched it: one pending copy, with its age
    assert value(m, "gateway_queue_depth", agency=H17) == 1
    assert value(m, "gateway_queue_oldest_age_seconds", agency=H17) >= 0
    assert not m.get("gateway_dead_letter_backlog")  # no failed copy yet: no sample
    assert value(m, "gateway_outbox_lag_seconds") >= 0
    assert value(m, "gateway_outbox_unpublished") >= 0
    assert value(m, "gateway_queue_jobs", state="dead") == 0
    days = value(m, "gateway_certificate_days_left", role="gateway")
    assert 300 < days < 4000  # the development certificate made at start
    assert value(m, "gateway_build_info") == 1
    assert (
        value(
            m, "gateway_http_requests_total", method="POST", route="/api/v1/packages", status="202"
        )
        == 2
    )

    # a failed copy shows in the dead-letter backlog; fetching empties the queue
    async with gw.db.sessionmaker() as s:
        d = (await s.scalars(select(Delivery))).one()
        d.state = "failed"
        await s.commit()
    m = await scrape(gw)
    assert value(m, "gateway_dead_letter_backlog", agency=H17) == 1
    assert "gateway_queue_depth" not in m or not m["gateway_queue_depth"]


@sqlite_only
async def test_delivery_outcomes_retries_dead_letters_and_latency(make_gateway):
    endpoint = PushEndpoint(status=500)
    with ThreadedServer(endpoint) as server:
        gw = await make_gateway(**FAST_DELIVERY)
        keys = await gw.setup(A80)
        await gw.add_agency(H17, delivery_mode="push", endpoint_url=f"{server.base_url}/edxml")
        r = await gw.post_package(document(1), keys[A80])
        delivery_id = r.json()["deliveries"][0]["delivery_id"]

        async def wait_state(state: str) -> None:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                async with gw.db.sessionmaker() as s:
                    if (await s.get(Delivery, delivery_id)).state == state:
                        return
                await asyncio.sleep(0.05)
            raise AssertionError(f"delivery never became {state}")

        await wait_state("failed")
        m = await scrape(gw)
        assert value(m, "gateway_delivery_attempts_total", outcome="retry") == 1
        assert value(m, "gateway_delivery_attempts_total", outcome="failed") == 1
        assert value(m, "gateway_delivery_retries_total") == 1
        assert value(m, "gateway_dead_letters_total") == 1
        assert value(m, "gateway_dead_letter_backlog", agency=H17) == 1
        assert value(m, "gateway_push_duration_seconds_count") == 2
        assert value(m, "gateway_delivery_latency_seconds_count") == 0
        circuit = value(m, "gateway_endpoint_circuit_state", endpoint=server.base_url)
        assert circuit == 0  # closed: the endpoint answers (500 is its answer, not an outage)

        endpoint.status = 200
        admin = {"Authorization": f"Bearer {await create_operator(gw, 'root', 'admin')}"}
        r = await gw.http.post(
            f"/api/v1/admin/deliveries/{delivery_id}/resend",
            json={"reason": "fixed"},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        await wait_state("delivered")
        m = await scrape(gw)
        assert value(m, "gateway_delivery_attempts_total", outcome="delivered") == 1
        assert value(m, "gateway_delivery_latency_seconds_count") == 1
        assert value(m, "gateway_delivery_latency_seconds_sum") > 0
        assert "gateway_dead_letter_backlog" not in m or not m["gateway_dead_letter_backlog"]
        assert len(endpoint.hits) == 3 and set(endpoint.hits) == {delivery_id}


@sqlite_only
async def test_metrics_token(make_gateway):
    gw = await make_gateway(metrics_token="s3cret-token")
    assert (await gw.http.get("/metrics")).status_code == 401
    r = await gw.http.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    await scrape(gw, Authorization="Bearer s3cret-token")


@sqlite_only
async def test_each_app_has_its_own_registry(make_gateway):
    one = await make_gateway()
    two = await make_gateway()
    await one.http.get("/livez")
    assert one.app.state.metrics.registry is not two.app.state.metrics.registry


async def test_health_semantics(gw):
    live = await gw.http.get("/livez")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await gw.http.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["schemas"] == {"ok": True}
    assert "broker" not in body["checks"]  # embedded queue: no broker to check
    assert live.headers["x-request-id"]  # every answer carries a request id

    # the database goes away: not ready (503, says which), but still alive
    await gw.app.state.db.engine.dispose()
    original = gw.app.state.db.engine.url
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    gw.app.state.db.engine = create_async_engine(
        "postgresql+asyncpg://nobody@127.0.0.1:1/none"
        if original.get_backend_name() == "postgresql"
        else "sqlite+aiosqlite:////nonexistent/dir/x.sqlite3"
    )
    gw.app.state.db.sessionmaker = async_sessionmaker(gw.app.state.db.engine)
    try:
        ready = await gw.http.get("/readyz")
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"]["ok"] is False and checks["database"]["detail"]
        assert (await gw.http.get("/livez")).status_code == 200
        # /metrics keeps answering (and counts the failed read) while the database is away
        m = await scrape(gw)
        assert value(m, "gateway_metrics_scrape_errors_total") >= 1
    finally:
        await gw.app.state.db.engine.dispose()


def test_stand_alone_worker_serves_its_counters():
    import socket

    import httpx

    from gateway.observability import observe
    from gateway.observability.metrics import serve_worker_metrics

    class FakeDb:  # any object a worker's handler knows as its database
        pass

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = FakeDb()
    metrics = serve_worker_metrics(db, "127.0.0.1", port)
    observe.observer_for(db).delivery_attempt(outcome="failed", recipient=H17)
    assert metrics.dead_letters._value.get() == 1
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server, thread = metrics.http_server
        server.shutdown()
        thread.join(5)
    assert "gateway_dead_letters_total 1.0" in text
    assert 'gateway_delivery_attempts_total{outcome="failed"} 1.0' in text


async def test_outage_incident_metrics(make_gateway):
    """Open incidents and all incidents per kind, closed durations as histograms (wall-clock
    and working time), read from the database."""
    h = await start_outage_harness(make_gateway, at=vn(2026, 11, 19, 9, 0))
    await weekend_outage(h)
    m = await scrape(h.gw)
    assert value(m, "gateway_outage_incidents_open", kind="agency") == 1
    assert value(m, "gateway_outage_incidents_open", kind="upstream") == 0
    assert value(m, "gateway_outage_incidents_total", kind="agency") == 1
    assert value(m, "gateway_outage_duration_seconds_count", kind="agency") == 0

    await recover(h)
    m = await scrape(h.gw)
    assert value(m, "gateway_outage_incidents_open", kind="agency") == 0
    assert value(m, "gateway_outage_incidents_total", kind="agency") == 1
    assert value(m, "gateway_outage_duration_seconds_count", kind="agency") == 1
    assert value(m, "gateway_outage_duration_seconds_sum", kind="agency") == 70 * 3600
    assert value(m, "gateway_outage_duration_seconds_bucket", kind="agency", le="172800") == 0
    assert value(m, "gateway_outage_duration_seconds_bucket", kind="agency", le="345600") == 1
    working = "gateway_outage_working_duration_seconds"
    assert value(m, f"{working}_sum", kind="agency") == 5.5 * 3600
    assert value(m, f"{working}_bucket", kind="agency", le="14400") == 0
    assert value(m, f"{working}_bucket", kind="agency", le="27000") == 1
