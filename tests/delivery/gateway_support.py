"""Starting the gateway for delivery tests: settings for fast retries, an app on a fresh
database (SQLite or PostgreSQL, from tests/conftest.py's templates), registry shortcuts, and
waiting for deliveries to settle."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
from delivery_support import delete_topology
from sqlalchemy import select

from conftest import GatewayClient, original_from_g22, rewrite
from gateway.app import create_app
from gateway.delivery import config
from gateway.delivery.models import QueuedJob
from gateway.packages.models import Delivery
from gateway.packages.service import no_signature_check
from gateway.settings import Settings
from support.rabbitmq_vhost import rabbitmq_url

G22, H41, H14, G17 = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
RECIPIENTS = (H41, H14, G17)
DOC_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"

FAST = {
    "delivery_retry_tiers": "1,2",
    # Give up by attempt count, not by the clock: a loaded CI machine must not turn the third
    # attempt of a recovering endpoint into a time-budget failure.
    "delivery_max_total_seconds": 120.0,
    "delivery_max_attempts": 3,
    "delivery_jitter": 0.2,
    "push_breaker_failures": 1000,
    "push_connect_timeout": 2.0,
    "push_read_timeout": 5.0,
    "relay_poll_interval": 0.05,
    "worker_grace_seconds": 5.0,
    "worker_concurrency": 8,
}


def fast_settings(base: Settings, **overrides: Any) -> Settings:
    return base.model_copy(update={**FAST, **overrides})


def rabbit_settings(base: Settings, **overrides: Any) -> Settings:
    prefix = f"test-gw-{uuid.uuid4().hex[:10]}"
    overrides = {
        "worker_in_process": True,
        "broker_url": rabbitmq_url(),
        "broker_prefix": prefix,
        **overrides,
    }
    return fast_settings(base, **overrides)


async def cleanup_broker(settings: Settings) -> None:
    if settings.broker_url:
        await delete_topology(config.topology(settings))


def document(n: int, *, priority: int = 0) -> bytes:
    """The G22 → H41, H14, G17 document with its own DocumentId (and Priority)."""
    raw = rewrite(original_from_g22(), DOC_ID, f"000.00.00.G22,2026/11/21,{n}/TEST")
    if priority:
        raw = rewrite(
            raw,
            "<edXML:Priority>0</edXML:Priority>",
            f"<edXML:Priority>{priority}</edXML:Priority>",
        )
    return raw


@contextlib.asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[GatewayClient]:
    app = create_app(settings, signature_check=no_signature_check)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
            base_url="http://gateway.test",
            timeout=30,
        ) as http,
    ):
        yield GatewayClient(app, http)


async def register(
    gw: GatewayClient, endpoints: dict[str, Any], poll: Iterable[str] = ()
) -> dict[str, str]:
    """Agencies: G22 (sender, poll unless given an endpoint), recipients with push endpoints
    (`endpoints`: code → Endpoint, whose `secret` is set from the answer) or poll. Returns
    {code: api key}."""
    keys = {}
    for code in {G22, *RECIPIENTS, *endpoints, *poll}:
        ep = endpoints.get(code)
        extra = {"delivery_mode": "push", "endpoint_url": ep.url} if ep is not None else {}
        body = await gw.add_agency(code, **extra)
        if ep is not None:
            assert body["push_secret"], body
            ep.secret = body["push_secret"]
        keys[code] = await gw.add_system(f"qlvb-{code}", code)
    return keys


async def send(gw: GatewayClient, key: str, raw: bytes) -> dict:
    r = await gw.post_package(raw, key)
    assert r.status_code == 202, r.text
    return r.json()


async def deliveries(gw: GatewayClient) -> list[Delivery]:
    async with gw.db.sessionmaker() as session:
        return list((await session.scalars(select(Delivery))).all())


async def settle(
    gw: GatewayClient, expected: int, within: float = 30, poll: Iterable[str] = ()
) -> list[Delivery]:
    """Wait until `expected` deliveries exist and none is pending any more (copies for the
    `poll` recipients: until they are available, i.e. have `sent_at`), and until the embedded
    queue's worker holds no job: it records a copy's end before it settles (deletes or
    dead-letters) the job, in a transaction of its own, so a test counting jobs must wait."""
    deadline = asyncio.get_running_loop().time() + within
    polled = set(poll)

    def settled(d: Delivery) -> bool:
        if d.recipient_code in polled:
            return d.sent_at is not None
        return d.state != "pending"

    while True:
        rows = await deliveries(gw)
        if len(rows) >= expected and all(settled(d) for d in rows) and not await _jobs_held(gw):
            return rows
        if asyncio.get_running_loop().time() > deadline:
            states = sorted((d.recipient_code, d.state, d.attempts, d.last_error) for d in rows)
            raise AssertionError(f"deliveries did not settle within {within}s: {states}")
        await asyncio.sleep(0.1)


async def _jobs_held(gw: GatewayClient) -> bool:
    """Does a worker of the embedded queue hold a job (leased, not yet settled)?"""
    async with gw.db.sessionmaker() as session:
        held = select(QueuedJob.id).where(QueuedJob.locked_by.is_not(None)).limit(1)
        return await session.scalar(held) is not None
