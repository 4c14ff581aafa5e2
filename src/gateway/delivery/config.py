"""Delivery objects built from `Settings`: retry policy, topology, endpoint guard, push client."""

from __future__ import annotations

from datetime import timedelta

from ..settings import Settings
from .backoff import RetryPolicy
from .breaker import EndpointGuard
from .push import PushClient
from .topology import Topology


def retry_tiers(settings: Settings) -> tuple[timedelta, ...]:
    try:
        values = [float(v) for v in settings.delivery_retry_tiers.split(",") if v.strip()]
    except ValueError:
        raise ValueError(
            f"GATEWAY_DELIVERY_RETRY_TIERS must be seconds, comma-separated: "
            f"{settings.delivery_retry_tiers!r}"
        ) from None
    return tuple(timedelta(milliseconds=round(v * 1000)) for v in values)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        tiers=retry_tiers(settings),
        max_total=timedelta(seconds=settings.delivery_max_total_seconds),
        jitter=settings.delivery_jitter,
        max_attempts=settings.delivery_max_attempts,
    )


def topology(settings: Settings) -> Topology:
    return Topology(prefix=settings.broker_prefix, retry_tiers=retry_tiers(settings))


def endpoint_guard(settings: Settings) -> EndpointGuard:
    return EndpointGuard(
        limit=settings.push_endpoint_concurrency,
        failure_threshold=settings.push_breaker_failures,
        cooldown=timedelta(seconds=settings.push_breaker_cooldown_seconds),
        max_cooldown=timedelta(
            seconds=max(
                settings.push_breaker_max_cooldown_seconds, settings.push_breaker_cooldown_seconds
            )
        ),
    )


def push_client(settings: Settings, concurrency: int | None = None) -> PushClient:
    """The worker's one push client; its pool holds a connection per job run at once."""
    return PushClient(
        connect_timeout=settings.push_connect_timeout,
        read_timeout=settings.push_read_timeout,
        write_timeout=settings.push_read_timeout,
        concurrency=concurrency or settings.worker_concurrency,
    )
