"""Telling people about an incident, in the transaction that opens or closes it (never commits):

- a notice `outage.opened` / `outage.closed` for each document the outage holds up, in its
  sender's notice list (GET /api/v1/notices) or pushed to a push-mode sender, through the same
  outbox as acknowledgement notices (gateway.packages.notices);
- an `OutageEmail` row that gateway.outages.mailer sends to the operators and to the
  administrator contacts of the agencies involved (registry contacts).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import show_time
from ..outbox_wake import notify_outbox
from ..packages.notices import sender_notice
from .models import OutageEmail, OutageIncident
from .repository import OutageRepository


async def announce(
    session: AsyncSession, incident: OutageIncident, event: str, *, now: datetime
) -> None:
    repo = OutageRepository(session)
    end = incident.closed_at or now
    copies = await repo.affected(incident, end)
    notices, outbox = [], []
    for delivery, package in copies:
        notice, ready = sender_notice(
            package,
            delivery,
            f"outage.{event}",
            now,
            {
                "incident_id": incident.id,
                "target": incident.target,
                "package_id": package.id,
                "document_id": package.document_id,
                "delivery_id": delivery.id,
                "recipient": delivery.recipient_code,
                "failing_since": show_time(incident.started_at),
                **({"recovered_at": show_time(incident.closed_at)} if incident.closed_at else {}),
            },
            priority=package.priority or 0,
        )
        notices.append(notice)
        outbox.append(ready)
    session.add_all(notices)
    session.add_all(outbox)
    if outbox:
        notify_outbox(session)
    session.add(OutageEmail(incident_id=incident.id, event=event, created_at=now))
    await session.flush()
