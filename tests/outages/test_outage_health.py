"""The health of an agency's endpoint, recorded with each push result (both backends): a
transient failure marks it failing from the first failure on, a permanent 4xx and a parked
attempt (circuit open) say nothing, a 2xx clears it — without an incident, nothing drains."""

from __future__ import annotations

from outage_support import start, vn

from gateway.delivery.breaker import EndpointGuard


async def test_push_results_make_the_endpoint_health(make_gateway):
    h = await start(make_gateway, at=vn(2026, 11, 20, 16, 0))
    first = await h.send(1)
    assert await h.health() is None

    h.endpoint.status = None  # connection refused
    [(job, result)] = await h.deliver()
    assert result.kind == "retry"
    health = await h.health()
    assert health.failing_since == vn(2026, 11, 20, 16, 0)
    assert "ConnectError" in health.last_error

    h.clock.set(2026, 11, 20, 16, 30)
    h.endpoint.status = 503
    assert (await h.handler(job.next_attempt())).kind == "retry"
    health = await h.health()
    assert health.failing_since == vn(2026, 11, 20, 16, 0)  # still since the first failure
    assert health.last_failure_at == vn(2026, 11, 20, 16, 30)
    assert health.last_error.startswith("HTTP 503")

    # a permanent refusal is about one document, not about the endpoint
    h.clock.set(2026, 11, 20, 16, 40)
    refused = await h.send(2)
    h.endpoint.status = 413
    [(_, result)] = await h.deliver()
    assert result.kind == "dead" and (await h.delivery(refused)).state == "failed"
    health = await h.health()
    assert health.last_failure_at == vn(2026, 11, 20, 16, 30)
    assert health.last_error.startswith("HTTP 503")

    h.clock.set(2026, 11, 20, 16, 45)
    h.endpoint.status = 200
    assert (await h.handler(job.next_attempt().next_attempt())).kind == "done"
    health = await h.health()
    assert health.failing_since is None
    assert health.recovered_at == vn(2026, 11, 20, 16, 45)
    assert (await h.delivery(first)).state == "delivered"
    # less than the threshold: no incident, and no drain of anything
    assert await h.incidents() == []
    assert await h.outbox() == []


async def test_a_parked_attempt_is_no_evidence(make_gateway):
    h = await start(make_gateway, at=vn(2026, 11, 20, 9, 0))
    h.handler.guard = EndpointGuard(failure_threshold=1)  # one failure opens the circuit
    first = await h.send(1)
    [(_, result)] = await h.deliver()
    assert result.kind == "retry"
    failing = await h.health()

    h.clock.set(2026, 11, 20, 10, 0)
    await h.send(2)
    [(_, parked)] = await h.deliver()
    assert parked.kind == "retry" and not parked.count_attempt and "parked" in parked.reason
    assert h.endpoint.pushed == [first]  # the endpoint was not called
    health = await h.health()
    assert (health.failing_since, health.last_failure_at, health.last_error) == (
        failing.failing_since,
        failing.last_failure_at,
        failing.last_error,
    )
