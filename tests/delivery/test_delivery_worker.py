"""The consumer runtime against the real RabbitMQ: urgent first, retry through a tier with
attempt + 1, giving up into the dead queue, malformed messages, handler errors, graceful stop
returning unstarted messages, and consuming on through a dropped connection."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
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

from gateway.delivery.backoff import RetryPolicy
from gateway.delivery.broker import Broker
from gateway.delivery.jobs import DeliveryJob, HandlerResult
from gateway.delivery.push import PushOutcome, result_for_outcome
from gateway.delivery.worker_runtime import ConsumerStats, run_consumer

pytestmark = pytest.mark.rabbitmq

Handler = Callable[[DeliveryJob], Awaitable[HandlerResult]]


class Running:
    """run_consumer in a task; `stop()` sets the event and returns the stats."""

    def __init__(self, broker: Broker, handler: Handler, **kw) -> None:
        self.stop_event = asyncio.Event()
        self.started = asyncio.Event()
        self.task = asyncio.create_task(
            run_consumer(broker, handler, stop_event=self.stop_event, started=self.started, **kw)
        )

    async def __aenter__(self) -> Running:
        async with asyncio.timeout(10):
            await self.started.wait()
        return self

    async def stop(self) -> ConsumerStats:
        self.stop_event.set()
        async with asyncio.timeout(20):
            return await self.task

    async def __aexit__(self, *exc: object) -> None:
        if not self.task.done():
            await self.stop()


async def until(predicate: Callable[[], bool], within: float = 10) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - polling test state
            await asyncio.sleep(0.02)


async def test_urgent_overtakes_waiting_normal_jobs(broker: Broker) -> None:
    for i in range(50):
        await broker.publish(job(i, priority=0))
    await broker.publish(job(999, priority=1))
    handled: list[str] = []

    async def handler(j: DeliveryJob) -> HandlerResult:
        handled.append(j.delivery_id)
        await asyncio.sleep(0.002)
        return HandlerResult.done()

    async with Running(broker, handler, prefetch=10, concurrency=1) as running:
        await until(lambda: len(handled) == 51)
        stats = await running.stop()
    assert "d-999" in handled[:2], handled[:5]
    assert stats.done == 51 and stats.returned == 0


async def test_urgent_published_during_a_backlog_is_next(broker: Broker) -> None:
    for i in range(30):
        await broker.publish(job(i))
    handled: list[str] = []
    gate = asyncio.Event()

    async def handler(j: DeliveryJob) -> HandlerResult:
        handled.append(j.delivery_id)
        await gate.wait()
        return HandlerResult.done()

    async with Running(broker, handler, prefetch=5, concurrency=1) as running:
        await until(lambda: len(handled) == 1)  # one normal job in flight, 4 more buffered
        await broker.publish(job(777, priority=4))
        await asyncio.sleep(0.2)  # let it arrive in the local buffer
        gate.set()
        await until(lambda: len(handled) == 31)
        await running.stop()
    assert handled[1] == "d-777", handled[:5]


async def test_retry_comes_back_with_next_attempt(broker: Broker) -> None:
    seen: list[tuple[int, float]] = []
    t0 = time.monotonic()

    async def handler(j: DeliveryJob) -> HandlerResult:
        seen.append((j.attempt, time.monotonic() - t0))
        if j.attempt == 1:
            return HandlerResult.retry(timedelta(seconds=1), "HTTP 503")
        return HandlerResult.done()

    await broker.publish(job(1, priority=2))
    async with Running(broker, handler) as running:
        await until(lambda: len(seen) == 2)
        stats = await running.stop()
    assert [a for a, _ in seen] == [1, 2]
    assert 0.8 < seen[1][1] - seen[0][1] < 4
    assert (stats.retried, stats.done) == (1, 1)


async def test_give_up_lands_in_the_dead_queue(broker: Broker, inspector) -> None:
    policy = RetryPolicy(tiers=(timedelta(seconds=1),), max_total=timedelta(seconds=2), jitter=0.5)
    attempts: list[int] = []

    async def handler(j: DeliveryJob) -> HandlerResult:
        attempts.append(j.attempt)
        return result_for_outcome(PushOutcome("transient", "HTTP 502", 502), j, policy)

    await broker.publish(job(5))
    async with Running(broker, handler) as running:
        await until(lambda: len(attempts) == 3)
        await wait_for_count(inspector, broker.topology.dead_queue, 1)
        stats = await running.stop()
    assert attempts == [1, 2, 3]
    (dead,) = await get_all(inspector, broker.topology.dead_queue)
    assert DeliveryJob.from_bytes(dead.body) == job(5, attempt=3)
    assert dead.headers["gateway-dead-reason"] == "gave up after 3 attempts: HTTP 502"
    assert (stats.retried, stats.dead) == (2, 1)


async def test_malformed_messages_go_dead_and_consuming_goes_on(broker: Broker, inspector) -> None:
    exchange = await inspector.get_exchange(broker.topology.work_exchange)
    await exchange.publish(aio_pika.Message(b"not json", message_id="junk-1"), "normal")
    await exchange.publish(
        aio_pika.Message(b'{"delivery_id": 1, "attempt": "x"}', message_id="junk-2"), "urgent"
    )
    await broker.publish(job(1))
    handled: list[str] = []

    async def handler(j: DeliveryJob) -> HandlerResult:
        handled.append(j.delivery_id)
        return HandlerResult.done()

    async with Running(broker, handler) as running:
        await until(lambda: handled == ["d-1"])
        await wait_for_count(inspector, broker.topology.dead_queue, 2)
        stats = await running.stop()
    assert stats.malformed == 2
    dead = await get_all(inspector, broker.topology.dead_queue)
    assert {m.body for m in dead} == {b"not json", b'{"delivery_id": 1, "attempt": "x"}'}
    for m in dead:
        assert "not a delivery job" in m.headers["gateway-dead-reason"]
        assert m.headers["gateway-original-message-id"] in {"junk-1", "junk-2"}
    assert await ready_count(inspector, broker.topology.normal_queue) == 0


async def test_handler_errors_retry_same_attempt_then_dead(broker: Broker, inspector) -> None:
    attempts: list[int] = []

    async def handler(j: DeliveryJob) -> HandlerResult:
        attempts.append(j.attempt)
        raise RuntimeError("database is down")

    await broker.publish(job(3))
    async with Running(
        broker, handler, error_delay=timedelta(seconds=1), max_handler_errors=2
    ) as running:
        await wait_for_count(inspector, broker.topology.dead_queue, 1)
        stats = await running.stop()
    assert attempts == [1, 1]  # the attempt is not burnt by our own failures
    (dead,) = await get_all(inspector, broker.topology.dead_queue)
    assert "RuntimeError" in dead.headers["gateway-dead-reason"]
    assert stats.handler_errors == 2


async def test_graceful_stop_returns_unstarted_messages(broker: Broker, inspector) -> None:
    topo = broker.topology
    for i in range(20):
        await broker.publish(job(i))
    started = asyncio.Event()
    finished: list[str] = []

    async def handler(j: DeliveryJob) -> HandlerResult:
        started.set()
        await asyncio.sleep(0.5)  # in flight when the stop comes; finishes within the grace
        finished.append(j.delivery_id)
        return HandlerResult.done()

    async with Running(broker, handler, prefetch=5, concurrency=1, grace=5) as running:
        await started.wait()
        await asyncio.sleep(0.1)  # let the prefetch fill the local buffer
        stats = await running.stop()
    assert finished == ["d-0"]
    assert stats.done == 1
    assert stats.returned == 4  # prefetched (5) minus the one in flight, nacked back
    assert stats.abandoned == 0
    # every one of the others is back in the queue, ready for the next worker
    assert await wait_for_count(inspector, topo.normal_queue, 19) == 19
    ids = {
        DeliveryJob.from_bytes(m.body).delivery_id
        for m in await get_all(inspector, topo.normal_queue)
    }
    assert ids == {f"d-{i}" for i in range(1, 20)}


async def test_stop_after_grace_abandons_and_broker_returns_it(broker: Broker, inspector) -> None:
    for i in range(3):
        await broker.publish(job(i))
    started = asyncio.Event()

    async def handler(j: DeliveryJob) -> HandlerResult:
        started.set()
        await asyncio.sleep(60)
        return HandlerResult.done()

    async with Running(broker, handler, prefetch=2, concurrency=1, grace=0.3) as running:
        await started.wait()
        stats = await running.stop()
    assert (stats.abandoned, stats.returned, stats.done) == (1, 1, 0)
    assert await wait_for_count(inspector, broker.topology.normal_queue, 3) == 3


async def test_consumer_survives_dropped_connection(proxy: TcpProxy, inspector) -> None:
    topo = make_topology()
    broker = Broker(proxy.url, topology=topo, publish_timeout=3, reconnect_interval=0.2)
    try:
        await broker.connect()
        for i in range(40):
            await broker.publish(job(i))
        handled: list[str] = []

        async def handler(j: DeliveryJob) -> HandlerResult:
            handled.append(j.delivery_id)
            await asyncio.sleep(0.02)
            if j.delivery_id == "d-7" and j.attempt == 1:
                return HandlerResult.retry(timedelta(seconds=1), "once through a tier")
            return HandlerResult.done()

        async with Running(broker, handler, prefetch=4, concurrency=2) as running:
            await until(lambda: len(handled) >= 12)
            proxy.cut()
            await until(lambda: {f"d-{i}" for i in range(40)} <= set(handled), within=20)
            await until(lambda: handled.count("d-7") >= 2, within=10)
            stats = await running.stop()
        print(stats, "reconnects", broker.reconnects)
        assert broker.reconnects >= 1
        # every job handled, none lost; a few may have been handled twice (at-least-once)
        assert await ready_count(inspector, topo.normal_queue) == 0
        assert stats.done >= 40
    finally:
        await broker.close()
        await delete_topology(topo)
