"""Delivery flows on both transports: dead letter then resend (API, audited), urgent documents
overtaking waiting ordinary ones, a slow endpoint not delaying the others, acknowledgement
notices back to the sender (push and poll), cancel, push secrets, and the health probes."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import aio_pika
import pytest
from delivery_support import ready_count
from endpoints import Endpoint, always, endpoints, healthy
from gateway_support import (
    G17,
    G22,
    H14,
    H41,
    cleanup_broker,
    deliveries,
    document,
    fast_settings,
    gateway,
    rabbit_settings,
    register,
    send,
    settle,
)
from sqlalchemy import select

from gateway.audit.models import AuditEvent
from gateway.delivery import config
from gateway.delivery.runtime import DeliveryRuntime
from gateway.outbox import OutboxMessage
from support.rabbitmq_vhost import rabbitmq_url

TRANSPORTS = [
    pytest.param("sqlite", "embedded", id="embedded-sqlite"),
    pytest.param(
        "postgres",
        "rabbitmq",
        id="rabbitmq-postgres",
        marks=[pytest.mark.postgres, pytest.mark.rabbitmq],
    ),
]


def settings_for(base, transport: str, **kw):
    return rabbit_settings(base, **kw) if transport == "rabbitmq" else fast_settings(base, **kw)


@asynccontextmanager
async def cleaned(settings):
    try:
        yield settings
    finally:
        await cleanup_broker(settings)


async def audit(gw, action: str) -> list[AuditEvent]:
    async with gw.db.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
        return list(rows.all())


@pytest.mark.parametrize(("backend", "transport"), TRANSPORTS, indirect=["backend"])
async def test_dead_letter_then_resend(gateway_settings, transport):
    """A permanent 4xx fails at once (one attempt, dead-lettered); after the agency fixes its
    endpoint an operator resends every failed delivery to it, with a reason; the recipient
    gets the same delivery ids."""
    settings = settings_for(gateway_settings, transport)
    async with cleaned(settings), endpoints(always(400)) as (ep,), gateway(settings) as gw:
        keys = await register(gw, {H41: ep}, poll=(H14, G17))
        sent = [await send(gw, keys[G22], document(i)) for i in range(2)]
        ids = sorted(
            d["delivery_id"] for s in sent for d in s["deliveries"] if d["recipient"] == H41
        )
        rows = await settle(gw, 6, poll=(H14, G17))
        failed = sorted(d.id for d in rows if d.state == "failed")
        assert failed == ids
        assert all(d.attempts == 1 for d in rows if d.state == "failed")
        if transport == "rabbitmq":
            conn = await aio_pika.connect(rabbitmq_url())
            async with conn:
                ch = await conn.channel()
                assert await ready_count(ch, config.topology(settings).dead_queue) == 2

        admin = await gw.admin()
        listed = await gw.http.get(
            "/api/v1/admin/deliveries", params={"state": "failed"}, headers=admin
        )
        assert sorted(d["id"] for d in listed.json()["items"]) == ids
        # a reason is required
        r = await gw.http.post(
            "/api/v1/admin/deliveries/resend", json={"agency": H41}, headers=admin
        )
        assert r.status_code == 422
        ep.behaviour = healthy
        r = await gw.http.post(
            "/api/v1/admin/deliveries/resend",
            json={"agency": H41, "reason": "endpoint fixed (ticket 42)"},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        assert sorted(r.json()["resent"]) == ids
        rows = await settle(gw, 6, poll=(H14, G17))
        assert {d.state for d in rows if d.id in ids} == {"delivered"}
        assert sorted(ep.new) == ids
        assert [e.data["reason"] for e in await audit(gw, "delivery.resent")] == [
            "endpoint fixed (ticket 42)"
        ] * 2
        # resending a delivered copy is refused
        r = await gw.http.post(
            f"/api/v1/admin/deliveries/{ids[0]}/resend", json={"reason": "again"}, headers=admin
        )
        assert r.status_code == 409


@pytest.mark.parametrize(("backend", "transport"), TRANSPORTS, indirect=["backend"])
async def test_urgent_overtakes_waiting_ordinary_documents(gateway_settings, transport):
    """Six ordinary documents wait in the queue (no worker running), then an urgent one
    (Priority 3) arrives; one worker with one slot starts: the urgent copy is pushed first (on
    RabbitMQ at most one ordinary job already taken by the worker may go before it)."""
    async with (
        cleaned(
            settings_for(gateway_settings, transport, worker_in_process=False, worker_concurrency=1)
        ) as settings,
        endpoints(healthy) as (ep,),
        gateway(settings) as gw,
    ):
        keys = await register(gw, {H41: ep}, poll=(H14, G17))
        for i in range(6):
            await send(gw, keys[G22], document(i))
        urgent = await send(gw, keys[G22], document(99, priority=3))
        urgent_id = next(d["delivery_id"] for d in urgent["deliveries"] if d["recipient"] == H41)
        # wait until the relay has queued everything
        async with asyncio.timeout(20):
            while True:
                async with gw.db.sessionmaker() as s:
                    left = await s.scalar(
                        select(OutboxMessage.id).where(OutboxMessage.published_at.is_(None))
                    )
                if left is None:
                    break
                await asyncio.sleep(0.05)
        worker = DeliveryRuntime(settings, gw.db, relay=False, worker=True, concurrency=1)
        await worker.start()
        try:
            await settle(gw, 21, poll=(H14, G17))
        finally:
            await worker.stop()
    order = [a.delivery_id for a in ep.arrivals]
    assert len(order) == 7
    limit = 0 if transport == "embedded" else 1
    assert order.index(urgent_id) <= limit, order


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_slow_endpoint_does_not_delay_others(gateway_settings):
    """H41's endpoint hangs; with 2 slots per endpoint it holds two pushes, the other H41 jobs
    are re-queued without burning attempts, and H14's copies are all delivered meanwhile."""
    settings = fast_settings(gateway_settings, push_endpoint_concurrency=2, worker_concurrency=4)
    async with endpoints(healthy, healthy) as (slow, fast), gateway(settings) as gw:
        slow.block = asyncio.Event()
        keys = await register(gw, {H41: slow, H14: fast}, poll=(G17,))
        sent = [await send(gw, keys[G22], document(i)) for i in range(5)]
        fast_ids = {
            d["delivery_id"] for s in sent for d in s["deliveries"] if d["recipient"] == H14
        }
        async with asyncio.timeout(20):
            while set(fast.new) != fast_ids:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert slow.in_flight <= 2
        assert slow.new == []
        slow.block.set()
        rows = await settle(gw, 15, poll=(G17,))
        assert {d.state for d in rows if d.recipient_code == H41} == {"delivered"}
        assert len(slow.new) == 5


async def test_ack_notice_to_push_and_poll_senders(gateway_settings):
    """Acknowledging a copy tells the original sender: pushed as JSON (signed) to a push-mode
    sender; listed in GET /notices for a poll-mode sender."""
    settings = fast_settings(gateway_settings)
    async with endpoints(healthy) as (sender_ep,), gateway(settings) as gw:
        keys = await register(gw, {G22: sender_ep}, poll=(H41, H14, G17))
        sent = await send(gw, keys[G22], document(1))
        d41 = next(d["delivery_id"] for d in sent["deliveries"] if d["recipient"] == H41)
        r = await gw.post(f"/api/v1/deliveries/{d41}/ack", keys[H41])
        assert r.status_code == 200
        async with asyncio.timeout(10):
            while not sender_ep.notices():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        (notice,) = sender_ep.notices()
        assert notice["type"] == "delivery.acknowledged"
        assert (notice["delivery_id"], notice["recipient"]) == (d41, H41)
        assert notice["package_id"] == sent["package_id"]
        assert sender_ep.bad_signatures == 0
        # repeating the ack sends nothing more
        await gw.post(f"/api/v1/deliveries/{d41}/ack", keys[H41])
        await asyncio.sleep(0.5)
        assert len(sender_ep.notices()) == 1

        # a poll-mode sender: H41 (poll) sends to G22 ... use the same package the other way
        admin = await gw.admin()
        r = await gw.http.patch(
            f"/api/v1/admin/agencies/{G22}", json={"delivery_mode": "poll"}, headers=admin
        )
        assert r.status_code == 200
        d14 = next(d["delivery_id"] for d in sent["deliveries"] if d["recipient"] == H14)
        await gw.post(f"/api/v1/deliveries/{d14}/ack", keys[H14])
        async with asyncio.timeout(10):
            while True:
                page = (await gw.get("/api/v1/notices", keys[G22])).json()
                if any(n["delivery_id"] == d14 for n in page["items"]):
                    break
                await asyncio.sleep(0.05)
        mine = [n for n in page["items"] if n["delivery_id"] == d14]
        assert mine[0]["payload"]["recipient"] == H14
        assert mine[0]["state"] == "available"
        # another agency cannot read G22's notices
        r = await gw.get("/api/v1/notices", keys[H41], params={"agency": G22})
        assert r.status_code == 403


async def test_ack_notice_to_a_poll_sender_is_listed_at_once(gateway_settings):
    """A poll-mode sender's acknowledgement notice is written available in the ack's own
    transaction: listed by the very next GET /notices, with no outbox row for a worker."""
    settings = fast_settings(gateway_settings)
    async with gateway(settings) as gw:
        keys = await register(gw, {}, poll=(G22, H41, H14, G17))
        sent = await send(gw, keys[G22], document(1))
        d41 = next(d["delivery_id"] for d in sent["deliveries"] if d["recipient"] == H41)
        assert (await gw.post(f"/api/v1/deliveries/{d41}/ack", keys[H41])).status_code == 200
        page = (await gw.get("/api/v1/notices", keys[G22])).json()
        (notice,) = [n for n in page["items"] if n["delivery_id"] == d41]
        assert notice["state"] == "available" and notice["type"] == "delivery.acknowledged"
        assert notice["payload"]["recipient"] == H41
        assert notice["payload"]["package_id"] == sent["package_id"]
        async with gw.db.sessionmaker() as session:
            rows = await session.scalars(
                select(OutboxMessage).where(OutboxMessage.topic == "notice.ready")
            )
            assert rows.all() == []


async def test_cancel_and_push_secret_rotation(gateway_settings):
    settings = fast_settings(gateway_settings)
    async with endpoints(always(404)) as (ep,), gateway(settings) as gw:
        keys = await register(gw, {H41: ep}, poll=(H14, G17))
        sent = await send(gw, keys[G22], document(1))
        d41 = next(d["delivery_id"] for d in sent["deliveries"] if d["recipient"] == H41)
        await settle(gw, 3, poll=(H14, G17))
        admin = await gw.admin()
        r = await gw.http.post(
            f"/api/v1/admin/deliveries/{d41}/cancel",
            json={"reason": "agency closed"},
            headers=admin,
        )
        assert r.status_code == 200 and r.json()["state"] == "cancelled"
        (event,) = await audit(gw, "delivery.cancelled")
        assert event.data["reason"] == "agency closed"
        # rotation: the old secret no longer verifies, the new one does
        r = await gw.http.post(f"/api/v1/admin/agencies/{H41}/push-secret", headers=admin)
        assert r.status_code == 200
        new_secret = r.json()["push_secret"]
        assert new_secret != ep.secret
        ep.secret = new_secret
        ep.behaviour = healthy
        sent2 = await send(gw, keys[G22], document(2))
        rows = await settle(gw, 6, poll=(H14, G17))
        d2 = next(d["delivery_id"] for d in sent2["deliveries"] if d["recipient"] == H41)
        assert next(d for d in rows if d.id == d2).state == "delivered"
        assert ep.bad_signatures == 0
        # the secret is never shown again
        shown = (await gw.http.get(f"/api/v1/agencies/{H41}", headers=admin)).json()
        assert shown.get("push_secret") is None


async def test_poll_recipients_are_not_pushed(gateway_settings):
    settings = fast_settings(gateway_settings)
    async with gateway(settings) as gw:
        keys = await register(gw, {}, poll=(H41, H14, G17))
        await send(gw, keys[G22], document(1))
        rows = await settle(gw, 3, poll=(H41, H14, G17))
        assert {d.state for d in rows} == {"pending"}  # in the inbox until fetched
        inbox = (await gw.get("/api/v1/inbox", keys[H41])).json()
        assert len(inbox["items"]) == 1
        assert len(await deliveries(gw)) == 3


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_health_probes(gateway_settings):
    async with gateway(fast_settings(gateway_settings)) as gw:
        assert (await gw.http.get("/livez")).json() == {"status": "ok"}
        r = await gw.http.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["checks"]["database"]["ok"] is True
        assert r.json()["checks"]["schemas"]["ok"] is True
    broken = fast_settings(
        gateway_settings,
        broker_url="amqp://guest:guest@127.0.0.1:1/",
        broker_connect_timeout=0.5,
        delivery_fatal_after_seconds=60,
    )
    async with gateway(broken) as gw:
        assert (await gw.http.get("/livez")).status_code == 200
        r = await gw.http.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["broker"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True


async def test_unused_endpoint_helper_is_quiet() -> None:
    ep = await Endpoint().start()
    await ep.stop()
