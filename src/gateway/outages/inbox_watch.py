"""Poll-mode agencies that stopped collecting their inbox: an active poll-mode agency whose
oldest copy waiting in its inbox (available — `sent_at` set — and not fetched) has waited
more than `GATEWAY_INBOX_STALE_WORKING_HOURS` of working time (office calendar). Nothing is
pushed to such an agency, so no push failure can reveal it; this is how it is flagged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..calendar import OfficeCalendar
from ..packages.models import Delivery
from ..registry.models import Agency
from .service import seconds


@dataclass(frozen=True)
class StaleInbox:
    code: str
    name: str
    waiting: int
    oldest_since: datetime
    working_seconds: int
    contact_email: str | None


async def stale_inboxes(
    session: AsyncSession, calendar: OfficeCalendar, *, now: datetime, threshold: timedelta
) -> list[StaleInbox]:
    rows = await session.execute(
        select(Agency, func.count(Delivery.id), func.min(Delivery.sent_at))
        .join(Delivery, Delivery.recipient_code == Agency.code)
        .where(
            Agency.delivery_mode == "poll",
            Agency.active.is_(True),
            Delivery.state == "pending",
            Delivery.sent_at.is_not(None),
            Delivery.sent_at <= now,
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
