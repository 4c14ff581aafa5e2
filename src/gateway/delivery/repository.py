"""Queries of the delivery capability: outbox, the embedded queue, deliveries, notices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import LargeBinary, and_, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from ..outbox import OutboxMessage
from ..packages.models import Delivery, Notice, Package
from ..registry.models import Agency
from .models import EndpointHealth, QueuedJob, UpstreamForward

INLINE_BYTES = 1 << 20
"""A push job's package bytes come with its one joined read up to this size (nearly all)."""
SLICE_BYTES = 256 * 1024
"""A larger package is read in slices of this size into one buffer: the driver holds a slice
at a time instead of the copies of a single large value it builds while reading it (asyncpg:
its receive buffers, the message, the decoded bytes — a 25 MB value peaked at 3.0x its size,
read in 256 KiB slices 1.1x; issue 14)."""


class DeliveryRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # --- outbox ----------------------------------------------------------------------
    async def claim_outbox(self, limit: int) -> list[OutboxMessage]:
        """Unpublished rows, oldest first, locked for this transaction; rows another relay
        holds are skipped (PostgreSQL). SQLite ignores the clause: its writers are serial."""
        rows = await self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(rows.all())

    async def claim_outbox_peek(self) -> bool:
        """Is anything unpublished? (a read, so an idle relay takes no lock)"""
        first = await self.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.published_at.is_(None)).limit(1)
        )
        return first is not None

    async def unpublished_count(self) -> int:
        from sqlalchemy import func

        return int(
            await self.session.scalar(
                select(func.count()).where(OutboxMessage.published_at.is_(None))
            )
            or 0
        )

    def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        self.session.add_all(messages)

    # --- embedded queue ----------------------------------------------------------------
    def add_jobs(self, rows: Sequence[QueuedJob]) -> None:
        self.session.add_all(rows)

    async def claim_jobs(self, now: datetime, limit: int) -> list[QueuedJob]:
        rows = await self.session.scalars(
            select(QueuedJob)
            .where(
                QueuedJob.state == "queued",
                QueuedJob.available_at <= now,
                (QueuedJob.locked_until.is_(None)) | (QueuedJob.locked_until < now),
            )
            .order_by(QueuedJob.urgent.desc(), QueuedJob.available_at, QueuedJob.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(rows.all())

    async def next_available_at(self, now: datetime) -> datetime | None:
        """When the next unclaimed job becomes available (None: nothing waiting)."""
        return await self.session.scalar(
            select(QueuedJob.available_at)
            .where(
                QueuedJob.state == "queued",
                (QueuedJob.locked_until.is_(None)) | (QueuedJob.locked_until < now),
            )
            .order_by(QueuedJob.available_at)
            .limit(1)
        )

    async def job(self, job_id: int) -> QueuedJob | None:
        return await self.session.get(QueuedJob, job_id)

    async def delete_job(self, job_id: int) -> None:
        await self.session.execute(delete(QueuedJob).where(QueuedJob.id == job_id))

    async def release_jobs(self, ids: Sequence[int]) -> None:
        if ids:
            await self.session.execute(
                update(QueuedJob)
                .where(QueuedJob.id.in_(list(ids)))
                .values(locked_until=None, locked_by=None)
            )

    async def renew_jobs(self, ids: Sequence[int], owner: str, until: datetime) -> None:
        """Extend the owner's leases (never one another consumer has taken over since)."""
        if ids:
            await self.session.execute(
                update(QueuedJob)
                .where(QueuedJob.id.in_(list(ids)), QueuedJob.locked_by == owner)
                .values(locked_until=until)
            )

    async def lease_holders(self, now: datetime) -> list[str]:
        rows = await self.session.scalars(
            select(QueuedJob.locked_by)
            .where(QueuedJob.locked_by.is_not(None), QueuedJob.locked_until >= now)
            .distinct()
        )
        return [r for r in rows.all() if r]

    async def release_jobs_of(self, owners: Sequence[str]) -> int:
        if not owners:
            return 0
        result = await self.session.execute(
            update(QueuedJob)
            .where(QueuedJob.locked_by.in_(list(owners)))
            .values(locked_until=None, locked_by=None)
        )
        return int(result.rowcount or 0)

    async def dead_jobs(self, limit: int = 100) -> list[QueuedJob]:
        rows = await self.session.scalars(
            select(QueuedJob).where(QueuedJob.state == "dead").order_by(QueuedJob.id).limit(limit)
        )
        return list(rows.all())

    # --- deliveries --------------------------------------------------------------------
    async def delivery(self, delivery_id: str, *, lock: bool = False) -> Delivery | None:
        stmt = select(Delivery).where(Delivery.id == delivery_id)
        if lock:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def copy_to_deliver(
        self, delivery_id: str
    ) -> tuple[Delivery, Agency | None, bool, bytes | None, int | None] | None:
        """A delivery job's reads in one round trip: the copy, its recipient agency, whether
        its package still exists, and for a push-mode recipient only (a poll copy never loads
        them, whatever their size) the package's size and its bytes — None when larger than
        INLINE_BYTES: read those with `package_in_slices`."""
        push = and_(Agency.delivery_mode == "push", func.coalesce(Agency.endpoint_url, "") != "")
        size = func.length(Package.raw)  # from the stored value's header: nothing is read
        row = (
            await self.session.execute(
                select(
                    Delivery,
                    Agency,
                    Package.id.is_not(None),
                    case((and_(push, size <= INLINE_BYTES), Package.raw), else_=None),
                    case((push, size), else_=None),
                )
                .outerjoin(Agency, Agency.code == Delivery.recipient_code)
                .outerjoin(Package, Package.id == Delivery.package_id)
                .where(Delivery.id == delivery_id)
            )
        ).first()
        return None if row is None else (row[0], row[1], bool(row[2]), row[3], row[4])

    async def package_in_slices(self, package_id: str, size: int) -> bytearray | None:
        """A package's `size` bytes read SLICE_BYTES at a time into one buffer; None when it
        is gone (or changed) meanwhile."""
        buffer = bytearray(size)
        for at in range(0, size, SLICE_BYTES):
            piece = await self.session.scalar(
                select(func.substr(Package.raw, at + 1, SLICE_BYTES, type_=LargeBinary)).where(
                    Package.id == package_id
                )
            )
            if piece is None or len(piece) != min(SLICE_BYTES, size - at):
                return None
            buffer[at : at + len(piece)] = piece
            del piece
        return buffer

    async def copies_needing_work(self, ids: Sequence[str]) -> set[str]:
        """Of these copies, those a delivery job still has work for: pending, and either for a
        push-mode recipient or not yet marked sent (gateway.delivery.service's first checks).
        A poll copy marked sent at intake is already in its recipient's inbox."""
        if not ids:
            return set()
        push = and_(Agency.delivery_mode == "push", func.coalesce(Agency.endpoint_url, "") != "")
        rows = await self.session.scalars(
            select(Delivery.id)
            .outerjoin(Agency, Agency.code == Delivery.recipient_code)
            .where(
                Delivery.id.in_(list(ids)),
                Delivery.state == "pending",
                push | Delivery.sent_at.is_(None),
            )
        )
        return set(rows.all())

    async def locked_with_health(self, delivery_id: str) -> tuple[Delivery | None, bool]:
        """The copy locked for recording a push result, and whether its recipient's endpoint is
        marked failing (gateway.outages.health) — one round trip for the usual healthy case."""
        row = (
            await self.session.execute(
                select(Delivery, EndpointHealth.failing_since.is_not(None))
                .outerjoin(EndpointHealth, EndpointHealth.target == Delivery.recipient_code)
                .where(Delivery.id == delivery_id)
                .with_for_update(of=Delivery)
            )
        ).first()
        return (None, False) if row is None else (row[0], bool(row[1]))

    async def forwards_for(self, delivery_ids: Sequence[str]) -> dict[str, UpstreamForward]:
        if not delivery_ids:
            return {}
        rows = await self.session.scalars(
            select(UpstreamForward).where(UpstreamForward.delivery_id.in_(list(delivery_ids)))
        )
        return {f.delivery_id: f for f in rows.all()}

    async def package(self, package_id: str, *, with_raw: bool = False) -> Package | None:
        stmt = select(Package).where(Package.id == package_id)
        if with_raw:
            stmt = stmt.options(undefer(Package.raw))
        return await self.session.scalar(stmt)

    async def packages(self, ids: Iterable[str]) -> dict[str, Package]:
        wanted = list(ids)
        if not wanted:
            return {}
        rows = await self.session.scalars(select(Package).where(Package.id.in_(wanted)))
        return {p.id: p for p in rows.all()}

    async def agency(self, code: str) -> Agency | None:
        return await self.session.get(Agency, code)

    async def deliveries(
        self,
        *,
        states: Sequence[str] | None = None,
        agency: str | None = None,
        ids: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        lock: bool = False,
    ) -> list[Delivery]:
        stmt = select(Delivery)
        if states:
            stmt = stmt.where(Delivery.state.in_(list(states)))
        if agency:
            stmt = stmt.where(Delivery.recipient_code == agency)
        if ids is not None:
            stmt = stmt.where(Delivery.id.in_(list(ids)))
        stmt = stmt.order_by(Delivery.updated_at, Delivery.id).offset(offset).limit(limit)
        if lock:
            stmt = stmt.with_for_update()
        return list((await self.session.scalars(stmt)).all())

    # --- notices -----------------------------------------------------------------------
    async def notice(self, notice_id: str) -> Notice | None:
        return await self.session.get(Notice, notice_id)

    async def notices_for(
        self, agency: str, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[Notice]:
        stmt = select(Notice).where(
            Notice.agency_code == agency, Notice.state.in_(("available", "delivered"))
        )
        if after is not None:
            at, last = after
            stmt = stmt.where(
                (Notice.created_at > at) | ((Notice.created_at == at) & (Notice.id > last))
            )
        stmt = stmt.order_by(Notice.created_at, Notice.id).limit(limit)
        return list((await self.session.scalars(stmt)).all())
