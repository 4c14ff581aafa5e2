"""End to end: intake → outbox → relay → queue → worker → three real HTTP endpoints (healthy;
failing twice then recovering; always failing), on the embedded database queue (SQLite and
PostgreSQL) and on RabbitMQ + PostgreSQL. Every delivery ends delivered or failed as expected,
the counts match exactly, the HMAC headers verify, and no recipient accepts a delivery id twice
as new."""

from __future__ import annotations

import aio_pika
import pytest
from delivery_support import ready_count
from endpoints import always, endpoints, fail_first, healthy
from gateway_support import (
    G17,
    G22,
    H14,
    H41,
    cleanup_broker,
    document,
    fast_settings,
    gateway,
    rabbit_settings,
    register,
    send,
    settle,
)
from sqlalchemy import func, select

from gateway.audit.models import AuditEvent
from gateway.delivery import config
from gateway.delivery.models import QueuedJob
from gateway.outbox import OutboxMessage
from support.rabbitmq_vhost import rabbitmq_url

N = 4


async def _scenario(settings):
    async with (
        endpoints(healthy, fail_first(2), always(500)) as (ok, flaky, dead),
        gateway(settings) as gw,
    ):
        keys = await register(gw, {H41: ok, H14: flaky, G17: dead})
        sent = [await send(gw, keys[G22], document(i)) for i in range(N)]
        rows = await settle(gw, 3 * N)
        async with gw.db.sessionmaker() as session:
            actions = dict(
                (
                    await session.execute(
                        select(AuditEvent.action, func.count()).group_by(AuditEvent.action)
                    )
                ).all()
            )
            unpublished = await session.scalar(
                select(func.count()).where(OutboxMessage.published_at.is_(None))
            )
            dead_jobs = await session.scalar(select(func.count()).where(QueuedJob.state == "dead"))
    ids = {
        code: {d["delivery_id"] for s in sent for d in s["deliveries"] if d["recipient"] == code}
        for code in (H41, H14, G17)
    }
    by_id = {d.id: d for d in rows}
    # every delivery ended as expected
    assert {by_id[i].state for i in ids[H41]} == {"delivered"}
    assert {by_id[i].state for i in ids[H14]} == {"delivered"}
    assert {by_id[i].state for i in ids[G17]} == {"failed"}
    assert len(rows) == 3 * N
    for i in ids[H41] | ids[H14]:
        d = by_id[i]
        assert d.sent_at and d.delivered_at and d.legal_received_at and d.last_error is None
    assert all(by_id[i].attempts == 1 for i in ids[H41])
    assert all(by_id[i].attempts == 3 for i in ids[H14])
    assert all(by_id[i].attempts == 3 and "HTTP 500" in by_id[i].last_error for i in ids[G17])
    # recipients: exactly their ids, each accepted once as new, signatures valid
    assert ok.new and sorted(ok.new) == sorted(ids[H41])
    assert sorted(flaky.new) == sorted(ids[H14])
    assert dead.new == []
    assert all(flaky.seen[i] == 3 for i in ids[H14])
    assert ok.bad_signatures == flaky.bad_signatures == dead.bad_signatures == 0
    # the body is the stored package plus our TraceHeader
    assert all(b"TraceHeader" in a.body for a in ok.arrivals)
    assert actions.get("delivery.delivered") == 2 * N
    assert actions.get("delivery.failed") == N
    assert unpublished == 0
    return dead_jobs


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_embedded_queue_end_to_end(gateway_settings):
    """No broker: `gateway serve` alone relays and pushes (the database queue)."""
    settings = fast_settings(gateway_settings)
    assert settings.embedded_queue and settings.run_worker_in_process
    dead_jobs = await _scenario(settings)
    assert dead_jobs == N  # the embedded dead-letter queue


@pytest.mark.postgres
@pytest.mark.rabbitmq
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_rabbitmq_end_to_end(gateway_settings):
    settings = rabbit_settings(gateway_settings)
    try:
        await _scenario(settings)
        conn = await aio_pika.connect(rabbitmq_url())
        async with conn:
            channel = await conn.channel()
            topo = config.topology(settings)
            assert await ready_count(channel, topo.dead_queue) == N
            assert await ready_count(channel, topo.urgent_queue) == 0
            assert await ready_count(channel, topo.normal_queue) == 0
    finally:
        await cleanup_broker(settings)
