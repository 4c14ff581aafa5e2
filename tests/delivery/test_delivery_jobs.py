"""The job message: round trip, and strict parsing that only ever raises MalformedJob."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta

import pytest
from delivery_support import job
from hypothesis import given
from hypothesis import strategies as st

from gateway.delivery.jobs import MAX_JOB_BYTES, DeliveryJob, HandlerResult, MalformedJob


def test_round_trip_and_properties() -> None:
    j = job(7, priority=2, attempt=3)
    data = j.to_bytes()
    assert json.loads(data) == {
        "delivery_id": "d-7",
        "package_id": "p-7",
        "recipient": "000.00.00.H99",
        "attempt": 3,
        "priority": 2,
        "kind": "push",
    }
    assert DeliveryJob.from_bytes(data) == j
    assert j.urgent and not job(1, priority=0).urgent
    assert j.message_id == "d-7:3"
    assert j.next_attempt().attempt == 4 and j.next_attempt().delivery_id == "d-7"
    with pytest.raises(Exception):  # noqa: B017 - frozen, whatever pydantic raises
        j.attempt = 9  # type: ignore[misc]


def test_unicode_identifiers_survive() -> None:
    j = DeliveryJob(
        delivery_id="giao-nhận-1",
        package_id="p",
        recipient="Sở Nội vụ",
        attempt=1,
        priority=0,
        kind="push",
    )
    assert DeliveryJob.from_bytes(j.to_bytes()) == j


def test_unknown_fields_are_ignored_for_rolling_upgrades() -> None:
    raw = json.loads(job().to_bytes())
    raw["trace"] = "abc"
    assert DeliveryJob.from_bytes(json.dumps(raw).encode()) == job()


GOOD = json.loads(job().to_bytes())


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "not a delivery job"),
        (b"not json", "not a delivery job"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "not a delivery job"),
        (b"null", "not a delivery job"),
        (json.dumps({**GOOD, "attempt": "1"}).encode(), "attempt"),
        (json.dumps({**GOOD, "attempt": True}).encode(), "attempt"),
        (json.dumps({**GOOD, "attempt": 0}).encode(), "attempt"),
        (json.dumps({**GOOD, "priority": 5}).encode(), "priority"),
        (json.dumps({**GOOD, "priority": 1.5}).encode(), "priority"),
        (json.dumps({**GOOD, "delivery_id": ""}).encode(), "delivery_id"),
        (json.dumps({**GOOD, "delivery_id": "a\nb"}).encode(), "delivery_id"),
        (json.dumps({**GOOD, "kind": "Push Now"}).encode(), "kind"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "recipient"}).encode(), "recipient"),
        (b" " * (MAX_JOB_BYTES + 1), "more than"),
    ],
)
def test_malformed_bodies_raise_malformed_job(body: bytes, fragment: str) -> None:
    with pytest.raises(MalformedJob) as err:
        DeliveryJob.from_bytes(body)
    assert fragment in err.value.reason
    assert isinstance(err.value, ValueError)


def test_non_bytes_is_malformed() -> None:
    with pytest.raises(MalformedJob):
        DeliveryJob.from_bytes("text")  # type: ignore[arg-type]


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(MalformedJob):
        DeliveryJob.from_bytes(data)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.fixed_dictionaries({}, optional={k: _json for k in GOOD}))
def test_arbitrary_json_objects_never_crash(obj: dict) -> None:
    try:
        parsed = DeliveryJob.from_bytes(json.dumps(obj).encode())
    except MalformedJob:
        return
    assert parsed.attempt >= 1 and 0 <= parsed.priority <= 4


def test_handler_results() -> None:
    assert HandlerResult.done().kind == "done"
    r = HandlerResult.retry(timedelta(seconds=5), "busy", count_attempt=False)
    assert (r.kind, r.delay, r.count_attempt) == ("retry", timedelta(seconds=5), False)
    assert HandlerResult.dead("gone").reason == "gone"
    with pytest.raises(ValueError):
        HandlerResult.retry(timedelta(0))
