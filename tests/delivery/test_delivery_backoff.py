"""Retry policy: tiers, the total budget, giving up, jitter (property tests)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.delivery.backoff import DEFAULT_TIERS, RetryPolicy, tier_for_delay

S = timedelta(seconds=1)


def schedule(policy: RetryPolicy) -> list[timedelta]:
    delays, attempt = [], 1
    while (d := policy.next_delay(attempt)) is not None:
        delays.append(d)
        attempt += 1
        assert attempt <= policy.max_total / policy.tiers[0] + 1
    return delays


def test_default_schedule_is_about_a_day() -> None:
    policy = RetryPolicy()
    delays = schedule(policy)
    assert delays[:7] == list(DEFAULT_TIERS)
    assert delays[7:] == [timedelta(hours=4)] * 4
    assert policy.attempts == 12
    assert policy.total == timedelta(hours=23, minutes=42, seconds=30)
    assert policy.next_delay(12) is None


def test_elapsed_overrides_the_nominal_schedule() -> None:
    policy = RetryPolicy()
    assert policy.next_delay(1, elapsed=timedelta(hours=23, minutes=59, seconds=45)) is None
    assert policy.next_delay(3, elapsed=timedelta(0)) == timedelta(minutes=10)


def test_max_attempts_caps() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert schedule(policy) == list(DEFAULT_TIERS[:2])


@pytest.mark.parametrize(
    "kw",
    [
        {"tiers": ()},
        {"tiers": (timedelta(milliseconds=500),)},
        {"tiers": (2 * S, S)},
        {"tiers": (S, S)},
        {"jitter": 1.0},
        {"jitter": -0.1},
        {"max_total": timedelta(seconds=10)},
        {"max_attempts": 0},
    ],
)
def test_invalid_policies(kw: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kw)


def test_retry_after_lengthens_but_is_capped_at_the_longest_tier() -> None:
    policy = RetryPolicy(jitter=0)
    assert policy.retry_delay(1) == timedelta(seconds=30)
    assert policy.retry_delay(1, at_least=timedelta(seconds=90)) == timedelta(seconds=90)
    assert policy.retry_delay(1, at_least=timedelta(seconds=5)) == timedelta(seconds=30)
    assert policy.retry_delay(1, at_least=timedelta(days=3)) == timedelta(hours=4)
    assert policy.retry_delay(12) is None


def test_tier_for_delay() -> None:
    assert tier_for_delay(DEFAULT_TIERS, timedelta(seconds=1)) == timedelta(seconds=30)
    assert tier_for_delay(DEFAULT_TIERS, timedelta(seconds=30)) == timedelta(seconds=30)
    assert tier_for_delay(DEFAULT_TIERS, timedelta(seconds=96)) == timedelta(minutes=2)
    assert tier_for_delay(DEFAULT_TIERS, timedelta(hours=9)) == timedelta(hours=4)


tiers_st = (
    st.lists(st.integers(min_value=1, max_value=50_000), min_size=1, max_size=8, unique=True)
    .map(sorted)
    .map(lambda xs: tuple(timedelta(seconds=x) for x in xs))
)


@st.composite
def policies(draw: st.DrawFn) -> RetryPolicy:
    tiers = draw(tiers_st)
    first = int(tiers[0].total_seconds())
    budget = draw(st.integers(min_value=first, max_value=min(200_000, first * 2000)))
    jitter = draw(st.floats(min_value=0, max_value=0.9))
    return RetryPolicy(tiers=tiers, max_total=timedelta(seconds=budget), jitter=jitter)


@settings(max_examples=200, deadline=None)
@given(policies())
def test_schedule_properties(policy: RetryPolicy) -> None:
    delays = schedule(policy)
    assert delays, "at least one retry fits the budget"
    assert all(d in policy.tiers for d in delays)
    assert sum(delays, timedelta(0)) <= policy.max_total
    # giving up happens, and only because the next wait would overrun the budget
    last = len(delays) + 1
    assert policy.next_delay(last) is None
    assert policy.elapsed_before(last) + policy.nominal_delay(last) > policy.max_total
    # exponential-ish: never shorter than the one before
    assert delays == sorted(delays)


@settings(max_examples=200, deadline=None)
@given(policies(), st.integers(min_value=1, max_value=40), st.randoms(use_true_random=False))
def test_jittered_delays_stay_within_their_tier(
    policy: RetryPolicy, attempt: int, rng: random.Random
) -> None:
    nominal = policy.next_delay(attempt)
    actual = policy.retry_delay(attempt, rng=rng)
    if nominal is None:
        assert actual is None
        return
    assert actual is not None
    assert nominal * (1 - policy.jitter) - timedelta(milliseconds=1) <= actual <= nominal
    # the tier queue serving the jittered delay is the nominal tier (head-of-line bound)
    assert policy.tier_for(actual) >= actual
    assert policy.tier_for(actual) <= nominal


def test_jitter_spreads() -> None:
    policy = RetryPolicy()
    rng = random.Random(1)
    samples = {policy.jittered(timedelta(minutes=10), rng) for _ in range(50)}
    assert len(samples) > 40
    assert min(samples) >= timedelta(minutes=8) and max(samples) <= timedelta(minutes=10)
