"""attempt_push: the guard, the client and the policy together (MockTransport, fake clock)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
from delivery_support import job

from gateway.delivery.backoff import RetryPolicy
from gateway.delivery.breaker import BreakerState, EndpointGuard
from gateway.delivery.push import PushClient, verify_push_headers
from gateway.delivery.push_attempt import PushTarget, attempt_push

URL = "https://so-tu-phap.example.gov.vn/inbox"
TARGET = PushTarget(URL, "secret", b"<edXML/>")
POLICY = RetryPolicy(jitter=0)


async def test_delivered_transient_permanent_and_breaker() -> None:
    statuses = iter([200, 503, 404] + [503] * 10)
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(next(statuses))

    guard = EndpointGuard(failure_threshold=3)
    async with PushClient(transport=httpx.MockTransport(handler)) as client:
        go = lambda j: attempt_push(j, TARGET, client=client, guard=guard, policy=POLICY)  # noqa: E731
        a = await go(job(1))
        assert a.result.kind == "done" and a.called
        a = await go(job(1))
        assert a.result.kind == "retry" and a.result.count_attempt
        assert a.result.delay == timedelta(seconds=30)
        a = await go(job(1))
        assert a.result.kind == "dead" and "404" in a.result.reason
        for _ in range(3):
            await go(job(2))
        assert guard.state(URL) is BreakerState.OPEN
        calls = len(requests)
        a = await go(job(3))
        assert not a.called and len(requests) == calls  # parked: the endpoint is not called
        assert a.result.kind == "retry" and not a.result.count_attempt
        assert a.result.delay is not None and a.result.delay >= timedelta(seconds=55)
        # out of time budget while parked → dead
        a = await attempt_push(
            job(3), TARGET, client=client, guard=guard, policy=POLICY, elapsed=timedelta(hours=24)
        )
        assert a.result.kind == "dead"
    assert all(verify_push_headers("secret", r.content, r.headers) for r in requests)
    assert "secret" not in repr(TARGET)


async def test_retry_after_and_jitter_pass_through() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "300"})

    async with PushClient(transport=httpx.MockTransport(handler)) as client:
        a = await attempt_push(
            job(1),
            TARGET,
            client=client,
            guard=EndpointGuard(),
            policy=RetryPolicy(),
            rng=random.Random(3),
        )
    assert a.result.delay == timedelta(seconds=300)
    assert a.outcome is not None and a.outcome.finished_at <= datetime.now(UTC)
