"""Queries of the national-axis protocol (credentials, forwards, receipts, VXP listings)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from ..delivery.models import UpstreamForward
from ..packages.models import Delivery, Package
from ..registry.models import Agency, AgencySystem
from .models import ReceiptReport, UpstreamReceipt, VxpCredential


class AxisRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # --- credentials ----------------------------------------------------------------
    async def credential_by_vxp_id(self, vxp_system_id: str) -> VxpCredential | None:
        return await self.session.scalar(
            select(VxpCredential).where(VxpCredential.vxp_system_id == vxp_system_id)
        )

    async def credential_of_system(self, system_id: str) -> VxpCredential | None:
        return await self.session.scalar(
            select(VxpCredential).where(VxpCredential.system_id == system_id)
        )

    async def system(self, system_id: str) -> AgencySystem | None:
        return await self.session.get(AgencySystem, system_id)

    # --- VXP listings -----------------------------------------------------------------
    async def open_deliveries(
        self, agencies: Iterable[str], kind: str, *, limit: int
    ) -> list[tuple[Delivery, Package]]:
        rows = await self.session.execute(
            select(Delivery, Package)
            .join(Package, Package.id == Delivery.package_id)
            .where(
                Delivery.recipient_code.in_(list(agencies)),
                Delivery.kind == kind,
                Delivery.state.in_(("pending", "delivered")),
            )
            .order_by(Delivery.queued_at, Delivery.id)
            .limit(limit)
        )
        return [(d, p) for d, p in rows.all()]

    async def count_open(self, agencies: Iterable[str], kind: str) -> int:
        total = await self.session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.recipient_code.in_(list(agencies)),
                Delivery.kind == kind,
                Delivery.state.in_(("pending", "delivered")),
            )
        )
        return int(total or 0)

    async def sent(
        self, senders: Iterable[str], kind: str, *, package_id: str | None, limit: int
    ) -> list[tuple[Package, Delivery]]:
        conditions = [Package.sender_code.in_(list(senders)), Package.kind == kind]
        if package_id:
            conditions.append(Package.id == package_id)
        recent = (
            select(Package.id)
            .where(*conditions)
            .order_by(Package.received_at.desc())
            .limit(limit)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(Package, Delivery)
            .join(Delivery, Delivery.package_id == Package.id)
            .where(Package.id.in_(recent))
            .order_by(Package.received_at.desc(), Delivery.recipient_code)
        )
        return [(p, d) for p, d in rows.all()]

    # --- agencies -------------------------------------------------------------------
    async def agencies(self, *, level: int | None = None) -> list[Agency]:
        conditions = [Agency.active.is_(True)]
        if level is not None:
            conditions.append(Agency.level == level)
        rows = await self.session.scalars(select(Agency).where(*conditions).order_by(Agency.code))
        return list(rows.all())

    async def all_agencies(self) -> list[Agency]:
        return list((await self.session.scalars(select(Agency).order_by(Agency.code))).all())

    # --- upstream forwarding ------------------------------------------------------------
    async def claim_forwards(
        self, now: datetime, lease_until: datetime, owner: str, limit: int
    ) -> list[UpstreamForward]:
        # most urgent first (Priority 1–4 overtake ordinary copies), then the longest due
        query = (
            select(UpstreamForward)
            .join(Package, Package.id == UpstreamForward.package_id)
            .where(
                UpstreamForward.state == "pending",
                UpstreamForward.next_attempt_at <= now,
                or_(UpstreamForward.lease_until.is_(None), UpstreamForward.lease_until < now),
            )
            .order_by(
                func.coalesce(Package.priority, 0).desc(),
                UpstreamForward.next_attempt_at,
                UpstreamForward.created_at,
            )
            .limit(limit)
        )
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=UpstreamForward)
        rows = list((await self.session.scalars(query)).all())
        for row in rows:
            row.lease_until = lease_until
            row.lease_owner = owner
        await self.session.flush()
        return rows

    async def forward(self, delivery_id: str) -> UpstreamForward | None:
        return await self.session.get(UpstreamForward, delivery_id)

    async def package_with_raw(self, package_id: str) -> Package | None:
        return await self.session.scalar(
            select(Package).where(Package.id == package_id).options(undefer(Package.raw))
        )

    async def release(self, delivery_ids: Sequence[str]) -> None:
        if delivery_ids:
            await self.session.execute(
                update(UpstreamForward)
                .where(UpstreamForward.delivery_id.in_(list(delivery_ids)))
                .values(lease_until=None, lease_owner=None)
            )

    # --- upstream receipts ----------------------------------------------------------------
    async def receipt(self, upstream_doc_id: str) -> UpstreamReceipt | None:
        return await self.session.get(UpstreamReceipt, upstream_doc_id)

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)

    async def reports_of(self, delivery_id: str) -> list[ReceiptReport]:
        rows = await self.session.scalars(
            select(ReceiptReport)
            .where(ReceiptReport.delivery_id == delivery_id)
            .order_by(ReceiptReport.at)
        )
        return list(rows.all())
