"""The hash-chained audit log.

Each chained event stores the hash of its predecessor (`prev_hash`, 64 zeros for the first) and
its own `hash` = SHA-256( prev_hash || canonical JSON of {seq, at, actor, action, subject, data} ).
Changing, inserting or deleting any chained event (except the very last, which a verifier
should compare with a copy it holds) breaks a link that `verify_chain` reports.

Appending and chaining are separate steps, so that business transactions never wait for each
other on the audit log:

- `AuditLog.append` inserts the event in the caller's transaction with only its content
  (`seq` comes from the database). No lock: a rolled-back transaction takes its event with it.
- `chain_pending` (a background loop in the server, and `gateway audit verify`) takes the
  committed events that have no place in the chain yet, in `seq` order, and links them after the
  chain's tail in one short transaction. Only one chainer works at a time (an advisory lock on
  PostgreSQL, the write lock on SQLite) and `chain_pos` is unique, so the chain cannot fork.

The chain order is the order in which events were chained; it can differ from `seq` when
transactions commit out of order. An event is tamper-evident from the moment it is chained
(normally within a second of its commit; `pending` in a `ChainReport` counts the rest).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import Database, utcnow
from .models import AuditEvent
from .repository import AuditRepository

GENESIS = "0" * 64


def _normalise(data: Any) -> Any:
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def canonical(
    seq: int, at: datetime, actor: str, action: str, subject: str | None, data: Any
) -> bytes:
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "data": data,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def event_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str | None, data: Any
) -> str:
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(canonical(seq, at, actor, action, subject, data))
    return digest.hexdigest()


class AuditLog:
    """Appends events in the caller's transaction (never commits, never waits for a lock)."""

    def __init__(self, session: AsyncSession):
        self.repo = AuditRepository(session)

    async def append(
        self,
        action: str,
        *,
        actor: str,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEvent:
        event = AuditEvent(
            # microsecond precision is what both databases keep
            at=(at or utcnow()).astimezone(UTC),
            actor=actor,
            action=action,
            subject=subject,
            data=_normalise(data or {}),
        )
        await self.repo.add(event)
        return event


async def chain_pending(session: AsyncSession, *, batch: int = 1000) -> int:
    """Link every committed, unchained event after the chain's tail, in `seq` order; returns
    how many. Runs in the caller's transaction (the caller commits). Returns 0 at once when
    another chainer holds the lock (it will chain these events itself)."""
    repo = AuditRepository(session)
    if not await repo.try_lock_chain():
        return 0
    tail = await repo.chain_tail()
    pos, prev = tail if tail else (0, GENESIS)
    chained = 0
    while rows := await repo.unchained(batch):
        links = []
        for ev in rows:
            pos += 1
            link = event_hash(prev, ev.seq, ev.at, ev.actor, ev.action, ev.subject, ev.data)
            links.append({"s": ev.seq, "pos": pos, "prev": prev, "h": link})
            prev = link
        await repo.link(links)
        chained += len(links)
        if len(rows) < batch:
            break
    return chained


async def chain_all(db: Database) -> int:
    """`chain_pending` in its own write transaction."""
    async with db.sessionmaker() as session:
        await db.begin_write(session)
        try:
            chained = await chain_pending(session)
            await session.commit()
            return chained
        finally:
            db.end_write(session)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    last_hash: str | None = None
    pending: int = 0
    """Committed events not chained yet (not covered by this verdict)."""


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Recompute every link, in chain order; report the first broken one."""
    repo = AuditRepository(session)
    prev = GENESIS
    checked = 0
    pending = await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.chain_pos.is_(None))
    )
    async for ev in repo.iterate_chain():
        if ev.chain_pos != checked + 1 or ev.prev_hash != prev:
            return ChainReport(
                False,
                checked,
                ev.seq,
                f"event {ev.seq}: prev_hash does not match the hash of the previous event "
                "(an event was removed, inserted or altered)",
            )
        expected = event_hash(ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.subject, ev.data)
        if expected != ev.hash:
            return ChainReport(
                False, checked, ev.seq, f"event {ev.seq}: content does not match its hash"
            )
        prev = ev.hash
        checked += 1
    return ChainReport(
        True, checked, last_hash=None if checked == 0 else prev, pending=pending or 0
    )


async def chain_and_verify(db: Database) -> ChainReport:
    """What `gateway audit verify` does: chain whatever is pending, then verify everything."""
    await chain_all(db)
    async with db.sessionmaker() as session:
        return await verify_chain(session)
