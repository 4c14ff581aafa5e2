"""The outbox relay: committed outbox rows → the delivery queue, then marked published.

One batch is one transaction: claim up to `batch_size` unpublished rows (oldest first;
`FOR UPDATE SKIP LOCKED` on PostgreSQL so several relays never take the same row), publish them
(RabbitMQ: persistent, mandatory, confirmed — all confirms are awaited; the database queue:
rows inserted in this same transaction), set `published_at`, commit. If anything fails the
transaction rolls back and the rows are published again by the next batch (or another relay):
a crash between publish and commit can duplicate a job, never lose one; consumers are
idempotent by delivery id.

Waking: a relay sleeps until rows commit (gateway.outbox_wake: PostgreSQL's NOTIFY from the
outbox trigger, heard on a LISTEN connection; in-process wake-ups on SQLite), and polls the
outbox only as a sweeper: every `sweep_interval` while it is listening, every `poll_interval`
otherwise (SQLite, or while the LISTEN connection is being re-established).

Topics: `delivery.ready` (a package copy for a recipient, also written by an operator's resend)
and `notice.ready` (a notice for an original sender, e.g. an acknowledgement).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ..db import Database, utcnow
from ..outbox import OutboxMessage
from ..outbox_wake import OutboxListener, on_outbox_commit
from ..uow import write_session
from .jobs import DeliveryJob, MalformedJob
from .queue import DeliveryQueue
from .repository import DeliveryRepository

log = logging.getLogger(__name__)

TOPICS = ("delivery.ready", "notice.ready")


class RelayFatal(RuntimeError):
    """The database or the broker stayed unusable for longer than the configured limit."""


def job_for(row: OutboxMessage) -> DeliveryJob:
    p = row.payload or {}
    try:
        return DeliveryJob(
            delivery_id=str(p["delivery_id"]),
            package_id=str(p["package_id"]),
            recipient=str(p["recipient"]),
            attempt=int(p.get("attempt") or 1),
            priority=max(0, min(4, int(p.get("priority") or 0))),
            kind=str(p.get("kind") or "document"),
            request_id=p["request_id"] if isinstance(p.get("request_id"), str) else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedJob(f"outbox row {row.id}: {type(exc).__name__}: {exc}") from None


class Relay:
    def __init__(
        self,
        db: Database,
        queue: DeliveryQueue,
        *,
        batch_size: int = 100,
        poll_interval: float = 0.25,
        sweep_interval: float = 5.0,
        fatal_after: float = 120.0,
    ) -> None:
        self.db = db
        self.queue = queue
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.sweep_interval = max(sweep_interval, poll_interval)
        self.fatal_after = fatal_after
        self.published = 0
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self.listener = OutboxListener(db.engine, self.wake) if db.dialect == "postgresql" else None

    def wake(self) -> None:
        self._wake.set()

    async def _pending(self) -> bool:
        async with self.db.read_session() as session:
            rows = await DeliveryRepository(session).claim_outbox_peek()
        return rows

    async def run_once(self, *, peek: bool = True) -> int:
        """Publish one batch; returns how many rows were published. `peek`: look first with
        a plain read, so that an idle sweep takes no lock (a wake-up knows rows committed)."""
        if peek and not await self._pending():
            return 0
        async with write_session(self.db) as session:
            rows = await DeliveryRepository(session).claim_outbox(self.batch_size)
            if not rows:
                return 0
            jobs: list[DeliveryJob] = []
            now = utcnow()
            for row in rows:
                row.attempts += 1
                if row.topic not in TOPICS:
                    log.error("outbox row %s has unknown topic %r; skipped", row.id, row.topic)
                    row.published_at = now
                    continue
                try:
                    job = job_for(row)
                    jobs.append(job)
                    log.info(
                        "relaying %s %s to %s",
                        job.kind,
                        job.delivery_id,
                        job.recipient,
                        extra={
                            "request_id": job.request_id,
                            "delivery_id": job.delivery_id,
                            "package_id": job.package_id,
                            "recipient": job.recipient,
                        },
                    )
                except MalformedJob as exc:
                    log.error("%s; skipped", exc.reason)
                    row.published_at = now
                    continue
                row.published_at = now
            jobs = await self._with_work(session, jobs)
            if jobs:
                await self.queue.publish(session, jobs)
        self.published += len(jobs)
        if jobs:
            self.queue.wake()
        return len(rows)

    async def _with_work(self, session, jobs: list[DeliveryJob]) -> list[DeliveryJob]:  # type: ignore[no-untyped-def]
        """Queue only what needs work (issue 14): a job for a copy already in a poll-mode
        inbox, or no longer pending, would be a no-op for the worker; its row is marked
        published like the others. Notices always go."""
        copies = [j.delivery_id for j in jobs if j.kind != "notice"]
        keep = await DeliveryRepository(session).copies_needing_work(copies)
        return [j for j in jobs if j.kind == "notice" or j.delivery_id in keep]

    @property
    def idle_wait(self) -> float:
        """How long to sleep when no wake-up comes: a sweep while LISTEN works, else a poll."""
        listening = self.listener is not None and self.listener.listening
        return self.sweep_interval if listening else self.poll_interval

    async def run(self, stop_event: asyncio.Event) -> None:
        """Relay until `stop_event`; raise RelayFatal after `fatal_after` s of failures."""
        forget = on_outbox_commit(self.wake)
        listening = (
            asyncio.create_task(self.listener.run(stop_event), name="outbox-listener")
            if self.listener is not None
            else None
        )
        try:
            await self._loop(stop_event)
        finally:
            forget()
            if listening is not None:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listening

    async def _loop(self, stop_event: asyncio.Event) -> None:
        failing_since: float | None = None
        pause = 0.2
        log.info("outbox relay started (%s queue)", self.queue.name)
        woken = False
        while not stop_event.is_set():
            self._wake.clear()  # before the batch: a commit heard during it is not lost
            try:
                n = await self.run_once(peek=not woken)
                failing_since, pause, self.last_error = None, 0.2, None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                now = time.monotonic()
                failing_since = failing_since or now
                log.warning("relay batch failed (%s); retrying in %.1fs", self.last_error, pause)
                if now - failing_since > self.fatal_after:
                    raise RelayFatal(
                        f"relay failing for {now - failing_since:.0f}s: {exc}"
                    ) from exc
                await _wait(stop_event, pause)
                pause = min(pause * 2, 5.0)
                continue
            if n >= self.batch_size:
                woken = True  # more rows are waiting
                continue
            await _wait_any(stop_event, self._wake, self.idle_wait)
            woken = self._wake.is_set()
        log.info("outbox relay stopped (%d published)", self.published)


async def _wait(event: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)


async def _wait_any(a: asyncio.Event, b: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
    waiters = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
