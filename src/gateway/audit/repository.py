"""Queries on the audit event log."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from .models import AuditEvent

# pg_advisory_xact_lock key serialising audit appends ("GWAUDIT" in ASCII, as a bigint)
AUDIT_LOCK_KEY = 0x4757415544_4954


class AuditRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def lock_for_append(self) -> None:
        """Serialise appenders until the end of the transaction (PostgreSQL). SQLite writers
        are already serialised by BEGIN IMMEDIATE."""
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY}
            )

    async def tail(self) -> tuple[int, str] | None:
        row = (
            await self.session.execute(
                select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def add(self, event: AuditEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def iterate(self, batch: int = 1000) -> AsyncIterator[AuditEvent]:
        after = -1
        while True:
            rows = (
                await self.session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.seq > after)
                    .order_by(AuditEvent.seq)
                    .limit(batch)
                )
            ).all()
            if not rows:
                return
            for row in rows:
                yield row
            after = rows[-1].seq
            self.session.expunge_all()

    async def for_subject(self, subject: str) -> list[AuditEvent]:
        return list(
            (
                await self.session.scalars(
                    select(AuditEvent).where(AuditEvent.subject == subject).order_by(AuditEvent.seq)
                )
            ).all()
        )
