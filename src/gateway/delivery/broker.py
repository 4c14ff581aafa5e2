"""The RabbitMQ side of delivery: a robust connection, a confirmed publisher, consumer channels.

Every publish is persistent, mandatory, confirmed by the broker and bounded by a timeout; any
doubt (nack, unroutable return, timeout, connection down) raises a `PublishFailed` so the caller
keeps its own copy (the outbox row stays unpublished, the consumed job stays unacknowledged) and
tries again later. A timed-out publish may still have reached the broker, so a job can arrive
twice — consumers are idempotent by delivery id, and that is the price of never losing one.

The connection is `connect_robust`: after a broker restart or a dropped socket aio-pika reopens
the channels, re-applies QoS, re-declares the exchanges, queues and bindings declared on them
(so the topology comes back even if a queue was deleted meanwhile) and restarts consumers.
Publishes issued while it reconnects wait for the channel inside their timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection
from yarl import URL

from .jobs import DeliveryJob
from .topology import RETRY_TIER_HEADER, Declared, Topology, routing_key_for

log = logging.getLogger(__name__)

JSON = "application/json"


class PublishFailed(Exception):
    """The broker did not confirm the message; the caller must keep it and try again."""

    kind = "failed"


class PublishNacked(PublishFailed):
    kind = "nacked"


class PublishReturned(PublishFailed):
    """Unroutable (no queue bound for it): a topology problem, not a transient one."""

    kind = "returned"


class PublishTimeout(PublishFailed):
    kind = "timeout"


class BrokerUnavailable(PublishFailed):
    kind = "unavailable"


def redact(url: str) -> str:
    """The broker URL without its password, for logs."""
    parsed = URL(url)
    return str(parsed.with_password("***")) if parsed.password else str(parsed)


def _header_text(value: str, limit: int = 500) -> str:
    return "".join(c if c.isprintable() else " " for c in value)[:limit]


class Broker:
    """One robust connection: a publisher channel with confirms, and consumer channels on
    demand. Use `async with Broker(url) as broker:` or `connect()` / `close()`."""

    def __init__(
        self,
        url: str,
        *,
        topology: Topology | None = None,
        heartbeat: int = 30,
        connect_timeout: float = 10.0,
        publish_timeout: float = 10.0,
        reconnect_interval: float = 2.0,
        connection_name: str = "gateway-delivery",
    ) -> None:
        self.url = url
        self.topology = topology or Topology()
        self.heartbeat = heartbeat
        self.connect_timeout = connect_timeout
        self.publish_timeout = publish_timeout
        self.reconnect_interval = reconnect_interval
        self.connection_name = connection_name
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._declared: Declared | None = None
        self.reconnects = 0

    # lifecycle -------------------------------------------------------------------------
    async def connect(self) -> None:
        try:
            self._connection = await aio_pika.connect_robust(
                self.url,
                timeout=self.connect_timeout,
                heartbeat=self.heartbeat,
                reconnect_interval=self.reconnect_interval,
                client_properties={"connection_name": self.connection_name},
            )
        except (TimeoutError, OSError, aiormq.exceptions.AMQPError) as exc:
            raise BrokerUnavailable(
                f"cannot connect to {redact(self.url)}: {type(exc).__name__}: {exc}"
            ) from exc
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        try:
            self._channel = await self._connection.channel(
                publisher_confirms=True, on_return_raises=True
            )
            self._declared = await self.topology.declare(self._channel)
        except BaseException:
            # e.g. PRECONDITION_FAILED: the queues exist with other arguments
            await self.close()
            raise
        log.info("connected to RabbitMQ at %s (prefix %s)", redact(self.url), self.topology.prefix)

    def _on_reconnect(self, *_: Any) -> None:
        self.reconnects += 1
        log.warning(
            "reconnected to RabbitMQ at %s (reconnect #%d)", redact(self.url), self.reconnects
        )

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        self._connection = self._channel = self._declared = None

    async def __aenter__(self) -> Broker:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise BrokerUnavailable("the broker is not connected")
        return self._connection

    @property
    def declared(self) -> Declared:
        if self._declared is None:
            raise BrokerUnavailable("the broker is not connected")
        return self._declared

    @property
    def is_connected(self) -> bool:
        conn = self._connection
        return conn is not None and not conn.is_closed and conn.connected.is_set()

    async def consumer_channel(self, prefetch: int) -> tuple[AbstractRobustChannel, Declared]:
        """A new channel for consuming, with per-consumer prefetch, and the topology declared on
        it (so aio-pika restores both the queues and their consumers after a reconnect)."""
        channel = await self.connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=prefetch)
        declared = await self.topology.declare(channel)
        return channel, declared

    # publishing ------------------------------------------------------------------------
    async def publish(
        self,
        job: DeliveryJob,
        *,
        routing_key: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - a bound on every publish is the point
    ) -> None:
        """Publish a job to its work queue (urgent or normal by priority unless told)."""
        key = routing_key or routing_key_for(job.priority)
        await self._publish("work", self._message(job), key, timeout)

    async def publish_retry(
        self,
        job: DeliveryJob,
        delay: timedelta,
        *,
        headers: dict[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - a bound on every publish is the point
    ) -> timedelta:
        """Park `job` (already carrying its next attempt number) in the retry tier serving
        `delay`; it comes back to its work queue after `delay` (capped by the tier). Returns
        the tier used."""
        if delay <= timedelta(0):
            raise ValueError("a retry delay must be positive")
        tier = self.topology.tier_for(delay)
        expiration = min(delay, tier)
        message = self._message(
            job,
            headers={
                **(headers or {}),
                RETRY_TIER_HEADER: str(int(tier / timedelta(milliseconds=1))),
            },
            expiration=expiration,
        )
        await self._publish("retry", message, routing_key_for(job.priority), timeout)
        return tier

    async def publish_dead(
        self,
        job: DeliveryJob | bytes,
        reason: str,
        *,
        headers: dict[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - a bound on every publish is the point
    ) -> None:
        """Send a job that gave up — or raw bytes that were never a job — to the dead queue,
        with the reason in a `gateway-dead-reason` header."""
        extra = {
            **(headers or {}),
            "gateway-dead-reason": _header_text(reason),
            "gateway-dead-at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if isinstance(job, DeliveryJob):
            message = self._message(job, headers=extra)
            key = routing_key_for(job.priority)
        else:
            message = aio_pika.Message(
                bytes(job),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers=extra,
                timestamp=datetime.now(UTC),
                app_id="gateway",
            )
            key = "malformed"
        await self._publish("dead", message, key, timeout)

    def _message(
        self,
        job: DeliveryJob,
        *,
        headers: dict[str, Any] | None = None,
        expiration: timedelta | None = None,
    ) -> aio_pika.Message:
        return aio_pika.Message(
            job.to_bytes(),
            content_type=JSON,
            content_encoding="utf-8",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=job.message_id,
            type=job.kind,
            timestamp=datetime.now(UTC),
            app_id="gateway",
            headers=headers or {},
            expiration=expiration,
        )

    async def _publish(
        self,
        which: str,
        message: aio_pika.Message,
        routing_key: str,
        timeout: float | None,  # noqa: ASYNC109
    ) -> None:
        if self._channel is None or self._declared is None:
            raise BrokerUnavailable("the broker is not connected")
        exchange = {
            "work": self._declared.work_exchange,
            "retry": self._declared.retry_exchange,
            "dead": self._declared.dead_exchange,
        }[which]
        limit = self.publish_timeout if timeout is None else timeout
        what = f"{which} message {message.message_id or '(raw)'} key {routing_key!r}"
        channel = self._channel
        last: BaseException | None = None
        try:
            async with asyncio.timeout(limit):
                while True:
                    try:
                        await channel.ready()  # waits out a reconnect, within the timeout
                        await exchange.publish(message, routing_key=routing_key, mandatory=True)
                        return
                    except aiormq.exceptions.DeliveryError:
                        raise  # nack or return: the broker answered; retrying won't help
                    except _CONNECTION_ERRORS as exc:
                        # The connection died under this publish (the robust connection may not
                        # have noticed yet). Whether the broker got it is unknown; publishing
                        # again after the reconnect risks a duplicate, never a loss.
                        last = exc
                        if self._connection is None or self._connection.is_closed:
                            break  # closed by us: no reconnect is coming
                        await asyncio.sleep(0.1)
        except TimeoutError as exc:
            detail = f" (last error: {type(last).__name__}: {last})" if last else ""
            raise PublishTimeout(f"no confirm within {limit:g}s for {what}{detail}") from exc
        except aiormq.exceptions.PublishError as exc:
            raise PublishReturned(f"unroutable {what}: {exc}") from exc
        except aiormq.exceptions.DeliveryError as exc:
            raise PublishNacked(f"broker refused {what}: {exc}") from exc
        raise BrokerUnavailable(f"could not publish {what}: {type(last).__name__}: {last}")


_CONNECTION_ERRORS = (aiormq.exceptions.AMQPError, ConnectionError, OSError, RuntimeError)
