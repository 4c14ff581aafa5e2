"""The embedded queue gets a crashed consumer's claimed jobs back within seconds, not minutes:
short leases renewed by a heartbeat while the handler runs, and on start the jobs held by a
dead local process (or a predecessor with this very name) are released at once (both backends).
The clock is injected; nothing here waits for real time."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.db import Database, utcnow
from gateway.delivery.jobs import DeliveryJob
from gateway.delivery.models import QueuedJob
from gateway.delivery.queue import DbQueue, consumer_name
from gateway.uow import write_session


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def db(gateway_settings):
    database = Database(gateway_settings)
    yield database
    await database.dispose()


def job(n: int = 1) -> DeliveryJob:
    return DeliveryJob(
        delivery_id=f"dlv-{n}",
        package_id="pkg-1",
        recipient="28.22.H17",
        attempt=1,
        priority=2,
        kind="document",
    )


async def publish(queue: DbQueue, *jobs: DeliveryJob) -> None:
    async with write_session(queue.db) as session:
        await queue.publish(session, jobs)


async def lease_of(db: Database) -> tuple[datetime | None, str | None]:
    async with db.sessionmaker() as session:
        row = (await session.scalars(select(QueuedJob))).one()
        return row.locked_until, row.locked_by


async def test_a_crashed_consumers_job_returns_within_seconds(db, gateway_settings):
    clock = Clock(utcnow())
    crashed = DbQueue(db, gateway_settings, clock=clock)
    crashed.consumer = "host-a:101"
    await publish(crashed, job())
    assert len(await crashed._claim(8)) == 1  # …and the process dies holding it
    survivor = DbQueue(db, gateway_settings, clock=clock)
    survivor.consumer = "host-b:202"
    assert await survivor._claim(8) == []  # the lease still holds
    clock.advance(20)
    assert [p["delivery_id"] for _, p, _ in await survivor._claim(8)] == ["dlv-1"]


async def test_the_heartbeat_keeps_a_running_job_leased(db, gateway_settings):
    clock = Clock(utcnow())
    worker = DbQueue(db, gateway_settings, clock=clock)
    worker.consumer = "host-a:101"
    await publish(worker, job())
    [(row_id, _, _)] = await worker._claim(8)
    other = DbQueue(db, gateway_settings, clock=clock)
    other.consumer = "host-b:202"
    for _ in range(20):  # a long push: 20 heartbeats, well past one lease
        clock.advance(worker.heartbeat_interval)
        await worker.renew_leases([row_id])
        assert await other._claim(8) == []
    until, owner = await lease_of(db)
    assert owner == "host-a:101" and until is not None and until > clock.now


async def test_a_renewal_never_steals_a_lease_taken_over_by_another(db, gateway_settings):
    clock = Clock(utcnow())
    slow = DbQueue(db, gateway_settings, clock=clock)
    slow.consumer = "host-a:101"
    await publish(slow, job())
    [(row_id, _, _)] = await slow._claim(8)
    clock.advance(60)  # e.g. its database connection was gone past the lease
    other = DbQueue(db, gateway_settings, clock=clock)
    other.consumer = "host-b:202"
    assert len(await other._claim(8)) == 1
    await slow.renew_leases([row_id])
    assert (await lease_of(db))[1] == "host-b:202"


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def test_start_releases_jobs_held_by_a_dead_local_process(db, gateway_settings):
    clock = Clock(utcnow())
    host = consumer_name().rsplit(":", 1)[0]
    for owner, n in [(f"{host}:{dead_pid()}", 1), (consumer_name(), 2), ("elsewhere:1", 3)]:
        q = DbQueue(db, gateway_settings, clock=clock)
        q.consumer = owner
        await publish(q, job(n))
        assert len(await q._claim(1)) == 1
    restarted = DbQueue(db, gateway_settings, clock=clock)
    assert await restarted.release_orphaned_leases() == 2
    claimed = {p["delivery_id"] for _, p, _ in await restarted._claim(8)}
    # another host's process may be alive: its job waits for its lease to lapse
    assert claimed == {"dlv-1", "dlv-2"}


async def test_a_starting_consumer_runs_the_dead_servers_job_at_once(db, gateway_settings):
    """The wiring: `consume` releases the dead process's lease before its first claim, so the
    job runs long before its lease (10 minutes here) would lapse."""
    import asyncio

    from gateway.delivery.jobs import HandlerResult

    host = consumer_name().rsplit(":", 1)[0]
    dead = DbQueue(db, gateway_settings)
    dead.consumer = f"{host}:{dead_pid()}"
    dead.lease = timedelta(minutes=10)
    await publish(dead, job())
    assert len(await dead._claim(8)) == 1
    restarted = DbQueue(db, gateway_settings, poll_interval=0.05)
    ran, stop = asyncio.Event(), asyncio.Event()

    async def handler(j: DeliveryJob) -> HandlerResult:
        ran.set()
        return HandlerResult.done("ok")

    consumer = asyncio.create_task(restarted.consume(handler, stop_event=stop, concurrency=2))
    try:
        await asyncio.wait_for(ran.wait(), timeout=60)  # a bound on a hang, not a speed check
    finally:
        stop.set()
        await consumer
    async with db.sessionmaker() as session:
        assert (await session.scalars(select(QueuedJob))).all() == []
