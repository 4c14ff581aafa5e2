"""Running the relay and workers: in the server process (app lifespan) or alone
(`gateway relay`, `gateway worker`).

`DeliveryRuntime(settings, db, relay=…, worker=…)` picks the transport (RabbitMQ when
`broker_url` is set, else the database queue), starts the relay and/or the consumer as tasks and
stops them gracefully (in-flight jobs finish within `worker_grace_seconds` or go back to the
queue). A watchdog checks the database (and the broker connection) every few seconds; when one
stays unusable for `delivery_fatal_after_seconds`, `fatal` is set and `wait()` returns, so the
stand-alone commands exit non-zero and the orchestrator restarts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy import text

from ..db import Database
from ..settings import Settings
from . import config
from .queue import DbQueue, DeliveryQueue, RabbitQueue
from .relay import Relay
from .service import DeliveryHandler

log = logging.getLogger(__name__)


def make_queue(settings: Settings, db: Database) -> DeliveryQueue:
    if settings.embedded_queue:
        return DbQueue(db, settings)
    return RabbitQueue(settings)


class DeliveryRuntime:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        relay: bool,
        worker: bool,
        concurrency: int | None = None,
        queue: DeliveryQueue | None = None,
        watchdog_interval: float = 2.0,
    ) -> None:
        self.settings = settings
        self.db = db
        self.run_relay = relay
        self.run_worker = worker
        self.concurrency = concurrency or settings.worker_concurrency
        self.queue = queue or make_queue(settings, db)
        self.watchdog_interval = watchdog_interval
        self.stop_event = asyncio.Event()
        self.started = asyncio.Event()
        self.consumer_started = asyncio.Event()
        self.fatal: str | None = None
        self.relay: Relay | None = None
        self.handler: DeliveryHandler | None = None
        self.client = config.push_client(settings, self.concurrency) if worker else None
        self._tasks: list[asyncio.Task[None]] = []
        self._start_task: asyncio.Task[None] | None = None
        self._done = asyncio.Event()
        self._db_ok = True

    # lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect the queue (retrying up to the fatal limit) and start the tasks. Raises
        when the broker cannot be reached within the limit."""
        await self.queue.start()
        if self.run_relay:
            self.relay = Relay(
                self.db,
                self.queue,
                batch_size=self.settings.relay_batch_size,
                poll_interval=self.settings.relay_poll_interval,
                sweep_interval=self.settings.relay_sweep_interval,
                fatal_after=self.settings.delivery_fatal_after_seconds,
            )
            self._spawn(self.relay.run(self.stop_event), "relay")
        if self.run_worker:
            assert self.client is not None
            self.handler = DeliveryHandler(
                self.db,
                self.settings,
                client=self.client,
                guard=config.endpoint_guard(self.settings),
                policy=config.retry_policy(self.settings),
            )
            self._spawn(
                self.queue.consume(
                    self.handler,
                    stop_event=self.stop_event,
                    concurrency=self.concurrency,
                    started=self.consumer_started,
                ),
                "worker",
            )
        self._spawn(self._watchdog(), "watchdog")
        self.started.set()

    def start_background(self) -> asyncio.Task[None]:
        """For the server: start without blocking the lifespan (a broker that is down at
        start-up shows in /readyz instead of keeping the API from starting)."""

        async def run() -> None:
            try:
                await self.start()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._fail(f"delivery runtime did not start: {exc}")

        task = asyncio.create_task(run(), name="delivery-start")
        self._start_task = task
        return task

    def _spawn(self, coro, name: str) -> None:  # type: ignore[no-untyped-def]
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("delivery %s stopped with an error", name)
                self._fail(f"{name}: {type(exc).__name__}: {exc}")

        self._tasks.append(asyncio.create_task(guarded(), name=f"delivery-{name}"))

    def _fail(self, reason: str) -> None:
        if self.fatal is None:
            self.fatal = reason
        log.error("delivery runtime fatal: %s", reason)
        self._done.set()

    async def _watchdog(self) -> None:
        limit = self.settings.delivery_fatal_after_seconds
        bad_since: float | None = None
        while not self.stop_event.is_set():
            problems = []
            try:
                async with asyncio.timeout(max(self.watchdog_interval * 2, 5)):
                    async with self.db.engine.connect() as conn:
                        await conn.execute(text("SELECT 1"))
                self._db_ok = True
            except Exception as exc:
                self._db_ok = False
                problems.append(f"database: {type(exc).__name__}: {exc}")
            if not self.queue.connected:
                problems.append("broker: not connected")
            now = time.monotonic()
            if problems:
                bad_since = bad_since or now
                if now - bad_since > limit:
                    self._fail("; ".join(problems) + f" (for more than {limit:g}s)")
                    return
            else:
                bad_since = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), self.watchdog_interval)

    async def wait(self) -> None:
        """Until stopped or fatal."""
        stop = asyncio.ensure_future(self.stop_event.wait())
        done = asyncio.ensure_future(self._done.wait())
        try:
            await asyncio.wait([stop, done], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            done.cancel()

    async def stop(self) -> None:
        self.stop_event.set()
        if self._start_task is not None and not self._start_task.done():
            self._start_task.cancel()  # still connecting: nothing started yet
            await asyncio.gather(self._start_task, return_exceptions=True)
        if self._tasks:
            grace = self.settings.worker_grace_seconds + 15
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.client is not None:
            await self.client.aclose()
        await self.queue.close()

    # health ----------------------------------------------------------------------------
    @property
    def broker_ok(self) -> bool:
        return self.queue.connected

    def status(self) -> dict[str, object]:
        return {
            "transport": self.queue.name,
            "relay": self.run_relay,
            "worker": self.run_worker,
            "connected": self.queue.connected,
            "fatal": self.fatal,
            "relay_error": self.relay.last_error if self.relay else None,
        }


def start_delivery(settings: Settings, db: Database) -> DeliveryRuntime | None:
    """For the server's lifespan: the relay (`relay_in_process`) and the worker
    (`worker_in_process`, on by default only with the embedded database queue), started in
    the background. None when neither runs here."""
    relay, worker = settings.relay_in_process, settings.run_worker_in_process
    if not (relay or worker):
        return None
    runtime = DeliveryRuntime(settings, db, relay=relay, worker=worker)
    runtime.start_background()
    return runtime
