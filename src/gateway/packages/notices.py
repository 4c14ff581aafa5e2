"""Notices to a sender, written in the caller's transaction (a push copy not being "sent" until
its endpoint answers 2xx is intake's own rule, gateway.packages.service `_plan`).

- `queue_ack_notice`: when a recipient acknowledges its copy, the original sender is told:
  a push-mode sender the way packages travel (outbox → queue → worker), pushed as JSON

      {"type": "delivery.acknowledged", "notice_id", "package_id", "delivery_id",
       "recipient", "acknowledged_at"}

  with the usable push headers (X-Gateway-Delivery-Id carries the notice id); a poll-mode
  sender's notice is written `available` at once, in the acknowledging transaction, and
  listed in GET /api/v1/notices — exactly what the worker would have made of it, without the
  trip through outbox, relay, queue and worker (issue 14). (The acknowledgement also shows in
  the package's timeline at once.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import new_id, show_time
from ..outbox import OutboxMessage
from ..outbox_wake import notify_outbox
from ..registry.models import Agency
from .models import Delivery, Notice, Package


async def queue_ack_notice(
    session: AsyncSession, delivery: Delivery, at: datetime
) -> Notice | None:
    # the package and how its sender takes notices, in one query
    row = (
        await session.execute(
            select(Package, Agency.delivery_mode, Agency.endpoint_url)
            .outerjoin(Agency, Agency.code == Package.sender_code)
            .where(Package.id == delivery.package_id)
        )
    ).first()
    if row is None:
        return None
    package, mode, endpoint = row
    notice, ready = sender_notice(
        package,
        delivery,
        "delivery.acknowledged",
        at,
        {
            "package_id": package.id,
            "document_id": package.document_id,
            "delivery_id": delivery.id,
            "recipient": delivery.recipient_code,
            "acknowledged_at": show_time(at),
        },
    )
    if mode == "push" and endpoint:
        session.add(notice)
        session.add(ready)
        notify_outbox(session)
    else:  # nothing to push: listed for polling now, as the worker would have settled it
        notice.state = "available"
        notice.sent_at = at
        session.add(notice)
    return notice


def sender_notice(
    package, delivery: Delivery, kind: str, at: datetime, details: dict, *, priority: int = 0
) -> tuple[Notice, OutboxMessage]:
    """A notice to a package's sender about one of its copies, and the outbox row that hands
    it to the worker (pushed to a push-mode sender, listed for a poll-mode one). Not added to
    the session: the caller adds them with the rest of its transaction."""
    notice = Notice(
        id=new_id(),
        agency_code=package.sender_code,
        type=kind,
        package_id=package.id,
        delivery_id=delivery.id,
        state="pending",
        created_at=at,
        attempts=0,
    )
    notice.payload = {"type": kind, "notice_id": notice.id, **details}
    ready = OutboxMessage(
        topic="notice.ready",
        payload={
            "delivery_id": notice.id,
            "package_id": package.id,
            "recipient": package.sender_code,
            "kind": "notice",
            "priority": priority,
        },
        created_at=at,
    )
    return notice, ready
