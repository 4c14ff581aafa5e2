"""Queries on packages, deliveries, business statuses and document references."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from .models import BusinessStatus, Delivery, DocumentReference, Package


class PackageRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # --- reads ---------------------------------------------------------------------------
    async def get(self, package_id: str, *, with_raw: bool = False) -> Package | None:
        if with_raw:
            return await self.session.scalar(
                select(Package).where(Package.id == package_id).options(undefer(Package.raw))
            )
        return await self.session.get(Package, package_id)

    async def by_idempotency_key(self, key: str) -> Package | None:
        return await self.session.scalar(select(Package).where(Package.idempotency_key == key))

    async def original_by_document_id(
        self, document_id: str, sender: str | None = None
    ) -> Package | None:
        """The first new (type 0) document with this DocumentId, optionally from `sender`."""
        conditions = [
            Package.kind == "document",
            Package.document_id == document_id,
            Package.business_type == 0,
        ]
        if sender:
            conditions.append(Package.sender_code == sender)
        return await self.session.scalar(
            select(Package).where(*conditions).order_by(Package.received_at).limit(1)
        )

    async def original_by_code(self, issuer: str, code: str) -> Package | None:
        return await self.session.scalar(
            select(Package)
            .where(
                Package.kind == "document",
                Package.sender_code == issuer,
                Package.code == code,
                Package.business_type == 0,
            )
            .order_by(Package.received_at)
            .limit(1)
        )

    async def originals_for_status(
        self, document_id: str | None, code: str | None, *, issuers: set[str]
    ) -> list[Package]:
        """New (type 0) documents a status may be about: by DocumentId, else by the Code of
        one of `issuers` (gateway.packages.status_rules decides which one, if any)."""
        base = [Package.kind == "document", Package.business_type == 0]
        if document_id:
            rows = await self.session.scalars(
                select(Package)
                .where(*base, Package.document_id == document_id)
                .order_by(Package.received_at, Package.id)
            )
            found = list(rows.all())
            if found:
                return found
        if not code:
            return []
        rows = await self.session.scalars(
            select(Package)
            .where(*base, Package.code == code, Package.sender_code.in_(sorted(issuers)))
            .order_by(Package.received_at, Package.id)
        )
        return list(rows.all())

    async def lock_delivery(self, delivery_id: str) -> None:
        await self.session.execute(
            select(Delivery.id).where(Delivery.id == delivery_id).with_for_update()
        )

    async def statuses_of_delivery(self, delivery_id: str) -> list[BusinessStatus]:
        rows = await self.session.scalars(
            select(BusinessStatus)
            .where(BusinessStatus.delivery_id == delivery_id)
            .order_by(BusinessStatus.received_at, BusinessStatus.id)
        )
        return list(rows.all())

    async def requests_sent_to(
        self, original_id: str, recipient: str, *, business_types: Sequence[int]
    ) -> int:
        """How many revoke/update packages about `original_id` went to `recipient`."""
        count = await self.session.scalar(
            select(func.count())
            .select_from(DocumentReference)
            .join(Delivery, Delivery.package_id == DocumentReference.package_id)
            .where(
                DocumentReference.original_package_id == original_id,
                DocumentReference.business_type.in_(list(business_types)),
                Delivery.recipient_code == recipient,
            )
        )
        return int(count or 0)

    async def deliveries_of(self, package_id: str) -> list[Delivery]:
        rows = await self.session.scalars(
            select(Delivery)
            .where(Delivery.package_id == package_id)
            .order_by(Delivery.recipient_code)
        )
        return list(rows.all())

    async def delivery(self, delivery_id: str) -> Delivery | None:
        return await self.session.get(Delivery, delivery_id)

    async def statuses_for(self, original_id: str) -> list[BusinessStatus]:
        rows = await self.session.scalars(
            select(BusinessStatus)
            .where(BusinessStatus.original_package_id == original_id)
            .order_by(BusinessStatus.received_at, BusinessStatus.id)
        )
        return list(rows.all())

    async def status_of_package(self, status_package_id: str) -> BusinessStatus | None:
        return await self.session.scalar(
            select(BusinessStatus).where(BusinessStatus.status_package_id == status_package_id)
        )

    async def related_to(self, original_id: str) -> list[tuple[DocumentReference, Package]]:
        rows = await self.session.execute(
            select(DocumentReference, Package)
            .join(Package, Package.id == DocumentReference.package_id)
            .where(DocumentReference.original_package_id == original_id)
            .order_by(Package.received_at)
        )
        return [(r, p) for r, p in rows.all()]

    async def references_of(self, package_id: str) -> list[DocumentReference]:
        rows = await self.session.scalars(
            select(DocumentReference)
            .where(DocumentReference.package_id == package_id)
            .order_by(DocumentReference.document_id)
        )
        return list(rows.all())
