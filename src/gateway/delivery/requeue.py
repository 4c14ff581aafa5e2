"""Putting copies back in line: an operator's resend of failed copies (DeliveryAdmin) and the
drain of a recovered endpoint's backlog (gateway.outages). Never commits.

A copy goes back the way it first went: a push or poll copy through the outbox (the relay
publishes it, gateway.delivery.relay); a copy for the national axis through its forward row,
due now (gateway.axis.connector). Most urgent first: outbox rows are relayed in id order and
every queue takes urgent jobs before ordinary ones, so writing them highest Priority first,
then oldest first, is the order in which they are attempted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..outbox import OutboxMessage
from ..outbox_wake import notify_outbox
from ..packages.models import Delivery, Package
from .repository import DeliveryRepository


def delivery_outbox_row(
    delivery_id: str,
    package_id: str,
    recipient: str,
    kind: str,
    priority: int | None,
    at: datetime,
    request_id: str | None = None,
    attempt: int = 1,
) -> OutboxMessage:
    return OutboxMessage(
        topic="delivery.ready",
        payload={
            "delivery_id": delivery_id,
            "package_id": package_id,
            "recipient": recipient,
            "kind": kind,
            "priority": priority or 0,
            "request_id": request_id,  # its intake request (observability.logging)
            "attempt": attempt,
        },
        created_at=at,
    )


def most_urgent_first(
    rows: Iterable[Delivery], packages: Mapping[str, Package | None]
) -> list[Delivery]:
    """Highest Priority first (hỏa tốc before khẩn before thường), then the oldest copy."""

    def priority(d: Delivery) -> int:
        package = packages.get(d.package_id)
        return (package.priority or 0) if package is not None else 0

    return sorted(rows, key=lambda d: (-priority(d), d.queued_at, d.id))


class Requeue:
    def __init__(self, session: AsyncSession, actor: str) -> None:
        self.repo = DeliveryRepository(session)
        self.audit = AuditLog(session)
        self.actor = actor

    async def line_up(self, rows: Sequence[Delivery], *, now: datetime, reason: str) -> None:
        """Attempt each copy again now, most urgent first.

        A `failed` copy (locked by the caller) starts a new round: `pending` again, the retry
        budget counting from now, audited as `delivery.resent` with `reason`. A `pending` copy
        waiting for its next retry keeps its round: its job carries the attempt number it would
        have had, so no attempt is burnt and the budget is not reset. The job it was waiting
        with still comes later and finds the copy done (the handler's first check).
        """
        if any(d.state not in ("failed", "pending") for d in rows):
            raise ValueError("only failed or pending copies can be lined up again")
        packages = await self.repo.packages({d.package_id for d in rows})
        forwards = await self.repo.forwards_for([d.id for d in rows])
        resent = []
        for d in most_urgent_first(rows, packages):
            resend = d.state == "failed"
            if resend:
                resent.append(d)
                d.state = "pending"
                d.retry_from = now
                d.last_error = None
                d.updated_at = now
            forward = forwards.get(d.id)
            if forward is not None:  # a copy for the national axis: its forward row is the job
                forward.next_attempt_at = now
                if resend:
                    forward.state = "pending"
                    forward.attempts = 0
                    forward.last_error = None
                continue
            package = packages.get(d.package_id)
            self.repo.add_outbox(
                [
                    delivery_outbox_row(
                        d.id,
                        d.package_id,
                        d.recipient_code,
                        d.kind,
                        package.priority if package else 0,
                        now,
                        package.request_id if package else None,
                        attempt=1 if resend else d.attempts + 1,
                    )
                ]
            )
        notify_outbox(self.repo.session)
        # rows are written (and locked) before the audit log's lock is taken
        await self.repo.session.flush()
        for d in resent:
            await self.audit.append(
                "delivery.resent",
                actor=self.actor,
                subject=f"delivery:{d.id}",
                at=now,
                data={"reason": reason, "previous_state": "failed", "recipient": d.recipient_code},
            )
