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

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import new_id, show_time
from ..outbox import OutboxMessage
from ..outbox_wake import notify_outbox
from .intake_store import row_values
from .models import Delivery, Notice
from .poll_store import Acked

_INSERT_NOTICE = insert(Notice.__table__)
_INSERT_OUTBOX = insert(OutboxMessage.__table__)


async def queue_ack_notice(session: AsyncSession, acked: Acked, at: datetime) -> None:
    """The sender's `delivery.acknowledged` notice for a copy just acknowledged
    (gateway.packages.poll_store.record_ack said who the sender is and how it takes notices):
    one INSERT, plus the outbox row when it is pushed."""
    notice, ready = _notice(
        acked.sender_code,
        acked.package_id,
        acked.delivery_id,
        "delivery.acknowledged",
        at,
        {
            "package_id": acked.package_id,
            "document_id": acked.document_id,
            "delivery_id": acked.delivery_id,
            "recipient": acked.recipient_code,
            "acknowledged_at": show_time(at),
        },
    )
    if not acked.sender_pushes:  # listed for polling now, as the worker would have settled it
        notice.state = "available"
        notice.sent_at = at
    await session.execute(_INSERT_NOTICE, row_values(notice))
    if acked.sender_pushes:
        await session.execute(_INSERT_OUTBOX, row_values(ready))
        notify_outbox(session)


def sender_notice(
    package, delivery: Delivery, kind: str, at: datetime, details: dict, *, priority: int = 0
) -> tuple[Notice, OutboxMessage]:
    """A notice to a package's sender about one of its copies, and the outbox row that hands
    it to the worker (pushed to a push-mode sender, listed for a poll-mode one). Not added to
    the session: the caller adds them with the rest of its transaction."""
    return _notice(package.sender_code, package.id, delivery.id, kind, at, details, priority)


def _notice(
    sender_code: str,
    package_id: str,
    delivery_id: str,
    kind: str,
    at: datetime,
    details: dict,
    priority: int = 0,
) -> tuple[Notice, OutboxMessage]:
    notice = Notice(
        id=new_id(),
        agency_code=sender_code,
        type=kind,
        package_id=package_id,
        delivery_id=delivery_id,
        state="pending",
        created_at=at,
        attempts=0,
    )
    notice.payload = {"type": kind, "notice_id": notice.id, **details}
    ready = OutboxMessage(
        topic="notice.ready",
        payload={
            "delivery_id": notice.id,
            "package_id": package_id,
            "recipient": sender_code,
            "kind": "notice",
            "priority": priority,
        },
        created_at=at,
    )
    return notice, ready
