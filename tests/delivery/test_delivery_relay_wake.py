"""The relay wakes when outbox rows commit (gateway.outbox_wake), not on its next poll:
PostgreSQL's outbox trigger NOTIFYs on commit, whoever wrote the rows; on SQLite the writer's
`notify_outbox` wakes the relays of its process after the commit, never after a rollback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from conftest import BACKENDS
from gateway.db import Database
from gateway.delivery.relay import Relay
from gateway.delivery.requeue import delivery_outbox_row
from gateway.outbox_wake import notify_outbox, on_outbox_commit

SLOW = 60.0  # a poll and a sweep far longer than any wait below


class Recorder:
    """A queue that only records what the relay publishes."""

    name = "recorder"

    def __init__(self) -> None:
        self.published: list[str] = []
        self.arrived = asyncio.Event()

    async def publish(self, session, jobs) -> None:  # type: ignore[no-untyped-def]
        self.published += [j.delivery_id for j in jobs]
        self.arrived.set()

    def wake(self) -> None:
        pass


def row(n: int):  # type: ignore[no-untyped-def]
    """An outbox row the relay always publishes (a notice's: no copy to look up)."""
    at = datetime.now(UTC)
    return delivery_outbox_row(f"n-{n}", f"p-{n}", "000.00.00.H41", "notice", 0, at)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_a_commit_wakes_the_idle_relay(gateway_settings, backend):
    relay_db, writer_db = Database(gateway_settings), Database(gateway_settings)
    queue = Recorder()
    relay = Relay(relay_db, queue, poll_interval=SLOW, sweep_interval=SLOW)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        if relay.listener is not None:
            async with asyncio.timeout(10):
                while not relay.listener.listening:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # the relay has swept the empty outbox and sleeps
        assert queue.published == []
        async with writer_db.sessionmaker() as session:
            session.add(row(1))
            if backend == "sqlite":
                notify_outbox(session)
            # PostgreSQL: no call at all — another process's writer is heard through NOTIFY
            await session.commit()
        async with asyncio.timeout(5):
            await queue.arrived.wait()
        assert queue.published == ["n-1"]
    finally:
        stop.set()
        await task
        await relay_db.dispose()
        await writer_db.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_wake_follows_the_commit_only(gateway_settings):
    db = Database(gateway_settings)
    woken: list[int] = []
    forget = on_outbox_commit(lambda: woken.append(1))
    try:
        async with db.sessionmaker() as session:
            session.add(row(1))
            notify_outbox(session)
            await session.flush()
            assert woken == []  # not before the commit
            await session.rollback()
            assert woken == []  # nor for a rollback
            session.add(row(2))
            await session.commit()
            assert woken == []  # a later transaction that wrote no outbox rows: no wake
            session.add(row(3))
            notify_outbox(session)
            notify_outbox(session)
            await session.commit()
            assert woken == [1]  # once per committed transaction
    finally:
        forget()
        await db.dispose()
