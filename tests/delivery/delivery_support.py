"""Helpers for the delivery transport tests: per-test topology prefixes (parallel runs and other
engineers' queues never collide, and everything declared is deleted afterwards), queue
inspection, and a TCP proxy in front of the broker that a test can cut to simulate broker
restarts and network drops without touching the shared broker."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import aio_pika
import pytest
from yarl import URL

from gateway.delivery.broker import Broker
from gateway.delivery.jobs import DeliveryJob
from gateway.delivery.topology import Topology
from support.rabbitmq_vhost import rabbitmq_url

TEST_TIERS = (timedelta(seconds=1), timedelta(seconds=2))


def job(n: int = 1, *, priority: int = 0, attempt: int = 1, kind: str = "push") -> DeliveryJob:
    return DeliveryJob(
        delivery_id=f"d-{n}",
        package_id=f"p-{n}",
        recipient="000.00.00.H99",
        attempt=attempt,
        priority=priority,
        kind=kind,
    )


def make_topology(**kw: object) -> Topology:
    prefix = f"test-delivery-{uuid.uuid4().hex[:10]}"
    kw.setdefault("retry_tiers", TEST_TIERS)
    return Topology(prefix=prefix, **kw)  # type: ignore[arg-type]


async def delete_topology(topology: Topology) -> None:
    conn = await aio_pika.connect(rabbitmq_url(), timeout=10)
    async with conn:
        channel = await conn.channel()
        for name in topology.queue_names:
            with contextlib.suppress(Exception):
                await channel.queue_delete(name, if_unused=False, if_empty=False)
        for name in topology.exchange_names:
            with contextlib.suppress(Exception):
                await channel.exchange_delete(name, if_unused=False)


async def ready_count(channel: aio_pika.abc.AbstractChannel, queue: str) -> int:
    q = await channel.declare_queue(queue, passive=True)
    assert q.declaration_result.message_count is not None
    return q.declaration_result.message_count


async def wait_for_count(
    channel: aio_pika.abc.AbstractChannel, queue: str, expected: int, within: float = 10
) -> int:
    """Poll until `queue` holds `expected` ready messages (or `within` seconds pass)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        n = await ready_count(channel, queue)
        if n == expected or asyncio.get_running_loop().time() > deadline:
            return n
        await asyncio.sleep(0.05)


async def get_all(
    channel: aio_pika.abc.AbstractChannel, queue: str
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    q = await channel.get_queue(queue, ensure=False)
    out = []
    while (m := await q.get(no_ack=True, fail=False)) is not None:
        out.append(m)
    return out


class TcpProxy:
    """127.0.0.1:<port> → the broker; `cut()` aborts every connection (like a broker restart),
    `down`/`up` refuse new connections meanwhile. Targets the tests' broker (rabbitmq_url()), and
    its `url` keeps that URL's credentials and vhost (a shared broker's "/" stays untouched)."""

    def __init__(self, broker_url: str | None = None) -> None:
        self.broker_url = URL(broker_url or rabbitmq_url())
        self.target = (self.broker_url.host or "127.0.0.1", self.broker_url.port or 5672)
        self.accepting = True
        self.server: asyncio.Server | None = None
        self.pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.connections = 0

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return str(self.broker_url.with_host("127.0.0.1").with_port(self.port))

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.accepting:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        pair = (writer, up_writer)
        self.pairs.add(pair)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.transport.abort()

        for t in (
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        ):
            self.tasks.add(t)
            t.add_done_callback(self.tasks.discard)

    def cut(self) -> None:
        for client, upstream in list(self.pairs):
            client.transport.abort()
            upstream.transport.abort()
        self.pairs.clear()

    async def close(self) -> None:
        self.accepting = False
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


# fixtures (imported by the test modules: a conftest.py here would shadow tests/conftest.py
# for modules that do `from conftest import ...`)
@pytest.fixture(name="topology")
async def topology_fixture() -> AsyncIterator[Topology]:
    topo = make_topology()
    try:
        yield topo
    finally:
        await delete_topology(topo)


@pytest.fixture(name="broker")
async def broker_fixture(topology: Topology) -> AsyncIterator[Broker]:
    b = Broker(rabbitmq_url(), topology=topology, publish_timeout=5, reconnect_interval=0.3)
    await b.connect()
    try:
        yield b
    finally:
        await b.close()


@pytest.fixture(name="inspector")
async def inspector_fixture() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A plain (non-robust) channel on a direct connection, for looking at queues."""
    conn = await aio_pika.connect(rabbitmq_url(), timeout=10)
    try:
        yield await conn.channel()
    finally:
        await conn.close()


@pytest.fixture(name="proxy")
async def proxy_fixture() -> AsyncIterator[TcpProxy]:
    p = TcpProxy()
    await p.start()
    try:
        yield p
    finally:
        await p.close()
