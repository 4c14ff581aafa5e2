"""One push attempt for one job: endpoint guard + push client + retry policy → HandlerResult.

The job handler the lead writes around the database is then only:

    async def handle(job: DeliveryJob) -> HandlerResult:
        delivery = await load(job.delivery_id)             # idempotency first
        if delivery is None or delivery.state in DONE_STATES:
            return HandlerResult.done("already done")
        target = PushTarget(endpoint.url, endpoint.secret, relay_parts(pkg, ORGAN))
        await mark_sent(delivery)                           # sent_at (commit)
        attempt = await attempt_push(job, target, client=client, guard=guard, policy=policy,
                                     elapsed=now() - delivery.created_at)
        await record(delivery, attempt)                     # delivered_at / failed (commit)
        return attempt.result

Decisions encoded here:
- a parked endpoint (circuit open) or a saturated one (all slots busy) is not called, and the
  job is re-queued *without* burning an attempt — the recipient did not fail this job; it waits
  at least until the breaker's `until`. Only the real time budget (`elapsed`) can make it give
  up meanwhile, so pass `elapsed` (now − the delivery's creation time).
- the breaker counts transient outcomes (timeouts, refused, 408/429/5xx) as failures; 2xx and
  permanent 4xx mean the endpoint is alive.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .backoff import RetryPolicy
from .breaker import EndpointBusy, EndpointGuard, EndpointParked
from .jobs import DeliveryJob, HandlerResult
from .push import CONTENT_TYPE, Body, PushClient, PushOutcome, result_for_outcome


@dataclass(frozen=True)
class PushTarget:
    endpoint_url: str
    secret: str = field(repr=False)
    body: Body = field(repr=False)
    """What to send: the stored package with the gateway's TraceHeader, as bytes or as the
    pieces of gateway.edxml.trace.relay_parts (slices of the stored bytes, sent in order)."""
    content_type: str = CONTENT_TYPE


@dataclass(frozen=True)
class AttemptResult:
    result: HandlerResult
    outcome: PushOutcome | None
    """None when the endpoint was not called (parked or busy)."""

    @property
    def called(self) -> bool:
        return self.outcome is not None


async def attempt_push(
    job: DeliveryJob,
    target: PushTarget,
    *,
    client: PushClient,
    guard: EndpointGuard,
    policy: RetryPolicy,
    elapsed: timedelta | None = None,
    rng: random.Random | None = None,
) -> AttemptResult:
    try:
        async with guard.slot(target.endpoint_url) as permit:
            outcome = await client.push(
                target.endpoint_url,
                target.body,
                delivery_id=job.delivery_id,
                secret=target.secret,
                content_type=target.content_type,
            )
            permit.record(outcome.endpoint_healthy)
    except (EndpointParked, EndpointBusy) as unavailable:
        if elapsed is not None and policy.next_delay(job.attempt, elapsed=elapsed) is None:
            return AttemptResult(
                HandlerResult.dead(f"gave up after {elapsed}: {unavailable}"), None
            )
        wait = unavailable.until - datetime.now(UTC)
        floor = policy.tiers[0] if isinstance(unavailable, EndpointParked) else timedelta(seconds=1)
        delay = max(wait, floor)
        # spread the parked backlog over up to one more jitter fraction of the wait
        delay += delay * policy.jitter * (rng or random).random()
        delay = min(delay, policy.tiers[-1])
        return AttemptResult(
            HandlerResult.retry(delay, str(unavailable), count_attempt=False), None
        )
    return AttemptResult(
        result_for_outcome(outcome, job, policy, elapsed=elapsed, rng=rng), outcome
    )
