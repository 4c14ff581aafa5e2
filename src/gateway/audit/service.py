"""The hash-chained audit log.

Each event stores the hash of its predecessor (`prev_hash`, 64 zeros for the first) and its own
`hash` = SHA-256( prev_hash || canonical JSON of {seq, at, actor, action, subject, data} ).
Changing, inserting or deleting any committed event (except the very last, which a verifier
should compare with a copy it holds) breaks a link that `verify_chain` reports.

Appends are serialised so the chain never forks: on PostgreSQL an advisory transaction lock is
taken before reading the tail; on SQLite every write transaction already holds the write lock
(BEGIN IMMEDIATE). `seq` is the primary key and is assigned as tail + 1, so even a missing lock
could not produce two successors of one event — one of the transactions would fail.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import utcnow
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
    """Appends events in the caller's transaction (never commits)."""

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
        await self.repo.lock_for_append()
        tail = await self.repo.tail()
        seq, prev = (tail[0] + 1, tail[1]) if tail else (1, GENESIS)
        # microsecond precision is what both databases keep
        at = (at or utcnow()).astimezone(UTC)
        payload = _normalise(data or {})
        event = AuditEvent(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            data=payload,
            prev_hash=prev,
            hash=event_hash(prev, seq, at, actor, action, subject, payload),
        )
        await self.repo.add(event)
        return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    last_hash: str | None = None


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Recompute every link; report the first broken one."""
    repo = AuditRepository(session)
    prev = GENESIS
    checked = 0
    async for ev in repo.iterate():
        if ev.prev_hash != prev:
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
    return ChainReport(True, checked, last_hash=None if checked == 0 else prev)
