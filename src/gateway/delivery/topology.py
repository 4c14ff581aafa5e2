"""RabbitMQ topology for deliveries, declared idempotently under a name prefix.

```
                      routing key "urgent"  ┌──────────────────────────────┐
 relay ──► <p>.work ─────────────────────► │ <p>.deliveries.urgent (quorum)│──┐
          (direct)   routing key "normal"   ├──────────────────────────────┤  ├─► workers
                     ─────────────────────► │ <p>.deliveries.normal (quorum)│──┘   (urgent
                                            └──────────────────────────────┘       first)
 worker ──► <p>.retry (headers: retry-tier=<ms>) ──► <p>.retry.<s>s (quorum, x-message-ttl,
            routing key kept                         DLX = <p>.work, at-least-once)
                                                      └── on expiry ──► <p>.work (same key)
 worker ──► <p>.dead (fanout) ──► <p>.deliveries.dead (quorum)
            work queues also dead-letter there (x-delivery-limit: a job that crashes workers)
```

Choices (RabbitMQ 3.10):

- Quorum queues do not support message priorities before 4.0, so priority is two work queues
  and a consumer that always prefers the urgent one (see `worker_runtime`).
- Retry tiers are quorum queues too. 3.10 added message TTL (per queue and per message) to
  quorum queues and *at-least-once* dead-lettering (`x-dead-letter-strategy: at-least-once`,
  needs `x-overflow: reject-publish` and the `stream_queue` feature flag): the expired message
  stays in the retry queue until the work queue has confirmed it. Classic queues dead-letter
  at-most-once (a crash or an unavailable target loses the message) and are not replicated, so
  they would be the weak link in "impossible to lose". Verified against 3.10.8 by
  tests/delivery/test_delivery_broker.py (expiry at queue TTL and per-message expiration, routing
  key preserved).
- Publishing to a retry tier goes through one headers exchange keyed on a `retry-tier` header,
  so the message keeps the work routing key it was published with; when it expires it is
  dead-lettered to `<p>.work` with that same key and lands back in the right work queue. (Header
  names starting with `x-` are ignored by headers exchanges, hence `retry-tier`.)
- Changing a queue's arguments (a tier's TTL, the delivery limit) needs the old queue drained
  and deleted: RabbitMQ refuses a re-declaration with different arguments
  (PRECONDITION_FAILED). Adding a tier just adds a queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from .backoff import DEFAULT_TIERS, tier_for_delay
from .jobs import URGENT_MIN_PRIORITY

URGENT_KEY = "urgent"
NORMAL_KEY = "normal"
RETRY_TIER_HEADER = "retry-tier"


def routing_key_for(priority: int) -> str:
    return URGENT_KEY if priority >= URGENT_MIN_PRIORITY else NORMAL_KEY


def _ms(delay: timedelta) -> int:
    return int(delay / timedelta(milliseconds=1))


def _tier_label(tier: timedelta) -> str:
    ms = _ms(tier)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


@dataclass(frozen=True)
class Declared:
    work_exchange: AbstractExchange
    retry_exchange: AbstractExchange
    dead_exchange: AbstractExchange
    urgent: AbstractQueue
    normal: AbstractQueue
    dead: AbstractQueue
    retry: dict[timedelta, AbstractQueue] = field(default_factory=dict)


@dataclass(frozen=True)
class Topology:
    prefix: str = "gateway"
    retry_tiers: tuple[timedelta, ...] = DEFAULT_TIERS
    delivery_limit: int | None = 20
    """Quorum `x-delivery-limit` on the work queues: a job redelivered this many times (it keeps
    killing workers before they can ack) is dead-lettered instead of looping forever. Returns on
    graceful shutdown count too, so keep it well above a handful."""

    def __post_init__(self) -> None:
        if not self.prefix or any(c.isspace() for c in self.prefix):
            raise ValueError("the prefix must be a non-empty name without spaces")
        if not self.retry_tiers:
            raise ValueError("at least one retry tier is needed")

    # names -----------------------------------------------------------------------------
    @property
    def work_exchange(self) -> str:
        return f"{self.prefix}.work"

    @property
    def retry_exchange(self) -> str:
        return f"{self.prefix}.retry"

    @property
    def dead_exchange(self) -> str:
        return f"{self.prefix}.dead"

    @property
    def urgent_queue(self) -> str:
        return f"{self.prefix}.deliveries.urgent"

    @property
    def normal_queue(self) -> str:
        return f"{self.prefix}.deliveries.normal"

    @property
    def dead_queue(self) -> str:
        return f"{self.prefix}.deliveries.dead"

    def retry_queue(self, tier: timedelta) -> str:
        return f"{self.prefix}.retry.{_tier_label(tier)}"

    def tier_for(self, delay: timedelta) -> timedelta:
        return tier_for_delay(self.retry_tiers, delay)

    @property
    def queue_names(self) -> list[str]:
        return [
            self.urgent_queue,
            self.normal_queue,
            self.dead_queue,
            *(self.retry_queue(t) for t in self.retry_tiers),
        ]

    @property
    def exchange_names(self) -> list[str]:
        return [self.work_exchange, self.retry_exchange, self.dead_exchange]

    # arguments -------------------------------------------------------------------------
    def work_queue_arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": self.dead_exchange,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }
        if self.delivery_limit is not None:
            args["x-delivery-limit"] = self.delivery_limit
        return args

    def retry_queue_arguments(self, tier: timedelta) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-message-ttl": _ms(tier),
            "x-dead-letter-exchange": self.work_exchange,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    def dead_queue_arguments(self) -> dict[str, Any]:
        return {"x-queue-type": "quorum"}

    def retry_binding(self, tier: timedelta) -> dict[str, Any]:
        return {"x-match": "all", RETRY_TIER_HEADER: str(_ms(tier))}

    # declaration -----------------------------------------------------------------------
    async def declare(self, channel: AbstractChannel) -> Declared:
        """Declare everything (idempotent: same names and arguments are a no-op)."""
        work = await channel.declare_exchange(
            self.work_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )
        retry = await channel.declare_exchange(
            self.retry_exchange, aio_pika.ExchangeType.HEADERS, durable=True
        )
        dead_x = await channel.declare_exchange(
            self.dead_exchange, aio_pika.ExchangeType.FANOUT, durable=True
        )
        dead = await channel.declare_queue(
            self.dead_queue, durable=True, arguments=self.dead_queue_arguments()
        )
        await dead.bind(dead_x, routing_key="")
        urgent = await channel.declare_queue(
            self.urgent_queue, durable=True, arguments=self.work_queue_arguments()
        )
        await urgent.bind(work, routing_key=URGENT_KEY)
        normal = await channel.declare_queue(
            self.normal_queue, durable=True, arguments=self.work_queue_arguments()
        )
        await normal.bind(work, routing_key=NORMAL_KEY)
        tiers: dict[timedelta, AbstractQueue] = {}
        for tier in self.retry_tiers:
            queue = await channel.declare_queue(
                self.retry_queue(tier), durable=True, arguments=self.retry_queue_arguments(tier)
            )
            await queue.bind(retry, routing_key="", arguments=self.retry_binding(tier))
            tiers[tier] = queue
        return Declared(work, retry, dead_x, urgent, normal, dead, tiers)

    async def delete(self, channel: AbstractChannel) -> None:
        """Delete every queue and exchange of this prefix (tests and decommissioning only:
        messages still in the queues are lost)."""
        for name in self.queue_names:
            await channel.queue_delete(name, if_unused=False, if_empty=False)
        for name in self.exchange_names:
            await channel.exchange_delete(name, if_unused=False)
