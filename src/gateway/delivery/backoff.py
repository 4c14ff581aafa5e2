"""Retry schedule: exponential-ish tiers, a total time budget, and jitter.

Delays come from a fixed set of *tiers* (30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h by
default), one RabbitMQ retry queue per tier. Attempt n waits `tiers[n-1]`; the last tier repeats
until the next wait would take the total past `max_total` (24 h), then the policy gives up. With
the defaults a delivery is tried 12 times over 23 h 42 min 30 s.

Jitter is applied per message, *downwards*: the job is published to the tier queue for its
nominal delay with a per-message expiration drawn uniformly from
`[(1 - jitter) * tier, tier]`. The queue's own `x-message-ttl` is the tier itself. Why this
shape:

- Picking among tier queues would give only a handful of distinct delays, so a burst of
  deliveries that failed together (an agency's endpoint went down) would come back together.
  Per-message expiration spreads them continuously.
- RabbitMQ expires messages only at the head of a queue, so a short expiration can sit behind a
  longer one. Because every expiration in a tier is at most the tier (the queue TTL) a message
  leaves at the latest `tier` after it was published — head-of-line blocking can delay a
  jittered retry back towards its nominal delay, never beyond it.
- A `Retry-After` from the recipient can only lengthen the wait; it is served by the smallest
  tier at least that long (capped at the longest tier), with the exact delay as expiration.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

DEFAULT_TIERS: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
)

_MS = timedelta(milliseconds=1)


def tier_for_delay(tiers: tuple[timedelta, ...], delay: timedelta) -> timedelta:
    """The retry queue that serves `delay`: the smallest tier ≥ delay, else the longest tier."""
    for tier in sorted(tiers):
        if tier >= delay:
            return tier
    return max(tiers)


@dataclass(frozen=True)
class RetryPolicy:
    tiers: tuple[timedelta, ...] = DEFAULT_TIERS
    max_total: timedelta = timedelta(hours=24)
    jitter: float = 0.2
    max_attempts: int | None = None
    """Optional hard cap on attempts, on top of the time budget."""

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("at least one retry tier is needed")
        if any(t < timedelta(seconds=1) or t % _MS for t in self.tiers):
            raise ValueError("retry tiers must be whole milliseconds of at least one second")
        if list(self.tiers) != sorted(set(self.tiers)):
            raise ValueError("retry tiers must be strictly increasing")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.max_total < self.tiers[0]:
            raise ValueError("max_total must allow at least one retry")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def nominal_delay(self, attempt: int) -> timedelta:
        """The tier after attempt `attempt` failed (the last tier repeats)."""
        if attempt < 1:
            raise ValueError("attempts count from 1")
        return self.tiers[min(attempt, len(self.tiers)) - 1]

    def elapsed_before(self, attempt: int) -> timedelta:
        """Nominal waiting time spent before attempt `attempt` (0 for the first attempt)."""
        if attempt < 1:
            raise ValueError("attempts count from 1")
        head = self.tiers[: attempt - 1]
        repeats = max(0, attempt - 1 - len(self.tiers))
        return sum(head, timedelta(0)) + self.tiers[-1] * repeats

    def next_delay(self, attempt: int, *, elapsed: timedelta | None = None) -> timedelta | None:
        """Nominal delay (a tier) before attempt `attempt + 1`, or None: give up.

        `elapsed` is the real time since the first attempt when the caller knows it (e.g. the
        delivery's creation time); otherwise the nominal schedule is assumed.
        """
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return None
        delay = self.nominal_delay(attempt)
        spent = self.elapsed_before(attempt) if elapsed is None else elapsed
        if spent + delay > self.max_total:
            return None
        return delay

    def jittered(self, delay: timedelta, rng: random.Random | None = None) -> timedelta:
        """A delay in `[(1 - jitter) * delay, delay]`, whole milliseconds, at least 1 ms."""
        low = delay * (1 - self.jitter)
        fraction = (rng or random).random()
        chosen = low + (delay - low) * fraction
        return max(_MS, (chosen // _MS) * _MS)

    def retry_delay(
        self,
        attempt: int,
        *,
        elapsed: timedelta | None = None,
        at_least: timedelta | None = None,
        rng: random.Random | None = None,
    ) -> timedelta | None:
        """The actual wait after attempt `attempt` failed (jittered, honouring `at_least`,
        e.g. a Retry-After), or None when the policy gives up."""
        nominal = self.next_delay(attempt, elapsed=elapsed)
        if nominal is None:
            return None
        delay = self.jittered(nominal, rng)
        if at_least is not None and at_least > delay:
            delay = min(at_least, self.tiers[-1])
        return delay

    def tier_for(self, delay: timedelta) -> timedelta:
        return tier_for_delay(self.tiers, delay)

    @property
    def attempts(self) -> int:
        """How many attempts the nominal schedule makes before giving up."""
        attempt = 1
        while self.next_delay(attempt) is not None:
            attempt += 1
        return attempt

    @property
    def total(self) -> timedelta:
        """Nominal time from the first to the last attempt."""
        return self.elapsed_before(self.attempts)
