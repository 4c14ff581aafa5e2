"""Broker and topology against the real RabbitMQ: idempotent declaration, confirmed publishing,
retry tiers that dead-letter back with the routing key kept, the dead queue, and surviving a
dropped connection without losing a message."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import aio_pika
import pytest
from delivery_support import (  # noqa: F401 - fixtures
    TcpProxy,
    broker_fixture,
    delete_topology,
    get_all,
    inspector_fixture,
    job,
    make_topology,
    proxy_fixture,
    ready_count,
    topology_fixture,
    wait_for_count,
)

from gateway.delivery.broker import (
    Broker,
    BrokerUnavailable,
    PublishFailed,
    PublishReturned,
    PublishTimeout,
)
from gateway.delivery.jobs import DeliveryJob
from gateway.delivery.topology import Topology
from support.rabbitmq_vhost import rabbitmq_url

pytestmark = pytest.mark.rabbitmq


async def test_topology_declares_idempotently(topology: Topology, inspector) -> None:
    conn = await aio_pika.connect(rabbitmq_url())
    async with conn:
        for _ in range(2):
            channel = await conn.channel()
            declared = await topology.declare(channel)
            await channel.close()
    assert set(declared.retry) == set(topology.retry_tiers)
    for name in topology.queue_names:
        assert await ready_count(inspector, name) == 0
    assert topology.retry_queue(timedelta(seconds=1)).endswith(".retry.1s")
    # a second Broker on the same prefix re-declares without complaint
    async with Broker(rabbitmq_url(), topology=topology) as b:
        await b.publish(job(1))
    assert await ready_count(inspector, topology.normal_queue) == 1


async def test_conflicting_redeclaration_is_refused(topology: Topology) -> None:
    async with Broker(rabbitmq_url(), topology=topology):
        pass
    changed = Topology(prefix=topology.prefix, retry_tiers=topology.retry_tiers, delivery_limit=3)
    with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
        async with Broker(rabbitmq_url(), topology=changed):
            pass


async def test_publish_round_trip_with_confirms(broker: Broker, inspector) -> None:
    topo = broker.topology
    await broker.publish(job(1, priority=0))
    await broker.publish(job(2, priority=3))
    normal = await get_all(inspector, topo.normal_queue)
    urgent = await get_all(inspector, topo.urgent_queue)
    assert [DeliveryJob.from_bytes(m.body) for m in normal] == [job(1)]
    assert [DeliveryJob.from_bytes(m.body) for m in urgent] == [job(2, priority=3)]
    m = normal[0]
    assert m.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert m.message_id == "d-1:1"
    assert m.content_type == "application/json"
    assert m.type == "push"


async def test_unroutable_and_timeout_raise(broker: Broker) -> None:
    with pytest.raises(PublishReturned):
        await broker.publish(job(1), routing_key="nowhere")
    with pytest.raises(PublishTimeout):
        await broker.publish(job(1), timeout=0.000001)
    with pytest.raises(BrokerUnavailable):
        await Broker("amqp://guest:guest@127.0.0.1:1/", connect_timeout=1).connect()


async def test_retry_tier_comes_back_to_the_same_work_queue(broker: Broker, inspector) -> None:
    topo = broker.topology
    started = time.monotonic()
    tier = await broker.publish_retry(job(1, priority=2, attempt=2), timedelta(seconds=1))
    assert tier == timedelta(seconds=1)
    await broker.publish_retry(job(2, attempt=2), timedelta(milliseconds=600))  # jittered
    await broker.publish_retry(job(3, attempt=2), timedelta(minutes=5))  # capped at 2 s
    assert await ready_count(inspector, topo.retry_queue(timedelta(seconds=1))) == 2
    assert await ready_count(inspector, topo.retry_queue(timedelta(seconds=2))) == 1
    assert await wait_for_count(inspector, topo.urgent_queue, 1, within=5) == 1
    assert await wait_for_count(inspector, topo.normal_queue, 2, within=5) == 2
    elapsed = time.monotonic() - started
    assert 1.5 < elapsed < 5
    (urgent,) = await get_all(inspector, topo.urgent_queue)
    assert DeliveryJob.from_bytes(urgent.body) == job(1, priority=2, attempt=2)
    assert urgent.routing_key == "urgent"
    death = urgent.headers["x-death"][0]
    assert death["reason"] == "expired" and death["queue"] == topo.retry_queue(timedelta(seconds=1))
    normal = await get_all(inspector, topo.normal_queue)
    assert [DeliveryJob.from_bytes(m.body).delivery_id for m in normal] == ["d-2", "d-3"]


async def test_dead_letters_carry_the_reason(broker: Broker, inspector) -> None:
    await broker.publish_dead(job(1), "HTTP 404: no such inbox")
    await broker.publish_dead(b"\x00garbage", "not a delivery job", headers={"x": "y"})
    dead = await get_all(inspector, broker.topology.dead_queue)
    assert DeliveryJob.from_bytes(dead[0].body) == job(1)
    assert dead[0].headers["gateway-dead-reason"] == "HTTP 404: no such inbox"
    assert dead[1].body == b"\x00garbage"
    assert dead[1].headers["gateway-dead-reason"] == "not a delivery job"


async def test_rejected_work_message_is_dead_lettered(broker: Broker, inspector) -> None:
    await broker.publish(job(1))
    q = await inspector.get_queue(broker.topology.normal_queue, ensure=False)
    m = await q.get(no_ack=False)
    await m.reject(requeue=False)
    assert await wait_for_count(inspector, broker.topology.dead_queue, 1) == 1


async def relay(broker: Broker, jobs: list[DeliveryJob], *, cut, pause: float = 0.05) -> int:
    """Publish like the outbox relay: a job counts as published only once confirmed;
    a failure leaves it pending and it is tried again."""
    failures = 0
    for i, j in enumerate(jobs):
        cut(i)
        while True:
            try:
                await broker.publish(j, timeout=2)
                break
            except PublishFailed:
                failures += 1
                await asyncio.sleep(pause)
    return failures


async def test_publishing_survives_dropped_connections(proxy: TcpProxy, inspector) -> None:
    topo = make_topology()
    broker = Broker(proxy.url, topology=topo, publish_timeout=2, reconnect_interval=0.2)
    try:
        await broker.connect()
        jobs = [job(i) for i in range(150)]

        def cut(i: int) -> None:
            if i in (40, 90):
                proxy.cut()  # broker "restart": every socket through the proxy dies

        await relay(broker, jobs, cut=cut)
        assert proxy.connections >= 3
        assert broker.reconnects >= 2
        # nothing lost (a timed-out publish may have landed twice: at-least-once)
        got = await get_all(inspector, topo.normal_queue)
        ids = [DeliveryJob.from_bytes(m.body).delivery_id for m in got]
        assert set(ids) == {j.delivery_id for j in jobs}
    finally:
        await broker.close()
        await delete_topology(topo)


async def test_topology_is_restored_after_reconnect(proxy: TcpProxy, inspector) -> None:
    topo = make_topology()
    broker = Broker(proxy.url, topology=topo, publish_timeout=3, reconnect_interval=0.2)
    try:
        await broker.connect()
        tier_queue = topo.retry_queue(timedelta(seconds=2))
        # while the gateway is cut off, somebody deletes a retry tier
        proxy.accepting = False
        proxy.cut()
        await inspector.queue_delete(tier_queue)
        proxy.accepting = True
        # aio-pika's robust channel re-declares queues and bindings on reconnect
        await broker.publish_retry(job(1, attempt=2), timedelta(seconds=2))
        assert await ready_count(inspector, tier_queue) == 1
        assert broker.reconnects >= 1
    finally:
        await broker.close()
        await delete_topology(topo)
