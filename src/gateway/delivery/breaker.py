"""Per-endpoint isolation: a concurrency limit and a circuit breaker for each agency endpoint.

An endpoint is `scheme://host:port`. Each gets

- a semaphore (default 4 concurrent pushes). Waiting for one is bounded (`acquire_timeout`):
  when an endpoint's slots are all held by slow requests, the caller gets `EndpointBusy` and
  re-queues the job instead of tying up a worker that another agency's delivery could use;
- a circuit breaker: CLOSED → OPEN after `failure_threshold` consecutive failures (default 5);
  OPEN parks the endpoint for a cool-down (60 s, doubling while probes keep failing, up to
  15 min); then HALF_OPEN lets exactly one probe through — success closes the breaker, failure
  opens it again with the doubled cool-down. While OPEN (or while the probe is in flight) the
  caller gets `EndpointParked(until)` and re-queues the job without calling the endpoint.

    guard = EndpointGuard()
    try:
        async with guard.slot(url) as permit:
            outcome = await push_client.push(url, ...)
            permit.record(outcome.endpoint_healthy)
    except EndpointParked as parked:  # also EndpointBusy (both are EndpointUnavailable)
        ...  # retry after parked.until, without counting an attempt

Leaving the block with an exception records a failure; leaving it without recording anything
(cancellation) records nothing but frees the probe so the next caller can probe.
The clock is injectable (`clock=` returning an aware UTC datetime) for tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from .push import endpoint_origin


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class EndpointUnavailable(Exception):
    def __init__(self, endpoint: str, until: datetime, message: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.until = until


class EndpointParked(EndpointUnavailable):
    """The breaker is open (or probing): don't call the endpoint before `until`."""

    def __init__(self, endpoint: str, until: datetime) -> None:
        super().__init__(endpoint, until, f"{endpoint} is parked until {until.isoformat()}")


class EndpointBusy(EndpointUnavailable):
    """All of the endpoint's concurrency slots stayed busy for the whole acquire timeout."""

    def __init__(self, endpoint: str, until: datetime) -> None:
        super().__init__(endpoint, until, f"{endpoint} has no free slot")


@dataclass(frozen=True)
class EndpointSnapshot:
    endpoint: str
    state: BreakerState
    consecutive_failures: int
    parked_until: datetime | None
    cooldown: timedelta
    last_success: datetime | None
    last_failure: datetime | None
    in_flight: int
    limit: int


class _Endpoint:
    def __init__(self, key: str, limit: int, cooldown: timedelta) -> None:
        self.key = key
        self.limit = limit
        self.semaphore = asyncio.Semaphore(limit)
        self.in_flight = 0
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.cooldown = cooldown
        self.parked_until: datetime | None = None
        self.probing = False
        self.last_success: datetime | None = None
        self.last_failure: datetime | None = None


class Permit:
    """Held while calling an endpoint; say how it went with `record_success/failure`."""

    def __init__(self, guard: EndpointGuard, endpoint: _Endpoint, probe: bool) -> None:
        self._guard = guard
        self._endpoint = endpoint
        self.probe = probe
        self.recorded = False

    @property
    def endpoint(self) -> str:
        return self._endpoint.key

    def record_success(self) -> None:
        if not self.recorded:
            self.recorded = True
            self._guard._success(self._endpoint)

    def record_failure(self) -> None:
        if not self.recorded:
            self.recorded = True
            self._guard._failure(self._endpoint, probe=self.probe)

    def record(self, healthy: bool) -> None:
        if healthy:
            self.record_success()
        else:
            self.record_failure()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class EndpointGuard:
    def __init__(
        self,
        *,
        limit: int = 4,
        failure_threshold: int = 5,
        cooldown: timedelta = timedelta(seconds=60),
        max_cooldown: timedelta = timedelta(minutes=15),
        acquire_timeout: timedelta = timedelta(seconds=2),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if limit < 1 or failure_threshold < 1:
            raise ValueError("limit and failure_threshold must be at least 1")
        if cooldown <= timedelta(0) or max_cooldown < cooldown:
            raise ValueError("need 0 < cooldown <= max_cooldown")
        self.limit = limit
        self.failure_threshold = failure_threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.acquire_timeout = acquire_timeout
        self.clock = clock
        self._endpoints: dict[str, _Endpoint] = {}

    def _get(self, endpoint: str) -> _Endpoint:
        key = endpoint_origin(endpoint) if "://" in endpoint else endpoint
        entry = self._endpoints.get(key)
        if entry is None:
            entry = self._endpoints[key] = _Endpoint(key, self.limit, self.base_cooldown)
        return entry

    # state machine ---------------------------------------------------------------------
    def _admit(self, ep: _Endpoint) -> bool:
        """May a call go through now? Returns whether it is the half-open probe; raises
        EndpointParked otherwise."""
        now = self.clock()
        if ep.state is BreakerState.OPEN:
            assert ep.parked_until is not None
            if now < ep.parked_until:
                raise EndpointParked(ep.key, ep.parked_until)
            ep.state = BreakerState.HALF_OPEN
        if ep.state is BreakerState.HALF_OPEN:
            if ep.probing:
                # somebody is already probing; come back after a base cool-down at most
                raise EndpointParked(ep.key, now + self.base_cooldown)
            ep.probing = True
            return True
        return False

    def _success(self, ep: _Endpoint) -> None:
        ep.last_success = self.clock()
        ep.failures = 0
        ep.state = BreakerState.CLOSED
        ep.cooldown = self.base_cooldown
        ep.parked_until = None
        ep.probing = False

    def _failure(self, ep: _Endpoint, *, probe: bool | None = None) -> None:
        now = self.clock()
        ep.last_failure = now
        ep.failures += 1
        if ep.state is BreakerState.HALF_OPEN:
            if probe or (probe is None and ep.probing):  # the probe failed: park again, longer
                ep.cooldown = min(ep.cooldown * 2, self.max_cooldown)
                self._open(ep, now)
        elif ep.state is BreakerState.CLOSED and ep.failures >= self.failure_threshold:
            self._open(ep, now)
        # OPEN: a straggler from before the breaker opened; the count goes up, nothing else.

    def _open(self, ep: _Endpoint, now: datetime) -> None:
        ep.state = BreakerState.OPEN
        ep.parked_until = now + ep.cooldown
        ep.probing = False

    # public API ------------------------------------------------------------------------
    @asynccontextmanager
    async def slot(self, endpoint: str) -> AsyncIterator[Permit]:
        """Hold one of the endpoint's slots. Raises `EndpointParked` when the breaker is open,
        `EndpointBusy` when no slot frees up within `acquire_timeout`."""
        ep = self._get(endpoint)
        self._check_open(ep)  # fail fast, before queueing for a slot
        try:
            async with asyncio.timeout(self.acquire_timeout.total_seconds()):
                await ep.semaphore.acquire()
        except TimeoutError:
            raise EndpointBusy(ep.key, self.clock() + self.acquire_timeout) from None
        try:
            probe = self._admit(ep)
        except EndpointParked:
            ep.semaphore.release()
            raise
        ep.in_flight += 1
        permit = Permit(self, ep, probe)
        try:
            yield permit
        except BaseException as exc:
            if not permit.recorded and isinstance(exc, Exception):
                permit.record_failure()
            raise
        finally:
            ep.in_flight -= 1
            if permit.probe and not permit.recorded:
                ep.probing = False  # cancelled probe: let the next caller probe
            ep.semaphore.release()

    def _check_open(self, ep: _Endpoint) -> None:
        if ep.state is BreakerState.OPEN and ep.parked_until and self.clock() < ep.parked_until:
            raise EndpointParked(ep.key, ep.parked_until)

    def record_success(self, endpoint: str) -> None:
        self._success(self._get(endpoint))

    def record_failure(self, endpoint: str) -> None:
        self._failure(self._get(endpoint))

    def state(self, endpoint: str) -> BreakerState:
        ep = self._get(endpoint)
        if ep.state is BreakerState.OPEN and ep.parked_until and self.clock() >= ep.parked_until:
            return BreakerState.HALF_OPEN
        return ep.state

    def snapshot(self) -> list[EndpointSnapshot]:
        """Per-endpoint state for metrics and the dashboard."""
        return [
            EndpointSnapshot(
                endpoint=ep.key,
                state=self.state(ep.key),
                consecutive_failures=ep.failures,
                parked_until=ep.parked_until,
                cooldown=ep.cooldown,
                last_success=ep.last_success,
                last_failure=ep.last_failure,
                in_flight=ep.in_flight,
                limit=ep.limit,
            )
            for ep in sorted(self._endpoints.values(), key=lambda e: e.key)
        ]
