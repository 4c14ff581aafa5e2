"""The health of each push target, as the recorded push results say (`endpoint_health`).

Callers note every result in the transaction that records it — the delivery handler for a push
(gateway.delivery.service), the forwarder for the national axis (gateway.axis.connector) — and
before that transaction appends to the audit log, so that no transaction waits for this row
while holding the audit log's lock.

- a transient failure (connection error, timeout, 408/429/5xx; for the national axis any
  non-permanent error) sets `failing_since`, unless the target is already failing;
- a success clears it (`recovered_at`). `success` answers the `failing_since` it ended: this
  result is a recovery, and the caller closes the open incident once committed
  (gateway.delivery.recovery → gateway.outages.service). A success while healthy writes
  nothing: the hot path of a working endpoint takes no lock;
- a permanent refusal (a 4xx about one document) and an attempt that did not reach the endpoint
  (circuit breaker open, slots busy) say nothing about the endpoint: callers note nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from .models import EndpointHealth

MAX_ERROR = 2000


class HealthLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _locked(self, target: str) -> EndpointHealth:
        """The target's row, locked until the commit so concurrent results from several workers
        apply one after the other (SQLite serialises writers anyway); created on first use."""
        query = select(EndpointHealth).where(EndpointHealth.target == target).with_for_update()
        row = await self.session.scalar(query)
        if row is None:
            dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            await self.session.execute(
                insert(EndpointHealth).values(target=target).on_conflict_do_nothing()
            )
            row = await self.session.scalar(query.execution_options(populate_existing=True))
            assert row is not None
        return row

    async def failure(self, target: str, *, at: datetime, error: str) -> None:
        row = await self._locked(target)
        if row.failing_since is None:
            row.failing_since = at
        row.last_failure_at = at
        row.last_error = error[:MAX_ERROR]

    async def success(self, target: str, *, at: datetime) -> datetime | None:
        """Record a success; the moment the target had been failing since (this success is
        a recovery), or None when it was not failing."""
        healthy = select(EndpointHealth.failing_since).where(EndpointHealth.target == target)
        if await self.session.scalar(healthy) is None:
            return None  # the usual case: nothing to write, no lock taken
        row = await self._locked(target)
        ended = row.failing_since
        if ended is not None:  # (else a concurrent success has just cleared it)
            row.failing_since = None
            row.recovered_at = at
        return ended
