"""Outage rules: when an incident opens, how it closes, and the drain of the backlog.

- **Open**: a target that has been failing (gateway.delivery.health) for more than the
  threshold of *working* time (`OfficeCalendar.working_time_between(failing_since, now)`,
  4 working hours by default) gets an incident — at most one open per target — audited as
  `outage.opened`. Only targets the gateway still pushes to: an active push-mode agency, or the
  upstream link. The monitor decides (gateway.outages.monitor).
- **Close**: the first success after the failure closes the open incident, with its duration
  from `started_at` (when the failure began) to that success, wall-clock and working time,
  audited as `outage.closed`; the backlog drains at once, most urgent first: copies waiting for
  their next retry are attempted now, copies given up on during the outage (retry budget spent)
  are resent with the reason "outage recovered" (gateway.delivery.requeue).

Never commits. `close_on_recovery` is the unit of work the delivery handler and the forwarder
run after committing a success that ended a failure.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..calendar import OfficeCalendar
from ..db import Database
from ..delivery.requeue import Requeue
from ..uow import write_session
from .announce import announce
from .models import UPSTREAM, OutageIncident, kind_of
from .repository import OutageRepository

log = logging.getLogger(__name__)

ACTOR = "gateway:outage"
RESEND_REASON = "outage recovered"


def seconds(span: timedelta) -> int:
    return max(0, round(span.total_seconds()))


def is_due(
    calendar: OfficeCalendar, failing_since: datetime, now: datetime, threshold: timedelta
) -> bool:
    """Failing for more than the threshold of working time: agencies fall back to paper."""
    return calendar.working_time_between(failing_since, now) > threshold


async def record_opening(
    session: AsyncSession, incident: OutageIncident, *, now: datetime, details: dict[str, Any]
) -> OutageIncident:
    """Write a new incident with its affected count, audit `outage.opened` (its kind, target,
    start and affected count, plus `details`) and announce it: every kind opens this way."""
    repo = OutageRepository(session)
    incident.affected = await repo.affected_count(incident, now)
    repo.add(incident)
    await session.flush()
    await AuditLog(session).append(
        "outage.opened",
        actor=ACTOR,
        subject=f"outage:{incident.id}",
        at=now,
        data={
            "kind": incident.kind,
            "target": incident.target,
            "started_at": incident.started_at.isoformat(),
            "affected": incident.affected,
            **details,
        },
    )
    await announce(session, incident, "opened", now=now)  # notices and e-mail
    return incident


class OutageService:
    def __init__(self, session: AsyncSession, calendar: OfficeCalendar) -> None:
        self.session = session
        self.calendar = calendar
        self.repo = OutageRepository(session)

    async def open_if_due(
        self,
        target: str,
        *,
        now: datetime,
        threshold: timedelta,
        urgent_threshold: timedelta | None = None,
    ) -> OutageIncident | None:
        """`urgent_threshold` (shorter): enough when a hỏa tốc copy is waiting (escalation)."""
        # the health row's lock orders this against a concurrent success (which clears
        # failing_since) and against another replica's monitor opening the same incident
        health = await self.repo.health(target, lock=True)
        if health is None or health.failing_since is None:
            return None
        escalated = False
        if not is_due(self.calendar, health.failing_since, now, threshold):
            if urgent_threshold is None or not is_due(
                self.calendar, health.failing_since, now, urgent_threshold
            ):
                return None
            if not await self.repo.flash_waiting(target):
                return None
            escalated = True
        if target != UPSTREAM and not await self.repo.pushed_to(target):
            return None
        if await self.repo.open_incident(target) is not None:
            return None
        incident = OutageIncident(
            kind=kind_of(target),
            target=target,
            started_at=health.failing_since,
            opened_at=now,
            last_error=health.last_error,
        )
        working = self.calendar.working_time_between(incident.started_at, now)
        return await record_opening(
            self.session,
            incident,
            now=now,
            details={
                "working_seconds": seconds(working),
                "last_error": (incident.last_error or "")[:500],
                "escalated": escalated,
            },
        )

    async def refresh(self, incident_id: int, *, now: datetime) -> None:
        """Keep an open incident's affected count and last error current (dashboard)."""
        incident = await self.repo.incident(incident_id)
        if incident is None or incident.closed_at is not None:
            return
        health = await self.repo.health(incident.target)
        affected = await self.repo.affected_count(incident, now)
        error = health.last_error if health is not None else incident.last_error
        if (incident.affected, incident.last_error) != (affected, error):
            incident.affected = affected
            incident.last_error = error

    async def close(
        self, target: str, *, recovered_at: datetime, now: datetime
    ) -> OutageIncident | None:
        """Close the target's open incident (if any) as of `recovered_at`, the first success,
        and drain its backlog now. Returns the closed incident."""
        incident = await self.repo.open_incident(target, lock=True)
        if incident is None:  # never raised, or closed by someone else first
            return None
        backlog = await self.repo.backlog(target, failed_since=incident.started_at)
        resent = sum(d.state == "failed" for d in backlog)
        incident.affected = await self.repo.affected_count(incident, recovered_at)
        incident.closed_at = recovered_at
        incident.duration_seconds = seconds(recovered_at - incident.started_at)
        incident.working_seconds = seconds(
            self.calendar.working_time_between(incident.started_at, recovered_at)
        )
        await Requeue(self.session, ACTOR).line_up(backlog, now=now, reason=RESEND_REASON)
        await AuditLog(self.session).append(
            "outage.closed",
            actor=ACTOR,
            subject=f"outage:{incident.id}",
            at=now,
            data={
                "kind": incident.kind,
                "target": target,
                "started_at": incident.started_at.isoformat(),
                "closed_at": recovered_at.isoformat(),
                "duration_seconds": incident.duration_seconds,
                "working_seconds": incident.working_seconds,
                "affected": incident.affected,
                "requeued": len(backlog) - resent,
                "resent": resent,
            },
        )
        await announce(self.session, incident, "closed", now=now)  # notices and e-mail
        return incident


async def close_on_recovery(
    db: Database,
    calendar: OfficeCalendar,
    target: str,
    *,
    at: datetime,
) -> OutageIncident | None:
    """After committing a success that ended a failure: close the target's open incident and
    drain its backlog, in a unit of work of its own. Anything going wrong here is left to the
    monitor, which closes every open incident whose target is healthy again."""
    try:
        async with write_session(db) as session:
            incident = await OutageService(session, calendar).close(target, recovered_at=at, now=at)
    except Exception:
        log.exception("closing the outage incident of %s failed; the monitor will", target)
        return None
    if incident is not None:
        log.warning(
            "outage of %s over after %s s (%s working s); backlog requeued",
            target,
            incident.duration_seconds,
            incident.working_seconds,
            extra={"recipient": target, "outcome": "outage.closed"},
        )
    return incident
