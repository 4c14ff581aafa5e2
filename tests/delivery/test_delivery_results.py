"""Push results recorded in batches (gateway.delivery.results): results finishing together
share one transaction; each caller hears back only after the commit; a failing result rolls
its batch back and the others are recorded alone, the failing one never half-written."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from conftest import BACKENDS
from gateway.db import Database
from gateway.delivery.requeue import delivery_outbox_row
from gateway.delivery.results import ResultBatch
from gateway.outbox import OutboxMessage


def unit(n: int, *, fail: bool = False):  # type: ignore[no-untyped-def]
    async def work(session) -> int:  # type: ignore[no-untyped-def]
        row = delivery_outbox_row(f"d-{n}", f"p-{n}", "H41", "document", 0, datetime.now(UTC))
        session.add(row)
        await session.flush()
        if fail:
            raise ValueError(f"unit {n} fails after writing")
        return n

    return work


async def written(db: Database) -> list[str]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(select(OutboxMessage))
        return sorted(r.payload["delivery_id"] for r in rows.all())


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_results_finishing_together_share_one_commit(gateway_settings):
    db = Database(gateway_settings)
    batch = ResultBatch(db)
    try:
        got = await asyncio.gather(*(batch.run(f"d-{n}", unit(n)) for n in range(5)))
        assert got == [0, 1, 2, 3, 4]  # each caller its own result
        assert batch.batches == 1
        assert await written(db) == [f"d-{n}" for n in range(5)]
    finally:
        await db.dispose()


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_a_failing_result_does_not_sink_the_others(gateway_settings):
    db = Database(gateway_settings)
    batch = ResultBatch(db)
    try:
        got = await asyncio.gather(
            batch.run("d-1", unit(1)),
            batch.run("d-2", unit(2, fail=True)),
            batch.run("d-3", unit(3)),
            return_exceptions=True,
        )
        assert got[0] == 1 and got[2] == 3
        assert isinstance(got[1], ValueError)
        assert await written(db) == ["d-1", "d-3"]  # nothing of the failing one
    finally:
        await db.dispose()
