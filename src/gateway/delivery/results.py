"""Recording push results in batches (issue 14): the results of pushes that finish at about
the same time in one worker are written in ONE transaction — one BEGIN and one COMMIT (and
one fsync) for all of them instead of one each.

Each result is a unit of work `work(session)` that reads its own rows, locks them and writes
(gateway.delivery.service). A batch runs them one after the other in a single write
transaction, in delivery-id order so that concurrent batches lock rows in the same order, and
each caller gets its own return value once the batch has committed — nothing is reported
before it is durable. If anything in a batch fails (a deadlock, one bad row), the transaction
rolls back as a whole and every unit is run again alone in its own transaction, so one
failure never sinks the others' results and never commits half of a batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import Database
from ..uow import write_session

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[Any]]


class ResultBatch:
    def __init__(self, db: Database, *, max_batch: int = 32) -> None:
        self.db = db
        self.max_batch = max_batch
        self.batches = 0  # how many transactions recorded results (for tests and curiosity)
        self._waiting: list[tuple[str, Work, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def run(self, key: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in a shared write transaction; returns its result after the commit."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, work, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="push-results")
        return await future

    async def _flush(self) -> None:
        batch: list[tuple[str, Work, asyncio.Future[Any]]] = []
        try:
            while self._waiting:
                await asyncio.sleep(0)  # results finishing in this turn of the loop join
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                batch.sort(key=lambda item: item[0])
                await self._commit(batch)
        except BaseException as exc:  # cancelled with the loop: nobody waits forever
            for _, _, future in [*batch, *self._waiting]:
                _settle(future, error=exc)
            self._waiting.clear()
            raise

    async def _commit(self, batch: list[tuple[str, Work, asyncio.Future[Any]]]) -> None:
        try:
            async with write_session(self.db) as session:
                results = [await work(session) for _, work, _ in batch]
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][2], error=exc)
                return
            for item in batch:  # each alone: one failure must not sink the others
                await self._commit([item])
            return
        self.batches += 1
        for (_, _, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():  # its caller was cancelled (shutdown); the result is committed anyway
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
