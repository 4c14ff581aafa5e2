"""The consuming loop: urgent first, ack only after the outcome is safe, graceful stop.

`run_consumer` knows nothing about what a job does; it feeds `DeliveryJob`s to a handler and
acts on its `HandlerResult`:

- done   → ack;
- retry  → publish the job (attempt + 1, or the same attempt when `count_attempt=False`) to the
           retry tier with confirms, *then* ack;
- dead   → publish to the dead-letter queue with confirms, *then* ack;
- a body that is not a job → dead-letter queue (raw bytes and the parse error), then ack;
- the handler raising or overrunning `handler_timeout` → same attempt again after
  `error_delay` (without burning an attempt); after `max_handler_errors` such errors in a row
  the job is dead-lettered.

If the process dies between the handler and the ack, RabbitMQ redelivers the message; handlers
must therefore be idempotent by delivery id (a redelivered job whose delivery is done returns
`done`). If a republish cannot be confirmed after a few tries the message is returned to its
queue (nack requeue) rather than acknowledged — never lost, at worst handled twice.

Priority. Both work queues are consumed on one channel with a per-consumer prefetch, into a
local priority buffer keyed by (urgent? 0 : 1, arrival). A free worker always takes the oldest
buffered urgent job before any normal one, and the urgent consumer has its own prefetch credit,
so an urgent job never waits behind the normal backlog — neither in RabbitMQ nor in the buffer.
It can wait for at most one in-flight job per worker to finish (no pre-emption). The buffer
holds at most 2 × prefetch messages.

Graceful stop (`stop_event` set, e.g. by SIGTERM via `install_signal_handlers`): cancel both
consumers, nack(requeue=True) everything buffered but not started, let in-flight jobs finish
within `grace` seconds, then close the channel (anything still unacknowledged — a job cancelled
after the grace period — is returned by RabbitMQ).

Reconnects. The consumer channel is robust: after a reconnect aio-pika re-declares the queues,
re-applies the prefetch and restarts both consumers. Messages buffered from the dead channel
cannot be acknowledged any more (RabbitMQ already requeued them), so they are dropped unhandled.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from .broker import Broker, PublishFailed, PublishReturned
from .jobs import DeliveryJob, HandlerResult, MalformedJob

log = logging.getLogger(__name__)

Handler = Callable[[DeliveryJob], Awaitable[HandlerResult]]

URGENT, NORMAL = 0, 1
ERRORS_HEADER = "gateway-handler-errors"


@dataclass
class ConsumerStats:
    received: int = 0
    done: int = 0
    retried: int = 0
    dead: int = 0
    malformed: int = 0
    handler_errors: int = 0
    returned: int = 0
    """Messages nacked back to their queue without being handled (shutdown, failed republish)."""
    stale: int = 0
    """Buffered messages dropped because their channel died (RabbitMQ redelivers them)."""
    abandoned: int = 0
    """In-flight jobs cancelled when the grace period ran out (RabbitMQ redelivers them)."""
    order: list[str] = field(default_factory=list, repr=False)
    """message ids in the order handling started (the last 1000), for tests and debugging."""


class _Consumer:
    def __init__(
        self,
        broker: Broker,
        handler: Handler,
        *,
        prefetch: int,
        concurrency: int,
        grace: float,
        handler_timeout: float | None,
        error_delay: timedelta,
        max_handler_errors: int,
        republish_tries: int,
    ) -> None:
        self.broker = broker
        self.handler = handler
        self.prefetch = prefetch
        self.concurrency = concurrency
        self.grace = grace
        self.handler_timeout = handler_timeout
        self.error_delay = error_delay
        self.max_handler_errors = max_handler_errors
        self.republish_tries = republish_tries
        self.stats = ConsumerStats()
        self.buffer: asyncio.PriorityQueue[tuple[tuple[int, int], AbstractIncomingMessage]] = (
            asyncio.PriorityQueue()
        )
        self.seq = itertools.count()
        self.stopping = False
        self.busy: set[asyncio.Task[Any]] = set()

    # intake ----------------------------------------------------------------------------
    def on_message(self, urgency: int) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
        async def callback(message: AbstractIncomingMessage) -> None:
            if self.stopping:
                await self._return(message)
                return
            self.stats.received += 1
            self.buffer.put_nowait(((urgency, next(self.seq)), message))

        return callback

    # workers ---------------------------------------------------------------------------
    async def worker(self) -> None:
        me = asyncio.current_task()
        assert me is not None
        while not self.stopping:
            _, message = await self.buffer.get()
            if self.stopping:
                await self._return(message)
                break
            if _channel_closed(message):
                self.stats.stale += 1
                continue
            self.busy.add(me)
            try:
                await self.process(message)
            except asyncio.CancelledError:
                self.stats.abandoned += 1
                raise
            except Exception:  # never let one message kill a worker
                log.exception("unexpected error handling message %s", message.message_id)
                await self._return(message)
            finally:
                self.busy.discard(me)

    async def process(self, message: AbstractIncomingMessage) -> None:
        order = self.stats.order
        order.append(message.message_id or "?")
        if len(order) > 1000:
            del order[:-1000]
        try:
            job = DeliveryJob.from_bytes(message.body)
        except MalformedJob as exc:
            reason = exc.reason
            self.stats.malformed += 1
            log.warning(
                "malformed job %s from %s: %s", message.message_id, message.routing_key, reason
            )
            headers = {
                "gateway-original-routing-key": message.routing_key or "",
                "gateway-original-message-id": message.message_id or "",
            }
            if await self._republish(
                message,
                lambda: self.broker.publish_dead(message.body, reason, headers=headers),
            ):
                await self._ack(message)
            return

        previous_errors = _int_header(message, ERRORS_HEADER)
        errors = 0
        try:
            async with asyncio.timeout(self.handler_timeout):
                result = await self.handler(job)
        except TimeoutError:
            errors = previous_errors + 1
            result = self._handler_error(errors, f"handler timed out after {self.handler_timeout}s")
        except Exception as exc:
            log.exception("handler failed for delivery %s attempt %d", job.delivery_id, job.attempt)
            errors = previous_errors + 1
            result = self._handler_error(errors, f"handler error: {type(exc).__name__}")
        await self.act(message, job, result, errors)

    def _handler_error(self, errors: int, reason: str) -> HandlerResult:
        self.stats.handler_errors += 1
        if errors >= self.max_handler_errors:
            return HandlerResult.dead(f"{reason} ({errors} times in a row)")
        return HandlerResult("retry", reason, self.error_delay, count_attempt=False)

    async def act(
        self,
        message: AbstractIncomingMessage,
        job: DeliveryJob,
        result: HandlerResult,
        errors: int = 0,
    ) -> None:
        """`errors`: consecutive handler errors so far for this job (0 after a clean run)."""
        if result.kind == "done":
            self.stats.done += 1
            await self._ack(message)
            return
        if result.kind == "retry":
            assert result.delay is not None
            delay = result.delay
            again = job.next_attempt() if result.count_attempt else job
            headers = {ERRORS_HEADER: errors} if errors else None
            if await self._republish(
                message, lambda: self.broker.publish_retry(again, delay, headers=headers)
            ):
                self.stats.retried += 1
                log.info(
                    "delivery %s attempt %d: retry in %s (%s)",
                    job.delivery_id,
                    job.attempt,
                    delay,
                    result.reason,
                )
                await self._ack(message)
            return
        if await self._republish(message, lambda: self.broker.publish_dead(job, result.reason)):
            self.stats.dead += 1
            log.warning(
                "delivery %s attempt %d: dead-lettered (%s)",
                job.delivery_id,
                job.attempt,
                result.reason,
            )
            await self._ack(message)

    async def _republish(
        self, message: AbstractIncomingMessage, publish: Callable[[], Awaitable[object]]
    ) -> bool:
        """Publish with confirms, a few times; on failure return the message to its queue."""
        pause = 0.5
        for attempt in range(1, self.republish_tries + 1):
            try:
                await publish()
                return True
            except PublishReturned:
                log.error("republish of %s unroutable; topology broken?", message.message_id)
                break
            except PublishFailed as exc:
                log.warning(
                    "republish of %s failed (try %d/%d): %s",
                    message.message_id,
                    attempt,
                    self.republish_tries,
                    exc,
                )
                if attempt < self.republish_tries:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 10.0)
        await self._return(message)
        return False

    async def _ack(self, message: AbstractIncomingMessage) -> None:
        try:
            await message.ack()
        except Exception as exc:  # channel gone: RabbitMQ will redeliver; handlers are idempotent
            log.warning("could not ack %s (%s); it will be redelivered", message.message_id, exc)

    async def _return(self, message: AbstractIncomingMessage) -> None:
        try:
            await message.nack(requeue=True)
            self.stats.returned += 1
        except Exception as exc:
            log.debug("could not return %s (%s); the broker requeues it", message.message_id, exc)

    async def drain(self) -> None:
        while True:
            try:
                _, message = self.buffer.get_nowait()
            except asyncio.QueueEmpty:
                return
            if _channel_closed(message):
                self.stats.stale += 1
            else:
                await self._return(message)


def _channel_closed(message: AbstractIncomingMessage) -> bool:
    try:
        return message.channel.is_closed
    except Exception:
        return True


def _int_header(message: AbstractIncomingMessage, name: str) -> int:
    value = (message.headers or {}).get(name, 0)
    return value if isinstance(value, int) and value >= 0 else 0


async def run_consumer(
    broker: Broker,
    handler: Handler,
    *,
    prefetch: int = 8,
    stop_event: asyncio.Event,
    concurrency: int | None = None,
    grace: float = 30.0,
    handler_timeout: float | None = 300.0,
    error_delay: timedelta = timedelta(seconds=30),
    max_handler_errors: int = 10,
    republish_tries: int = 5,
    started: asyncio.Event | None = None,
) -> ConsumerStats:
    """Consume both work queues until `stop_event` is set, then stop gracefully.

    `prefetch` is per queue; `concurrency` (default `prefetch`) is how many jobs run at once.
    `started` (optional) is set once both consumers are registered. Returns the stats."""
    if prefetch < 1:
        raise ValueError("prefetch must be at least 1")
    consumer = _Consumer(
        broker,
        handler,
        prefetch=prefetch,
        concurrency=concurrency or prefetch,
        grace=grace,
        handler_timeout=handler_timeout,
        error_delay=error_delay,
        max_handler_errors=max_handler_errors,
        republish_tries=republish_tries,
    )
    if stop_event.is_set():
        return consumer.stats
    channel, declared = await broker.consumer_channel(prefetch)
    workers = [
        asyncio.create_task(consumer.worker(), name=f"delivery-worker-{i}")
        for i in range(consumer.concurrency)
    ]
    consuming: list[tuple[AbstractQueue, str]] = []
    try:
        # urgent first, so its backlog starts flowing before the normal one
        for queue, urgency in ((declared.urgent, URGENT), (declared.normal, NORMAL)):
            tag = await queue.consume(consumer.on_message(urgency), no_ack=False)
            consuming.append((queue, tag))
        if started is not None:
            started.set()
        log.info(
            "consuming %s and %s (prefetch %d each, %d workers)",
            declared.urgent.name,
            declared.normal.name,
            prefetch,
            consumer.concurrency,
        )
        await stop_event.wait()
    finally:
        consumer.stopping = True
        for queue, tag in consuming:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(queue.cancel(tag), timeout=5)
        for task in workers:
            if task not in consumer.busy:
                task.cancel()
        await consumer.drain()
        busy = [t for t in workers if not t.done()]
        if busy:
            _, pending = await asyncio.wait(busy, timeout=grace)
            for task in pending:
                log.warning("job still running after %ss grace; abandoning it", grace)
                task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await consumer.drain()
        with contextlib.suppress(Exception):
            await channel.close()
        log.info("consumer stopped: %s", consumer.stats)
    return consumer.stats


def install_signal_handlers(
    stop_event: asyncio.Event,
    signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
) -> Callable[[], None]:
    """Set `stop_event` on SIGTERM/SIGINT. Returns a function that removes the handlers."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    previous: dict[signal.Signals, Any] = {}
    for sig in signals:
        try:
            loop.add_signal_handler(sig, stop_event.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            previous[sig] = signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop_event.set))

    def remove() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return remove
