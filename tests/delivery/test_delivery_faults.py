"""Fault tests on RabbitMQ + PostgreSQL, with real `gateway worker` / `gateway relay`
processes: a worker SIGKILLed mid-delivery, a worker stopped with SIGTERM mid-delivery, the
relay stopped between commit and publish and crashing between publish and commit, two relays on
the same outbox, the broker connection cut mid-stream, and the commands exiting non-zero when
the broker is gone. Always: nothing lost, nothing accepted twice as new by a recipient (it
de-duplicates by delivery id; a push repeated after a crash is allowed), each delivery recorded
delivered exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter

import aio_pika
import pytest
from delivery_support import TcpProxy, get_all, ready_count
from endpoints import endpoints, healthy
from gateway_support import (
    G17,
    G22,
    H14,
    H41,
    cleanup_broker,
    document,
    gateway,
    rabbit_settings,
    register,
    send,
    settle,
)
from sqlalchemy import func, select

from gateway.audit.models import AuditEvent
from gateway.db import Database
from gateway.delivery import config
from gateway.delivery.queue import RabbitQueue
from gateway.delivery.relay import Relay
from gateway.delivery.runtime import DeliveryRuntime
from gateway.outbox import OutboxMessage
from gateway.settings import Settings
from support.rabbitmq_vhost import rabbitmq_url

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.slow]
POSTGRES = pytest.mark.parametrize("backend", ["postgres"], indirect=True)
POLL = (H14, G17)


def spawn(command: str, settings: Settings, *args: str, **env: str) -> subprocess.Popen:
    environ = {
        **os.environ,
        "GATEWAY_DATABASE_URL": settings.effective_database_url,
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_AUTO_MIGRATE": "false",
        "GATEWAY_BROKER_URL": settings.broker_url or "",
        "GATEWAY_BROKER_PREFIX": settings.broker_prefix,
        "GATEWAY_DELIVERY_RETRY_TIERS": settings.delivery_retry_tiers,
        "GATEWAY_DELIVERY_MAX_TOTAL_SECONDS": str(settings.delivery_max_total_seconds),
        "GATEWAY_PUSH_BREAKER_FAILURES": "1000",
        "GATEWAY_WORKER_GRACE_SECONDS": "10",
        "GATEWAY_RELAY_POLL_INTERVAL": "0.05",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", command, *args, "--log-level", "warning"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


async def wait_for(predicate, within: float = 30) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def delivered_events(gw) -> Counter[str]:  # type: ignore[no-untyped-def]
    async with gw.db.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent.subject).where(AuditEvent.action == "delivery.delivered")
        )
        return Counter(rows.all())


def push_ids(sent: list[dict], code: str = H41) -> list[str]:
    return sorted(d["delivery_id"] for s in sent for d in s["deliveries"] if d["recipient"] == code)


async def check_exactly_once(gw, ep, ids: list[str]) -> None:  # type: ignore[no-untyped-def]
    rows = await settle(gw, 3 * len(ids), within=60, poll=POLL)
    assert {d.state for d in rows if d.id in ids} == {"delivered"}
    assert sorted(ep.new) == ids  # each accepted as new exactly once
    assert ep.bad_signatures == 0
    events = await delivered_events(gw)
    assert all(events[f"delivery:{i}"] == 1 for i in ids)


@POSTGRES
async def test_worker_killed_mid_delivery(gateway_settings):
    settings = rabbit_settings(
        gateway_settings, worker_in_process=False, delivery_max_total_seconds=120
    )
    try:
        async with endpoints(healthy) as (ep,), gateway(settings) as gw:
            ep.block = asyncio.Event()
            keys = await register(gw, {H41: ep}, poll=POLL)
            ids = push_ids([await send(gw, keys[G22], document(i)) for i in range(3)])
            first = spawn("worker", settings)
            try:
                await wait_for(lambda: ep.in_flight >= 1)
                first.send_signal(signal.SIGKILL)
                first.wait(10)
            finally:
                stop(first, signal.SIGKILL)
            # the recipient may well finish handling what the dead worker sent
            ep.block.set()
            second = spawn("worker", settings)
            try:
                await check_exactly_once(gw, ep, ids)
            finally:
                assert stop(second) == 0
            assert len(ep.arrivals) >= len(ids)
    finally:
        await cleanup_broker(settings)


@POSTGRES
async def test_worker_sigterm_finishes_in_flight_job(gateway_settings):
    settings = rabbit_settings(gateway_settings, worker_in_process=False)
    try:
        async with endpoints(healthy) as (ep,), gateway(settings) as gw:
            ep.block = asyncio.Event()
            keys = await register(gw, {H41: ep}, poll=POLL)
            ids = push_ids([await send(gw, keys[G22], document(1))])
            worker = spawn("worker", settings)
            try:
                await wait_for(lambda: ep.in_flight >= 1)
                worker.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.5)
                assert worker.poll() is None  # still finishing the push
                ep.block.set()
                code = await asyncio.to_thread(worker.wait, 30)
            finally:
                stop(worker, signal.SIGKILL)
            assert code == 0, worker.stderr.read().decode()[-2000:] if worker.stderr else ""
            await check_exactly_once(gw, ep, ids)
    finally:
        await cleanup_broker(settings)


class CrashAfterPublish:
    """A queue whose publish reaches the broker, then the relay 'dies' before its commit."""

    name = "rabbitmq"

    def __init__(self, inner: RabbitQueue) -> None:
        self.inner = inner

    async def publish(self, session, jobs) -> None:  # type: ignore[no-untyped-def]
        await self.inner.publish(session, jobs)
        raise RuntimeError("relay crashed between publish and commit")

    def wake(self) -> None:
        pass


@POSTGRES
async def test_relay_stopped_then_crashing_between_publish_and_commit(gateway_settings):
    settings = rabbit_settings(gateway_settings, relay_in_process=False, worker_in_process=False)
    topo = config.topology(settings)
    try:
        async with endpoints(healthy) as (ep,), gateway(settings) as gw:
            keys = await register(gw, {H41: ep}, poll=POLL)
            first = [await send(gw, keys[G22], document(i)) for i in range(3)]
            conn = await aio_pika.connect(rabbitmq_url())
            async with conn:
                ch = await conn.channel()
                queue = RabbitQueue(settings)
                await queue.start()  # declares the topology
                try:
                    assert await ready_count(ch, topo.normal_queue) == 0
                    # committed, not published: a relay process started now publishes all,
                    # exactly once (one job per push copy; the poll copies are in their
                    # inboxes already and queue nothing)
                    relay = spawn("relay", settings)
                    try:
                        async with asyncio.timeout(30):
                            while await ready_count(ch, topo.normal_queue) < 3:  # noqa: ASYNC110
                                await asyncio.sleep(0.05)
                        await asyncio.sleep(0.5)
                    finally:
                        assert stop(relay) == 0
                    assert await ready_count(ch, topo.normal_queue) == 3
                    async with gw.db.sessionmaker() as s:
                        assert not await s.scalar(
                            select(func.count()).where(OutboxMessage.published_at.is_(None))
                        )
                    # a relay that dies after publishing, before committing: the rows stay
                    # unpublished and the next relay publishes them again (duplicates, no loss)
                    second = [await send(gw, keys[G22], document(10 + i)) for i in range(2)]
                    with pytest.raises(RuntimeError):
                        await Relay(gw.db, CrashAfterPublish(queue)).run_once()  # type: ignore[arg-type]
                    assert await Relay(gw.db, queue).run_once() == 2
                    assert await Relay(gw.db, queue).run_once() == 0
                    # the 2 push jobs twice (the crashed relay's publish, then again)
                    assert await ready_count(ch, topo.normal_queue) == 3 + 2 * 2
                finally:
                    await queue.close()
            worker = DeliveryRuntime(settings, gw.db, relay=False, worker=True)
            await worker.start()
            try:
                await check_exactly_once(gw, ep, push_ids(first + second))
            finally:
                await worker.stop()
            # the duplicated jobs were handled as no-ops
            assert sum(ep.seen.values()) == 5
    finally:
        await cleanup_broker(settings)


@POSTGRES
async def test_two_relays_never_publish_a_row_twice(gateway_settings):
    settings = rabbit_settings(gateway_settings, relay_batch_size=20)
    topo = config.topology(settings)
    n = 400
    db = Database(settings)
    try:
        async with db.sessionmaker() as session:
            # notices' rows: the relay publishes every one (a copy's job is looked up first and
            # dropped when it would be a worker no-op — here there are no copies at all)
            session.add_all(
                OutboxMessage(
                    topic="notice.ready",
                    payload={
                        "delivery_id": f"n-{i}",
                        "package_id": "p",
                        "recipient": H41,
                        "kind": "notice",
                        "priority": 0,
                    },
                )
                for i in range(n)
            )
            await session.commit()
        queues = [RabbitQueue(settings), RabbitQueue(settings)]
        dbs = [Database(settings), Database(settings)]
        for q in queues:
            await q.start()
        stop_event = asyncio.Event()
        relays = [
            Relay(d, q, batch_size=20, poll_interval=0.02) for d, q in zip(dbs, queues, strict=True)
        ]
        tasks = [asyncio.create_task(r.run(stop_event)) for r in relays]
        conn = await aio_pika.connect(rabbitmq_url())
        async with conn:
            ch = await conn.channel()
            async with asyncio.timeout(60):
                while await ready_count(ch, topo.normal_queue) < n:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            stop_event.set()
            await asyncio.gather(*tasks)
            assert all(r.published > 0 for r in relays)  # both took part
            assert sum(r.published for r in relays) == n
            messages = await get_all(ch, topo.normal_queue)
        ids = Counter(m.message_id for m in messages)
        assert len(ids) == n and set(ids.values()) == {1}
        for q, d in zip(queues, dbs, strict=True):
            await q.close()
            await d.dispose()
    finally:
        await db.dispose()
        await cleanup_broker(settings)


@POSTGRES
async def test_broker_connection_cut_mid_stream(gateway_settings):
    proxy = TcpProxy()
    await proxy.start()
    settings = rabbit_settings(
        gateway_settings, broker_url=proxy.url, delivery_max_total_seconds=120
    )
    try:
        async with endpoints(healthy) as (ep,), gateway(settings) as gw:
            keys = await register(gw, {H41: ep}, poll=POLL)
            sent = []
            for i in range(12):
                sent.append(await send(gw, keys[G22], document(i)))
                if i % 4 == 3:
                    proxy.cut()  # like a broker restart: every connection drops
                await asyncio.sleep(0.1)
            await check_exactly_once(gw, ep, push_ids(sent))
            assert proxy.connections >= 2
    finally:
        await proxy.close()
        await cleanup_broker(settings)


@POSTGRES
async def test_commands_exit_non_zero_without_broker(gateway_settings):
    settings = gateway_settings.model_copy(
        update={"broker_url": "amqp://guest:guest@127.0.0.1:1/", "broker_prefix": "unused"}
    )
    env = {"GATEWAY_DELIVERY_FATAL_AFTER_SECONDS": "1", "GATEWAY_BROKER_CONNECT_TIMEOUT": "0.5"}
    procs = [spawn(c, settings, **env) for c in ("relay", "worker")]
    codes = [await asyncio.to_thread(p.wait, 60) for p in procs]
    assert codes == [1, 1]
