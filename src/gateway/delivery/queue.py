"""The delivery queue behind one interface, with two transports.

```
class DeliveryQueue(Protocol):
    async def start() / close()
    async def publish(session, jobs)     # called by the relay inside its transaction
    async def consume(handler, stop_event=…, concurrency=…)   # until stop_event, then drain
```

- `RabbitQueue` (production): the `Broker` (confirmed, persistent, mandatory publishes to
  durable quorum queues; robust reconnects) and `run_consumer` (urgent first, TTL retry tiers,
  dead-letter queue, graceful stop).
- `DbQueue` (embedded default, no broker configured): the `queued_jobs` table. `publish` inserts
  rows in the relay's own transaction (so marking the outbox row published and queueing the job
  are one atomic step); consumers claim rows (urgent first, then oldest) under a short lease
  (`db_queue_lease_seconds`) that a heartbeat renews while the handler runs, with
  `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite has no such clause: run a single consumer
  there, the one inside `gateway serve`). A crashed consumer's jobs come back when its lease
  lapses, or at once when a consumer starts on the same host (gateway.delivery.leases).
  Retries set `available_at` in the future; dead jobs stay in the table with `state='dead'`.

The same job handler (gateway.delivery.service.DeliveryHandler) runs on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import Database, utcnow
from ..settings import Settings
from ..uow import write_session
from . import config
from .broker import Broker, BrokerUnavailable
from .jobs import DeliveryJob, HandlerResult, MalformedJob
from .leases import held_by_a_dead_local_process
from .models import QueuedJob
from .repository import DeliveryRepository
from .worker_runtime import run_consumer

log = logging.getLogger(__name__)

Handler = Callable[[DeliveryJob], Awaitable[HandlerResult]]


class DeliveryQueue(Protocol):
    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def connected(self) -> bool: ...

    async def publish(self, session: AsyncSession, jobs: Sequence[DeliveryJob]) -> None: ...

    async def consume(
        self,
        handler: Handler,
        *,
        stop_event: asyncio.Event,
        concurrency: int,
        started: asyncio.Event | None = None,
    ) -> None: ...

    def wake(self) -> None: ...


def consumer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


# ------------------------------------------------------------------------------ RabbitMQ


class RabbitQueue:
    name = "rabbitmq"

    def __init__(self, settings: Settings, *, url: str | None = None) -> None:
        self.settings = settings
        self.broker = Broker(
            url or settings.broker_url or "",
            topology=config.topology(settings),
            connect_timeout=settings.broker_connect_timeout,
            publish_timeout=settings.broker_publish_timeout,
            reconnect_interval=1.0,
            connection_name=f"gateway {consumer_name()}",
        )

    async def start(self) -> None:
        """Connect, retrying until `delivery_fatal_after_seconds` (then BrokerUnavailable)."""
        deadline = time.monotonic() + self.settings.delivery_fatal_after_seconds
        pause = 0.5
        while True:
            try:
                await self.broker.connect()
                return
            except BrokerUnavailable as exc:
                if time.monotonic() + pause > deadline:
                    raise
                log.warning("broker not reachable yet (%s); retrying in %.1fs", exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 10.0)

    async def close(self) -> None:
        await self.broker.close()

    @property
    def connected(self) -> bool:
        return self.broker.is_connected

    async def publish(self, session: AsyncSession, jobs: Sequence[DeliveryJob]) -> None:
        # confirmed publishes, concurrently; any failure raises and the relay rolls back
        await asyncio.gather(*(self.broker.publish(job) for job in jobs))

    async def consume(
        self,
        handler: Handler,
        *,
        stop_event: asyncio.Event,
        concurrency: int,
        started: asyncio.Event | None = None,
    ) -> None:
        await run_consumer(
            self.broker,
            handler,
            prefetch=concurrency,
            concurrency=concurrency,
            stop_event=stop_event,
            grace=self.settings.worker_grace_seconds,
            started=started,
        )

    def wake(self) -> None:
        pass


# ------------------------------------------------------------------------ database queue


class DbQueue:
    name = "database"

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        poll_interval: float | None = None,
        error_delay: timedelta = timedelta(seconds=30),
        max_handler_errors: int = 10,
        handler_timeout: float | None = 300.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.poll_interval = poll_interval or settings.relay_poll_interval
        self.lease = timedelta(seconds=settings.db_queue_lease_seconds)
        # a running job's lease is renewed three times per lease: one missed beat is harmless
        self.heartbeat_interval = settings.db_queue_lease_seconds / 3
        self.error_delay = error_delay
        self.max_handler_errors = max_handler_errors
        self.handler_timeout = handler_timeout
        self.consumer = consumer_name()
        self._wake = asyncio.Event()
        self.stats = {"done": 0, "retried": 0, "dead": 0, "handler_errors": 0}

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    @property
    def connected(self) -> bool:
        return True

    def wake(self) -> None:
        self._wake.set()

    async def publish(self, session: AsyncSession, jobs: Sequence[DeliveryJob]) -> None:
        now = self.clock()
        DeliveryRepository(session).add_jobs(
            [
                QueuedJob(
                    delivery_id=job.delivery_id,
                    kind=job.kind,
                    urgent=1 if job.urgent else 0,
                    payload=json.loads(job.to_bytes()),
                    attempt=job.attempt,
                    handler_errors=0,
                    state="queued",
                    available_at=now,
                    created_at=now,
                )
                for job in jobs
            ]
        )

    # leases ----------------------------------------------------------------------------
    async def renew_leases(self, row_ids: Sequence[int]) -> None:
        """The heartbeat: keep the jobs this consumer is still handling leased."""
        if row_ids:
            async with write_session(self.db) as session:
                await DeliveryRepository(session).renew_jobs(
                    row_ids, self.consumer, self.clock() + self.lease
                )

    async def release_orphaned_leases(self) -> int:
        """On start: release the jobs leased by dead processes of this host (see
        gateway.delivery.leases), so a crash costs seconds, not a lease."""
        async with write_session(self.db) as session:
            repo = DeliveryRepository(session)
            owners = await repo.lease_holders(self.clock())
            dead = [o for o in owners if held_by_a_dead_local_process(o, self.consumer)]
            released = await repo.release_jobs_of(dead)
        if released:
            log.warning("released %d jobs held by a process that is gone: %s", released, dead)
        return released

    async def _heartbeat(self, inflight: dict[int, asyncio.Task[None]]) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self.renew_leases(list(inflight))
            except Exception as exc:  # database trouble: the next beat tries again
                log.warning("cannot renew job leases: %s", exc)

    # consuming -----------------------------------------------------------------------
    async def _claimable(self) -> bool:
        """A cheap read first, so an idle consumer never takes SQLite's write lock."""
        async with self.db.read_session() as session:
            now = self.clock()
            first = await DeliveryRepository(session).next_available_at(now)
        return first is not None and first <= now

    async def _claim(self, limit: int) -> list[tuple[int, dict, int]]:
        if not await self._claimable():
            return []
        async with write_session(self.db) as session:
            now = self.clock()
            rows = await DeliveryRepository(session).claim_jobs(now, limit)
            for row in rows:
                row.locked_until = now + self.lease
                row.locked_by = self.consumer
            return [(r.id, dict(r.payload), r.handler_errors) for r in rows]

    async def consume(
        self,
        handler: Handler,
        *,
        stop_event: asyncio.Event,
        concurrency: int,
        started: asyncio.Event | None = None,
    ) -> None:
        inflight: dict[int, asyncio.Task[None]] = {}
        try:
            await self.release_orphaned_leases()
        except Exception as exc:  # database trouble: those leases lapse on their own
            log.warning("cannot release orphaned job leases: %s", exc)
        heartbeat = asyncio.create_task(self._heartbeat(inflight), name="db-queue-heartbeat")
        if started is not None:
            started.set()
        log.info("consuming the database queue (%d at a time)", concurrency)
        try:
            while not stop_event.is_set():
                self._wake.clear()
                free = concurrency - len(inflight)
                claimed: list[tuple[int, dict, int]] = []
                if free > 0:
                    try:
                        claimed = await self._claim(free)
                    except Exception as exc:  # database trouble: keep trying (runtime watches)
                        log.warning("cannot claim jobs: %s", exc)
                for row_id, payload, errors in claimed:
                    task = asyncio.create_task(self._run(handler, row_id, payload, errors))
                    inflight[row_id] = task
                    task.add_done_callback(lambda _t, i=row_id: self._finished(inflight, i))
                if claimed and len(claimed) == free:
                    continue
                waiters = [asyncio.ensure_future(self._wake.wait())]
                waiters.append(asyncio.ensure_future(stop_event.wait()))
                try:
                    await asyncio.wait(
                        waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    for w in waiters:
                        w.cancel()
        finally:
            try:
                await self._stop(inflight)
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat

    def _finished(self, inflight: dict[int, asyncio.Task[None]], row_id: int) -> None:
        inflight.pop(row_id, None)
        self._wake.set()

    async def _stop(self, inflight: dict[int, asyncio.Task[None]]) -> None:
        tasks = dict(inflight)
        if tasks:
            _, pending = await asyncio.wait(
                tasks.values(), timeout=self.settings.worker_grace_seconds
            )
            abandoned = [i for i, t in tasks.items() if t in pending]
            for t in pending:
                t.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            if abandoned:  # return them to the queue now rather than after the lease
                with contextlib.suppress(Exception):
                    async with write_session(self.db) as session:
                        await DeliveryRepository(session).release_jobs(abandoned)
                log.warning("returned %d unfinished jobs to the queue", len(abandoned))

    async def _run(self, handler: Handler, row_id: int, payload: dict, errors: int) -> None:
        try:
            job = DeliveryJob.from_bytes(json.dumps(payload).encode())
        except MalformedJob as exc:
            await self._settle(row_id, None, HandlerResult.dead(exc.reason), errors)
            return
        try:
            async with asyncio.timeout(self.handler_timeout):
                result = await handler(job)
            errors = 0
        except Exception as exc:
            if isinstance(exc, TimeoutError):
                reason = f"handler timed out after {self.handler_timeout}s"
            else:
                log.exception("handler failed for delivery %s", job.delivery_id)
                reason = f"handler error: {type(exc).__name__}"
            errors += 1
            self.stats["handler_errors"] += 1
            if errors >= self.max_handler_errors:
                result = HandlerResult.dead(f"{reason} ({errors} times in a row)")
            else:
                result = HandlerResult("retry", reason, self.error_delay, count_attempt=False)
        try:
            await self._settle(row_id, job, result, errors)
        except Exception as exc:  # the lease expires and the job runs again (idempotent)
            log.warning("could not record the outcome of job %s: %s", row_id, exc)

    async def _settle(
        self, row_id: int, job: DeliveryJob | None, result: HandlerResult, errors: int
    ) -> None:
        async with write_session(self.db) as session:
            repo = DeliveryRepository(session)
            if result.kind == "done":
                await repo.delete_job(row_id)
                self.stats["done"] += 1
                return
            row = await repo.job(row_id)
            if row is None:
                return
            row.locked_until = None
            row.locked_by = None
            row.handler_errors = errors
            if result.kind == "retry" and job is not None:
                assert result.delay is not None
                again = job.next_attempt() if result.count_attempt else job
                row.payload = json.loads(again.to_bytes())
                row.attempt = again.attempt
                row.available_at = self.clock() + result.delay
                self.stats["retried"] += 1
            else:
                row.state = "dead"
                row.dead_reason = result.reason[:2000]
                self.stats["dead"] += 1
                log.warning("job %s dead-lettered: %s", row.delivery_id, result.reason)
