"""Documents handled on paper during an outage (never commits; audited).

An operator records, for a copy the gateway could not deliver, the paper dispatch that replaced
it (reference — số, ký hiệu of the paper dispatch —, date, by whom). After recovery each record
is reconciled: `keep` when the electronic copy was delivered too (the recipient holds both;
its receipt time stays the electronic one) or `cancel` when the electronic copy should no longer
be delivered (it is cancelled with the reason "handled on paper: <reference>")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..db import utcnow
from ..delivery.service import DeliveryAdmin
from ..errors import Conflict, GatewayError, NotFound
from ..packages.models import Delivery
from .models import PaperHandling

RECORDABLE = ("pending", "failed")  # not delivered yet: what paper can stand in for


class PaperNotAllowed(GatewayError):
    status_code = 409
    code = "PAPER_NOT_ALLOWED"
    default_message = "Không ghi nhận xử lý bản giấy được cho bản gửi này"
    description = "Only a copy not yet delivered (pending, failed) can be recorded as handled on "
    "paper, once; a reconciled record cannot change"


class PaperHandlings:
    def __init__(
        self, session: AsyncSession, actor: str, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock
        self.audit = AuditLog(session)

    async def record(
        self, delivery_id: str, *, reference: str, handled_on: date, handled_by: str, note: str
    ) -> PaperHandling:
        delivery = await self.session.get(Delivery, delivery_id, with_for_update=True)
        if delivery is None:
            raise NotFound(f"Không có bản gửi {delivery_id}")
        if delivery.state not in RECORDABLE:
            raise PaperNotAllowed(
                f"Bản gửi đang ở trạng thái {delivery.state}: chỉ ghi nhận bản giấy cho bản gửi "
                "chưa được chuyển (pending, failed)",
                details={"state": delivery.state},
            )
        taken = await self.session.scalar(
            select(PaperHandling.id).where(PaperHandling.delivery_id == delivery_id)
        )
        if taken is not None:
            raise PaperNotAllowed(
                f"Bản gửi đã có ghi nhận bản giấy #{taken}", details={"id": taken}
            )
        now = self.clock()
        paper = PaperHandling(
            delivery_id=delivery_id,
            reference=reference.strip(),
            handled_on=handled_on,
            handled_by=handled_by.strip(),
            note=note.strip(),
            recorded_by=self.actor,
            recorded_at=now,
        )
        self.session.add(paper)
        await self.session.flush()
        await self.audit.append(
            "paper.recorded",
            actor=self.actor,
            subject=f"delivery:{delivery_id}",
            at=now,
            data={
                "paper_id": paper.id,
                "reference": paper.reference,
                "handled_on": handled_on.isoformat(),
                "handled_by": paper.handled_by,
                "recipient": delivery.recipient_code,
                "state": delivery.state,
            },
        )
        return paper

    async def reconcile(
        self, paper_id: int, outcome: Literal["keep", "cancel"], note: str = ""
    ) -> PaperHandling:
        paper = await self.session.get(PaperHandling, paper_id, with_for_update=True)
        if paper is None:
            raise NotFound(f"Không có ghi nhận bản giấy #{paper_id}")
        if paper.reconciled_at is not None:
            raise PaperNotAllowed(f"Ghi nhận #{paper_id} đã được đối chiếu ({paper.outcome})")
        delivery = await self.session.get(Delivery, paper.delivery_id)
        assert delivery is not None  # the record goes with its copy
        if outcome == "cancel":
            reason = f"handled on paper: {paper.reference}"
            try:
                await DeliveryAdmin(self.session, self.actor, clock=self.clock).cancel(
                    paper.delivery_id, reason=reason
                )
            except Conflict:
                raise PaperNotAllowed(
                    f"Bản điện tử đã ở trạng thái {delivery.state}: không hủy được, hãy chọn keep",
                    details={"state": delivery.state},
                ) from None
        elif delivery.state not in ("delivered", "acknowledged"):
            raise PaperNotAllowed(
                f"Bản điện tử chưa được chuyển (trạng thái {delivery.state}): chờ chuyển xong "
                "hoặc chọn cancel",
                details={"state": delivery.state},
            )
        now = self.clock()
        paper.reconciled_at = now
        paper.reconciled_by = self.actor
        paper.outcome = "cancelled" if outcome == "cancel" else "kept"
        await self.audit.append(
            "paper.reconciled",
            actor=self.actor,
            subject=f"delivery:{paper.delivery_id}",
            at=now,
            data={"paper_id": paper.id, "outcome": paper.outcome, "note": note.strip()},
        )
        await self.session.flush()
        return paper

    async def list(self, *, open_only: bool = False) -> list[PaperHandling]:
        query = select(PaperHandling).order_by(PaperHandling.id)
        if open_only:
            query = query.where(PaperHandling.reconciled_at.is_(None))
        return list(await self.session.scalars(query))
