"""Poll-mode agencies that stopped collecting their inbox: an active poll-mode agency whose
oldest copy waiting in its inbox (available — `sent_at` set — and not fetched) has waited
more than `GATEWAY_INBOX_STALE_WORKING_HOURS` of working time (office calendar). Nothing is
pushed to such an agency, so no push failure can reveal it; this is how it is flagged.

Each outage-monitor step (`watch_inboxes`) turns the flags into incidents of kind `inbox`:

- a flagged agency without an open `inbox` incident gets one, from when its oldest waiting copy
  became available, audited `outage.opened` and announced (gateway.outages.announce: notices
  to the senders held up, an e-mail to the operators and the contacts of the agency and of
  those senders). The agency's row lock orders replicas: one incident per stretch;
- an open `inbox` incident whose agency is no longer flagged (it collected what waited too
  long; or it was switched to push mode or deactivated) closes, as of the agency's latest
  fetch (else now), audited `outage.closed` and announced. A copy fetched while older ones
  still wait too long leaves the incident open: the stretch is not over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..calendar import OfficeCalendar
from ..db import Database
from ..packages.models import Delivery
from ..registry.models import Agency
from ..uow import write_session
from .announce import announce
from .models import OutageIncident
from .repository import OutageRepository
from .service import ACTOR, record_opening, seconds

KIND = "inbox"


@dataclass(frozen=True)
class StaleInbox:
    code: str
    name: str
    waiting: int
    oldest_since: datetime
    working_seconds: int
    contact_email: str | None


async def stale_inboxes(
    session: AsyncSession,
    calendar: OfficeCalendar,
    *,
    now: datetime,
    threshold: timedelta,
    code: str | None = None,
) -> list[StaleInbox]:
    """The flagged agencies (only `code`, when given), oldest waiting first."""
    only = (Agency.code == code,) if code is not None else ()
    rows = await session.execute(
        select(Agency, func.count(Delivery.id), func.min(Delivery.sent_at))
        .join(Delivery, Delivery.recipient_code == Agency.code)
        .where(
            Agency.delivery_mode == "poll",
            Agency.active.is_(True),
            Delivery.state == "pending",
            Delivery.sent_at.is_not(None),
            Delivery.sent_at <= now,
            *only,
        )
        .group_by(Agency.code)
        .order_by(func.min(Delivery.sent_at))
    )
    found = []
    for agency, waiting, oldest in rows.all():
        working = calendar.working_time_between(oldest, now)
        if working > threshold:
            found.append(
                StaleInbox(
                    agency.code,
                    agency.name,
                    int(waiting),
                    oldest,
                    seconds(working),
                    agency.contact_email,
                )
            )
    return found


async def watch_inboxes(
    db: Database, calendar: OfficeCalendar, *, now: datetime, threshold: timedelta
) -> tuple[list[OutageIncident], list[OutageIncident]]:
    """One monitor step: open incidents for newly flagged agencies, close those no longer
    flagged. Returns (opened, closed)."""
    async with db.read_session() as session:
        flagged = await stale_inboxes(session, calendar, now=now, threshold=threshold)
        open_now = await OutageRepository(session).open_incidents((KIND,))
    flagged_codes = {f.code for f in flagged}
    opened, closed = [], []
    for incident in open_now:
        async with write_session(db) as session:
            watch = InboxWatch(session, calendar)
            if incident.target in flagged_codes:
                await watch.refresh(incident.id, now=now)
            elif done := await watch.close(incident.target, now=now, threshold=threshold):
                closed.append(done)
    already = {i.target for i in open_now}
    for flag in flagged:
        if flag.code in already:
            continue
        async with write_session(db) as session:
            incident = await InboxWatch(session, calendar).open(flag, now=now)
        if incident is not None:
            opened.append(incident)
    return opened, closed


class InboxWatch:
    """The rules of `inbox` incidents, in the caller's transaction (never commits)."""

    def __init__(self, session: AsyncSession, calendar: OfficeCalendar) -> None:
        self.session = session
        self.calendar = calendar
        self.repo = OutageRepository(session)

    async def _lock(self, code: str) -> None:
        """The agency's row lock orders replicas' monitors (SQLite: one writer anyway)."""
        await self.session.scalar(select(Agency.code).where(Agency.code == code).with_for_update())

    async def open(self, flag: StaleInbox, *, now: datetime) -> OutageIncident | None:
        await self._lock(flag.code)
        if await self.repo.open_incident(flag.code, kind=KIND) is not None:
            return None  # another replica's monitor opened it first
        incident = OutageIncident(
            kind=KIND,
            target=flag.code,
            started_at=flag.oldest_since,
            opened_at=now,
            last_error=f"{flag.waiting} bản văn bản chờ trong hộp thư, chưa được lấy về",
        )
        return await record_opening(
            self.session,
            incident,
            now=now,
            details={"working_seconds": flag.working_seconds, "waiting": flag.waiting},
        )

    async def refresh(self, incident_id: int, *, now: datetime) -> None:
        incident = await self.repo.incident(incident_id)
        if incident is not None and incident.closed_at is None:
            affected = await self.repo.affected_count(incident, now)
            if incident.affected != affected:
                incident.affected = affected

    async def close(
        self, code: str, *, now: datetime, threshold: timedelta
    ) -> OutageIncident | None:
        await self._lock(code)
        incident = await self.repo.open_incident(code, kind=KIND, lock=True)
        if incident is None:
            return None
        if await stale_inboxes(
            self.session, self.calendar, now=now, threshold=threshold, code=code
        ):
            return None  # flagged again meanwhile
        fetched = func.coalesce(Delivery.entered_at, Delivery.delivered_at)
        last_fetch = await self.session.scalar(
            select(func.max(fetched)).where(
                Delivery.recipient_code == code,
                fetched >= incident.started_at,
                fetched <= now,
            )
        )
        end = last_fetch or now
        incident.closed_at = end
        incident.affected = await self.repo.affected_count(incident, end)
        incident.duration_seconds = seconds(end - incident.started_at)
        incident.working_seconds = seconds(
            self.calendar.working_time_between(incident.started_at, end)
        )
        await AuditLog(self.session).append(
            "outage.closed",
            actor=ACTOR,
            subject=f"outage:{incident.id}",
            at=now,
            data={
                "kind": KIND,
                "target": code,
                "started_at": incident.started_at.isoformat(),
                "closed_at": end.isoformat(),
                "duration_seconds": incident.duration_seconds,
                "working_seconds": incident.working_seconds,
                "affected": incident.affected,
                "collected": last_fetch is not None,
            },
        )
        await announce(self.session, incident, "closed", now=now)
        return incident
