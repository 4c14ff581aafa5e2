"""Queries on the audit event log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import AuditEvent

# pg_try_advisory_xact_lock key: one chainer at a time ("GWAUDIT" in ASCII, as a bigint)
AUDIT_LOCK_KEY = 0x4757415544_4954


class AuditRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def add(self, event: AuditEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def add_many(self, rows: list[dict[str, Any]]) -> None:
        """One multi-row INSERT (each event its own seq from the database; chain fields NULL)."""
        await self.session.execute(insert(AuditEvent.__table__), rows)

    # the chainer -----------------------------------------------------------------------
    async def try_lock_chain(self, *, wait: bool = False) -> bool:
        """PostgreSQL: the chainer's lock until the end of the transaction, or False if another
        chainer holds it (`wait`: wait for it instead). SQLite: the caller's write transaction
        already excludes others."""
        if self.session.bind is None or self.session.bind.dialect.name != "postgresql":
            return True
        if wait:
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY}
            )
            return True
        return bool(
            await self.session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY}
            )
        )

    async def chain_tail(self) -> tuple[int, str] | None:
        row = (
            await self.session.execute(
                select(AuditEvent.chain_pos, AuditEvent.hash)
                .where(AuditEvent.chain_pos.is_not(None))
                .order_by(AuditEvent.chain_pos.desc())
                .limit(1)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def unchained(self, limit: int) -> Sequence[Row[Any]]:
        return (
            await self.session.execute(
                select(
                    AuditEvent.seq,
                    AuditEvent.at,
                    AuditEvent.actor,
                    AuditEvent.action,
                    AuditEvent.subject,
                    AuditEvent.data,
                )
                .where(AuditEvent.chain_pos.is_(None))
                .order_by(AuditEvent.seq)
                .limit(limit)
            )
        ).all()

    async def link(self, links: list[dict[str, Any]]) -> None:
        """Write chain positions and hashes: dicts of s (seq), pos, prev, h (hash)."""
        table = AuditEvent.__table__
        await self.session.execute(
            update(table)
            .where(table.c.seq == bindparam("s"), table.c.chain_pos.is_(None))
            .values(chain_pos=bindparam("pos"), prev_hash=bindparam("prev"), hash=bindparam("h")),
            links,
        )

    async def iterate_chain(self, batch: int = 1000) -> AsyncIterator[AuditEvent]:
        """Chained events in chain order."""
        after = 0
        while True:
            rows = (
                await self.session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.chain_pos > after)
                    .order_by(AuditEvent.chain_pos)
                    .limit(batch)
                )
            ).all()
            if not rows:
                return
            for row in rows:
                yield row
            after = rows[-1].chain_pos
            self.session.expunge_all()

    async def for_subject(self, subject: str) -> list[AuditEvent]:
        return list(
            (
                await self.session.scalars(
                    select(AuditEvent).where(AuditEvent.subject == subject).order_by(AuditEvent.seq)
                )
            ).all()
        )
