"""End to end on the embedded (database) queue, both backends: a real HTTP endpoint
(tests/delivery/endpoints.py) that verifies the gateway's signatures is down from Monday 15:00;
the gateway's own relay and worker keep retrying; the monitor, its clock injected, raises the
incident on Tuesday; the endpoint comes back, the next document gets through, the incident
closes with its durations and the backlog reaches the endpoint urgent first, each copy exactly
once; the retry jobs still in their tier push nothing when they come due."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

from outage_support import HOUR, Clock, vn
from sqlalchemy import select, update

from delivery.endpoints import always, endpoints, healthy
from gateway.db import utcnow
from gateway.delivery.models import QueuedJob
from gateway.outages.models import OutageIncident
from gateway.outages.monitor import OutageMonitor
from gateway.packages.models import Delivery
from ops.ops_support import A80, H17, document

SETTINGS = {
    "delivery_retry_tiers": "10,3600",
    "delivery_jitter": 0.0,
    "push_breaker_failures": 1000,
    "relay_poll_interval": 0.05,
    "worker_concurrency": 1,
    "worker_grace_seconds": 5.0,
    "outage_monitor_interval": 0,
}


async def until(check: Callable[[], Awaitable[bool]], what: str, within: float = 60) -> None:
    try:
        async with asyncio.timeout(within):
            while not await check():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {within}s") from None


async def test_endpoint_down_then_back(make_gateway):
    async with endpoints(always(503)) as (ep,):
        gw = await make_gateway(**SETTINGS)
        clock = Clock(vn(2026, 11, 16, 15, 0))
        gw.app.state.clock = clock
        runtime = gw.app.state.delivery
        await asyncio.wait_for(runtime.started.wait(), 30)
        runtime.handler.clock = clock
        keys = await gw.setup(A80)
        agency = await gw.add_agency(H17, delivery_mode="push", endpoint_url=ep.url)
        ep.secret = agency["push_secret"]

        async def send(n: int, priority: int = 0) -> str:
            r = await gw.post_package(document(n, priority=priority), keys[A80])
            assert r.status_code == 202, r.text
            return r.json()["deliveries"][0]["delivery_id"]

        def attempted(delivery_id: str, times: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                async with gw.db.sessionmaker() as s:
                    return (await s.get(Delivery, delivery_id)).attempts >= times

            return check

        def reached(delivery_id: str, state: str) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                async with gw.db.sessionmaker() as s:
                    return (await s.get(Delivery, delivery_id)).state == state

            return check

        # Monday 15:00: the first push fails; its retry comes on Tuesday 15:30, 24.5 h after
        # the copy was queued: the retry budget is spent, it gives up
        old = await send(1)
        await until(attempted(old, 1), "the first attempt")
        clock.set(2026, 11, 17, 15, 30)
        await until(reached(old, "failed"), "giving up")
        # Tuesday 15:30: two more, retried once, then waiting in the one-hour tier
        ordinary, urgent = await send(2), await send(3, priority=3)
        for waiting in (ordinary, urgent):
            await until(attempted(waiting, 2), "the second attempt")
        assert ep.new == []

        monitor = OutageMonitor(gw.db, gw.app.state.settings, clock=clock)
        [incident] = (await monitor.run_once()).opened
        assert incident.started_at == vn(2026, 11, 16, 15, 0)

        # Tuesday 16:00 the endpoint is back
        clock.set(2026, 11, 17, 16, 0)
        ep.behaviour = healthy
        trigger = await send(4)
        for delivery_id in (trigger, urgent, old, ordinary):
            await until(reached(delivery_id, "delivered"), "the delivery")
        assert ep.new == [trigger, urgent, old, ordinary]
        assert ep.bad_signatures == 0
        async with gw.db.sessionmaker() as s:
            [closed] = (await s.scalars(select(OutageIncident))).all()
        assert closed.closed_at == vn(2026, 11, 17, 16, 0)
        assert closed.duration_seconds == 25 * HOUR
        assert closed.working_seconds == 8.5 * HOUR  # Monday 2 h, Tuesday 4 h + 2.5 h

        # a copy is marked delivered before its job is settled (deleted) in a session of its
        # own: wait for the worker to put down every job it holds
        async def hands_empty() -> bool:
            async with gw.db.sessionmaker() as s:
                held = select(QueuedJob.id).where(QueuedJob.locked_by.is_not(None))
                return await s.scalar(held) is None

        await until(hands_empty, "the worker settling its last jobs")

        # the jobs still waiting in the one-hour tier come due: nothing is pushed again
        # (the outage notices to the sender are jobs of their own, not retries)
        async with gw.db.sessionmaker() as s:
            due = await s.execute(
                update(QueuedJob)
                .where(QueuedJob.state == "queued", QueuedJob.kind != "notice")
                .values(available_at=utcnow())
            )
            await s.commit()
        assert due.rowcount == 2

        async def tier_empty() -> bool:
            async with gw.db.sessionmaker() as s:
                queued = select(QueuedJob.id).where(
                    QueuedJob.state == "queued", QueuedJob.kind != "notice"
                )
                return await s.scalar(queued) is None

        await until(tier_empty, "the old retry jobs")
        accepted = Counter(a.delivery_id for a in ep.arrivals if a.status == 200)
        assert accepted == {trigger: 1, urgent: 1, old: 1, ordinary: 1}
