"""The poll side's hot statements (gateway.packages.poll_store, issue 14), both backends: how
many statements a recipient's fetch and acknowledgement cost, and that the set-based
statements keep every answer and record of the ORM path they replaced."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from conftest import sample_bytes

A80, H17 = "000.00.00.A80", "28.22.H17"

# Upper bounds per request, warm auth cache. The ORM path cost, on SQLite (PostgreSQL has no
# BEGIN statement): fetch 6 at the first fetch / 5 later, ack 7 (see bench/RESULTS.md).
FIRST_FETCH_MAX = {"sqlite": 4, "postgres": 3}
LATER_FETCH_MAX = {"sqlite": 3, "postgres": 2}
ACK_MAX = {"sqlite": 4, "postgres": 3}

_recording: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "recording", default=None
)


@contextmanager
def statements(gw) -> Iterator[list[str]]:
    """The statements run on behalf of the requests made inside the block (the relay and the
    chainer run in tasks of their own, started before: they do not see the variable)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if (sink := _recording.get()) is not None:
            sink.append(statement)

    engine = gw.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    token = _recording.set(seen)
    try:
        yield seen
    finally:
        _recording.reset(token)
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
async def poll(make_gateway, backend):
    # the principal cache never expires during the test: only the poll statements are counted
    gw = await make_gateway(auth_cache_seconds=3600, auth_cache_check_seconds=3600)
    keys = await gw.setup(A80, H17)
    assert (await gw.get("/api/v1/me", keys[H17])).status_code == 200  # warm the cache
    return gw, keys, backend


async def _sent(gw, keys) -> tuple[str, str]:
    body = (await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])).json()
    return body["package_id"], body["deliveries"][0]["delivery_id"]


async def test_fetch_and_ack_statement_counts(poll):
    gw, keys, backend = poll
    pid, did = await _sent(gw, keys)
    with statements(gw) as first:
        assert (await gw.get(f"/api/v1/packages/{pid}", keys[H17])).status_code == 200
    with statements(gw) as later:
        assert (await gw.get(f"/api/v1/packages/{pid}", keys[H17])).status_code == 200
    with statements(gw) as ack:
        assert (await gw.post(f"/api/v1/deliveries/{did}/ack", keys[H17])).status_code == 200
    assert len(first) <= FIRST_FETCH_MAX[backend], first
    assert len(later) <= LATER_FETCH_MAX[backend], later
    assert len(ack) <= ACK_MAX[backend], ack
