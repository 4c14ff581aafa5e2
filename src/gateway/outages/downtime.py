"""The gateway's own downtime: every server process writes a heartbeat every
`HEARTBEAT_SECONDS`; when one starts and the newest heartbeat of all processes is older than
`GATEWAY_DOWNTIME_MIN_SECONDS`, nothing was running in between: that period is recorded as a
downtime (table `gateway_downtimes`, audited `gateway.downtime`, logged at warning level),
with its wall-clock and working duration. A clean restart within the limit records nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import delete, func, select

from ..audit.service import AuditLog
from ..calendar import OfficeCalendar
from ..db import Database
from ..uow import write_session
from .models import GatewayDowntime, GatewayHeartbeat
from .service import seconds

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
STALE_INSTANCES = timedelta(days=7)  # heartbeats of processes long gone are pruned
ACTOR = "gateway:downtime"


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


async def record_downtime(
    db: Database,
    calendar: OfficeCalendar,
    *,
    now: datetime,
    min_gap: timedelta,
    instance: str,
) -> GatewayDowntime | None:
    """At start-up: record the gap since the newest heartbeat if it is longer than `min_gap`;
    then write this process's first heartbeat."""
    async with write_session(db) as session:
        last = await session.scalar(select(func.max(GatewayHeartbeat.beat_at)))
        downtime = None
        if last is not None and now - last > min_gap:
            downtime = GatewayDowntime(
                started_at=last,
                ended_at=now,
                duration_seconds=seconds(now - last),
                working_seconds=seconds(calendar.working_time_between(last, now)),
                recorded_by=instance,
            )
            session.add(downtime)
            await session.flush()
            await AuditLog(session).append(
                "gateway.downtime",
                actor=ACTOR,
                subject=f"downtime:{downtime.id}",
                at=now,
                data={
                    "started_at": last.isoformat(),
                    "ended_at": now.isoformat(),
                    "duration_seconds": downtime.duration_seconds,
                    "working_seconds": downtime.working_seconds,
                },
            )
        await _beat(session, instance, now)
    if downtime is not None:
        log.warning(
            "the gateway was down from %s to %s (%s s, %s working s)",
            downtime.started_at.isoformat(),
            now.isoformat(),
            downtime.duration_seconds,
            downtime.working_seconds,
            extra={"outcome": "gateway.downtime"},
        )
    return downtime


async def _beat(session, instance: str, now: datetime) -> None:
    row = await session.get(GatewayHeartbeat, instance)
    if row is None:
        session.add(GatewayHeartbeat(instance=instance, beat_at=now))
    else:
        row.beat_at = now
    await session.execute(
        delete(GatewayHeartbeat).where(GatewayHeartbeat.beat_at < now - STALE_INSTANCES)
    )


@contextlib.asynccontextmanager
async def heartbeat(app: FastAPI) -> AsyncIterator[None]:
    """For the server lifespan: record a downtime since the last heartbeat, then keep beating."""
    state = app.state
    instance = instance_name()
    min_gap = timedelta(seconds=state.settings.gateway_downtime_min_seconds)
    await record_downtime(
        state.db, state.calendar, now=state.clock(), min_gap=min_gap, instance=instance
    )

    async def loop() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                async with write_session(state.db) as session:
                    await _beat(session, instance, state.clock())
            except Exception:  # the database may be away for a while: beat again later
                log.warning("heartbeat failed", exc_info=True)

    task = asyncio.create_task(loop(), name="gateway-heartbeat")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
