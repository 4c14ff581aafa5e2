"""Per-endpoint isolation: every breaker transition with a fake clock, and the slot limit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from gateway.delivery.breaker import (
    BreakerState,
    EndpointBusy,
    EndpointGuard,
    EndpointParked,
)
from gateway.delivery.push import endpoint_origin

A = "https://a.example.gov.vn/edxml/inbox"
B = "http://b.example.gov.vn:8080/receive"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def guard(clock: FakeClock) -> EndpointGuard:
    return EndpointGuard(clock=clock, acquire_timeout=timedelta(milliseconds=50))


async def fail(guard: EndpointGuard, endpoint: str = A) -> None:
    async with guard.slot(endpoint) as permit:
        permit.record_failure()


async def succeed(guard: EndpointGuard, endpoint: str = A) -> None:
    async with guard.slot(endpoint) as permit:
        permit.record_success()


def snap(guard: EndpointGuard, endpoint: str):
    key = endpoint_origin(endpoint)
    return next(s for s in guard.snapshot() if s.endpoint == key)


async def test_endpoint_key_is_scheme_host_port(guard: EndpointGuard) -> None:
    await succeed(guard, "https://A.example.gov.vn/x")
    await succeed(guard, "https://a.example.gov.vn:443/y")
    await succeed(guard, B)
    assert [s.endpoint for s in guard.snapshot()] == [
        "http://b.example.gov.vn:8080",
        "https://a.example.gov.vn:443",
    ]


async def test_closed_to_open_after_threshold(guard: EndpointGuard, clock: FakeClock) -> None:
    for _ in range(4):
        await fail(guard)
    assert guard.state(A) is BreakerState.CLOSED
    await fail(guard)
    assert guard.state(A) is BreakerState.OPEN
    with pytest.raises(EndpointParked) as parked:
        async with guard.slot(A):
            pytest.fail("must not be admitted")
    assert parked.value.until == clock.now + timedelta(seconds=60)
    s = snap(guard, A)
    assert (s.state, s.consecutive_failures, s.parked_until) == (
        BreakerState.OPEN,
        5,
        clock.now + timedelta(seconds=60),
    )


async def test_success_resets_the_count(guard: EndpointGuard) -> None:
    for _ in range(4):
        await fail(guard)
    await succeed(guard)
    for _ in range(4):
        await fail(guard)
    assert guard.state(A) is BreakerState.CLOSED
    assert snap(guard, A).last_success is not None


async def test_open_to_half_open_probe_success_closes(
    guard: EndpointGuard, clock: FakeClock
) -> None:
    for _ in range(5):
        await fail(guard)
    clock.advance(59)
    with pytest.raises(EndpointParked):
        async with guard.slot(A):
            pass
    clock.advance(1)
    assert guard.state(A) is BreakerState.HALF_OPEN
    async with guard.slot(A) as probe:
        assert probe.probe
        # only one probe at a time: a second caller is parked meanwhile
        with pytest.raises(EndpointParked):
            async with guard.slot(A):
                pass
        probe.record_success()
    s = snap(guard, A)
    assert (s.state, s.consecutive_failures, s.parked_until) == (BreakerState.CLOSED, 0, None)
    async with guard.slot(A) as permit:
        assert not permit.probe


async def test_probe_failure_reopens_with_doubling_cooldown_capped(
    guard: EndpointGuard, clock: FakeClock
) -> None:
    for _ in range(5):
        await fail(guard)
    expected = [120, 240, 480, 900, 900]  # 60 s doubling, capped at 15 min
    for cooldown in expected:
        clock.advance(snap(guard, A).cooldown.total_seconds())
        await fail(guard)  # the probe fails
        s = snap(guard, A)
        assert s.state is BreakerState.OPEN
        assert s.cooldown == timedelta(seconds=cooldown)
        assert s.parked_until == clock.now + timedelta(seconds=cooldown)
    clock.advance(900)
    await succeed(guard)
    s = snap(guard, A)
    assert s.state is BreakerState.CLOSED and s.cooldown == timedelta(seconds=60)


async def test_exception_in_block_records_failure(guard: EndpointGuard) -> None:
    for _ in range(5):
        with pytest.raises(RuntimeError):
            async with guard.slot(A):
                raise RuntimeError("boom")
    assert guard.state(A) is BreakerState.OPEN


async def test_cancelled_probe_lets_the_next_caller_probe(
    guard: EndpointGuard, clock: FakeClock
) -> None:
    for _ in range(5):
        await fail(guard)
    clock.advance(60)
    started = asyncio.Event()

    async def probe_and_hang() -> None:
        async with guard.slot(A):
            started.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(probe_and_hang())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert guard.state(A) is BreakerState.HALF_OPEN
    async with guard.slot(A) as permit:
        assert permit.probe
        permit.record_success()
    assert guard.state(A) is BreakerState.CLOSED


async def test_unrecorded_normal_permit_changes_nothing(guard: EndpointGuard) -> None:
    async with guard.slot(A):
        pass
    assert snap(guard, A).consecutive_failures == 0
    assert snap(guard, A).in_flight == 0


async def test_isolation_slow_endpoint_does_not_block_another(guard: EndpointGuard) -> None:
    release = asyncio.Event()
    holding = 0
    all_held = asyncio.Event()

    async def hold(endpoint: str) -> None:
        nonlocal holding
        async with guard.slot(endpoint) as permit:
            holding += 1
            if holding == guard.limit:
                all_held.set()
            await release.wait()
            permit.record_success()

    slow = [asyncio.create_task(hold(A)) for _ in range(guard.limit)]
    await all_held.wait()
    assert snap(guard, A).in_flight == 4
    # another endpoint gets a slot at once
    async with asyncio.timeout(0.5):
        async with guard.slot(B) as permit:
            permit.record_success()
    # the saturated endpoint answers "busy" after the bounded wait instead of queueing forever
    with pytest.raises(EndpointBusy):
        async with guard.slot(A):
            pass
    release.set()
    await asyncio.gather(*slow)
    assert snap(guard, A).in_flight == 0
    async with guard.slot(A):
        pass


async def test_guard_level_record_calls(guard: EndpointGuard) -> None:
    for _ in range(5):
        guard.record_failure(A)
    assert guard.state(A) is BreakerState.OPEN
    guard.record_success(A)
    assert guard.state(A) is BreakerState.CLOSED


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError):
        EndpointGuard(limit=0)
    with pytest.raises(ValueError):
        EndpointGuard(cooldown=timedelta(minutes=20))
