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

Checkpoints signed with a key kept outside the database (gateway.audit.checkpoints) anchor the
chain, so that rewriting it and recomputing every hash, or cutting its tail, is detected too.

The chain order is the order in which events were chained; it can differ from `seq` when
transactions commit out of order. An event is tamper-evident from the moment it is chained
(normally within a second of its commit; `pending` in a `ChainReport` counts the rest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import Database, utcnow
from . import checkpoints
from .anchor import AnchorKeys
from .checkpoints import Policy, Published
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

    async def append_many(self, events: Sequence[AuditEntry]) -> None:
        """Several events of one unit of work in one INSERT (the hot paths: intake); the same
        content rules as `append`; the chainer links them like any other."""
        if not events:
            return
        await self.repo.add_many(
            [
                {
                    "at": (e.at or utcnow()).astimezone(UTC),
                    "actor": e.actor,
                    "action": e.action,
                    "subject": e.subject,
                    "data": _normalise(e.data or {}),
                }
                for e in events
            ]
        )


@dataclass(frozen=True)
class AuditEntry:
    """One event for `AuditLog.append_many`."""

    action: str
    actor: str
    subject: str | None = None
    data: dict[str, Any] | None = None
    at: datetime | None = None


async def chain_pending(
    session: AsyncSession,
    *,
    batch: int = 1000,
    policy: Policy | None = None,
    force_checkpoint: bool = False,
    now: datetime | None = None,
) -> int:
    """Link every committed, unchained event after the chain's tail, in `seq` order; returns
    how many. Runs in the caller's transaction (the caller commits). Returns 0 at once when
    another chainer holds the lock (it will chain these events itself). With a `policy`, signs
    a checkpoint of the new tail when one is due (or `force_checkpoint`), in this transaction."""
    repo = AuditRepository(session)
    # a checkpoint asked for must not be skipped because the background chainer is busy
    if not await repo.try_lock_chain(wait=force_checkpoint):
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
    if policy is not None and pos > 0:
        at = now or utcnow()
        last = await checkpoints.latest(session)
        every = policy.every_events, policy.every_seconds
        if checkpoints.due(last, pos, at, every_events=every[0], every_seconds=every[1]) or (
            force_checkpoint and (last is None or last.chain_pos < pos)
        ):
            await checkpoints.add_checkpoint(session, policy.keys, last, (pos, prev), at)
    return chained


async def chain_all(
    db: Database, *, force_checkpoint: bool = False, policy: Policy | None = None
) -> int:
    """`chain_pending` in its own write transaction, checkpointing as `policy` (default: the
    settings) says."""
    policy = policy or Policy.from_settings(db.settings)
    async with db.sessionmaker() as session:
        await db.begin_write(session)
        try:
            chained = await chain_pending(session, policy=policy, force_checkpoint=force_checkpoint)
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
    checkpoints: int = 0
    """Signed checkpoints checked (0 when verified without the anchor key)."""
    latest_checkpoint: Published | None = None

    @property
    def unanchored(self) -> int:
        """Chained events after the latest checkpoint (a cut there shows only against a
        published checkpoint)."""
        return self.checked - (self.latest_checkpoint.chain_pos if self.latest_checkpoint else 0)


async def verify_chain(
    session: AsyncSession, keys: AnchorKeys | None = None, expect: Sequence[str] = ()
) -> ChainReport:
    """Recompute every link, in chain order; report the first broken one. With the anchor
    `keys`, also check every signed checkpoint against the chain, and each `expect`ed published
    checkpoint (`n:chain_pos:hash`) against the stored ones."""
    repo = AuditRepository(session)
    prev = GENESIS
    checked = 0
    pending = await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.chain_pos.is_(None))
    )
    signed = await checkpoints.all_checkpoints(session) if keys is not None else []
    if keys is not None:
        problem = checkpoints.check_signatures(signed, keys) or _missing_published(signed, expect)
        if problem:
            return ChainReport(False, 0, None, problem)
    pinned = {cp.chain_pos: cp for cp in signed}
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
        cp = pinned.get(ev.chain_pos)
        if cp is not None and cp.hash != ev.hash:
            return ChainReport(
                False,
                checked,
                ev.seq,
                f"event {ev.seq} (chain position {ev.chain_pos}) does not match signed "
                f"checkpoint {cp.n}: the history was rewritten and re-hashed",
            )
        prev = ev.hash
        checked += 1
    if signed and signed[-1].chain_pos > checked:
        last = signed[-1]
        return ChainReport(
            False,
            checked,
            None,
            f"signed checkpoint {last.n} covers {last.chain_pos} events but the chain ends "
            f"after {checked}: events were removed",
        )
    return ChainReport(
        True,
        checked,
        last_hash=None if checked == 0 else prev,
        pending=pending or 0,
        checkpoints=len(signed),
        latest_checkpoint=Published.of(signed[-1]) if signed else None,
    )


def _missing_published(signed: Sequence[Any], expect: Sequence[str]) -> str | None:
    stored = {Published.of(cp).token for cp in signed}
    for token in expect:
        if token.strip().lower() not in stored:
            return (
                f"published checkpoint {token} is not in the database (or differs): "
                "checkpoints and the events after them were removed or rewritten"
            )
    return None


async def chain_and_verify(db: Database, expect: Sequence[str] = ()) -> ChainReport:
    """What `gateway audit verify` does: chain whatever is pending, then verify everything,
    checkpoints included."""
    await chain_all(db)
    keys = AnchorKeys.from_settings(db.settings)
    async with db.sessionmaker() as session:
        return await verify_chain(session, keys, expect)
