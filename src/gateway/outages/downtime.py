"""The gateway's own downtime: every server process writes a heartbeat every
`HEARTBEAT_SECONDS`; when one starts and the newest heartbeat of all processes is older than
`GATEWAY_DOWNTIME_MIN_SECONDS`, nothing was running in between: that period is recorded as an
outage incident of kind `gateway` (target `GATEWAY`), opened and closed at the restart with its
wall-clock and working duration, audited `gateway.downtime`, logged at warning level and
announced as every incident is (gateway.outages.announce: a notice to the senders of the copies
it held up, an e-mail sent at the next outage-monitor step). A clean restart within the limit
records nothing. Replicas starting together record it once: the check and the first heartbeat
are one transaction, serialised (SQLite: one writer; PostgreSQL: an advisory lock), so the
second one sees the first one's fresh heartbeat.
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
from sqlalchemy import delete, func, select, text

from ..audit.service import AuditLog
from ..calendar import OfficeCalendar
from ..db import Database
from ..uow import write_session
from .announce import announce
from .models import GATEWAY, GatewayHeartbeat, OutageIncident
from .repository import OutageRepository
from .service import seconds

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
STALE_INSTANCES = timedelta(days=7)  # heartbeats of processes long gone are pruned
ACTOR = "gateway:downtime"
LOCK = {"key": "gateway.downtime"}


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


async def record_downtime(
    db: Database,
    calendar: OfficeCalendar,
    *,
    now: datetime,
    min_gap: timedelta,
    instance: str,
) -> OutageIncident | None:
    """At start-up: record the gap since the newest heartbeat if it is longer than `min_gap`;
    then write this process's first heartbeat."""
    async with write_session(db) as session:
        if db.dialect == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), LOCK)
        last = await session.scalar(select(func.max(GatewayHeartbeat.beat_at)))
        downtime = None
        if last is not None and now - last > min_gap:
            downtime = OutageIncident(
                kind="gateway",
                target=GATEWAY,
                started_at=last,
                opened_at=now,
                closed_at=now,
                duration_seconds=seconds(now - last),
                working_seconds=seconds(calendar.working_time_between(last, now)),
                last_error=f"không có tiến trình máy chủ nào chạy (khởi động lại: {instance})",
            )
            downtime.affected = await OutageRepository(session).affected_count(downtime, now)
            session.add(downtime)
            await session.flush()
            await AuditLog(session).append(
                "gateway.downtime",
                actor=ACTOR,
                subject=f"outage:{downtime.id}",
                at=now,
                data={
                    "kind": "gateway",
                    "started_at": last.isoformat(),
                    "ended_at": now.isoformat(),
                    "duration_seconds": downtime.duration_seconds,
                    "working_seconds": downtime.working_seconds,
                    "affected": downtime.affected,
                    "recorded_by": instance,
                },
            )
            await announce(session, downtime, "closed", now=now)  # notices and e-mail
        await _beat(session, instance, now)
    if downtime is not None:
        log.warning(
            "the gateway was down from %s to %s (%s s, %s working s)",
            last.isoformat() if last else "?",
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
