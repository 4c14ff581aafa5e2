"""Hooks the intake and acknowledgement code call, in their own transaction.

- `hold_push_copies`: a copy for a push-mode recipient is not "sent" when it is queued; its
  `sent_at` (and legal receipt time) are set when its endpoint answers 2xx.
- `queue_ack_notice`: when a recipient acknowledges its copy, the original sender is told the
  same way packages travel (outbox → queue → worker): pushed as JSON to a push-mode sender

      {"type": "delivery.acknowledged", "notice_id", "package_id", "delivery_id",
       "recipient", "acknowledged_at"}

  with the usable push headers (X-Gateway-Delivery-Id carries the notice id), or listed in
  GET /api/v1/notices for a poll-mode sender. (The acknowledgement also shows in the
  package's timeline at once.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import new_id, show_time
from ..outbox import OutboxMessage
from ..registry.repository import AgencyRepository
from .models import Delivery, Notice
from .repository import PackageRepository


async def hold_push_copies(session: AsyncSession, deliveries: Sequence[Delivery]) -> None:
    agencies = await AgencyRepository(session).get_many([d.recipient_code for d in deliveries])
    for d in deliveries:
        agency = agencies.get(d.recipient_code)
        if agency is not None and agency.delivery_mode == "push" and agency.endpoint_url:
            d.sent_at = None
            d.legal_received_at = None


async def queue_ack_notice(
    session: AsyncSession, delivery: Delivery, at: datetime
) -> Notice | None:
    package = await PackageRepository(session).get(delivery.package_id)
    if package is None:
        return None
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
    session.add(notice)
    session.add(ready)
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
