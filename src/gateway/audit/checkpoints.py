"""Signed checkpoints of the audit chain.

A checkpoint n records the chain's tail (`chain_pos`, `hash`) at time `at`, with
mac = HMAC-SHA256(anchor key, "gateway-audit-checkpoint/1" n chain_pos hash at prev_mac), where
`prev_mac` is checkpoint n-1's mac (64 zeros for the first). The chainer makes one in the same
transaction as the links it adds, once `audit_checkpoint_every_events` events or
`audit_checkpoint_every_seconds` have passed since the last (`gateway audit checkpoint`: now).

`gateway audit verify` checks every checkpoint (MAC, numbering, links) and that the chain holds
each checkpointed event with the checkpointed hash: a history rewritten and re-hashed, or a tail
cut after a checkpoint, is reported as tampered. What a database writer can still do is cut the
newest checkpoints together with the events after the previous one: compare with a published
checkpoint (`/metrics`, the dashboard, archive bundles) via `gateway audit verify --expect`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..settings import Settings
from .anchor import AnchorKeys
from .models import AuditCheckpoint

NO_MAC = "0" * 64


def message(n: int, chain_pos: int, chain_hash: str, at: datetime, prev_mac: str) -> bytes:
    stamp = at.astimezone(UTC).isoformat(timespec="microseconds")
    return "\n".join(
        ["gateway-audit-checkpoint/1", str(n), str(chain_pos), chain_hash, stamp, prev_mac]
    ).encode("ascii")


@dataclass(frozen=True)
class Published:
    """What is published of a checkpoint (and what `verify --expect` takes back)."""

    n: int
    chain_pos: int
    hash: str
    at: str
    key_id: str
    mac: str

    @classmethod
    def of(cls, cp: AuditCheckpoint) -> Published:
        stamp = cp.at.astimezone(UTC).isoformat(timespec="microseconds")
        return cls(cp.n, cp.chain_pos, cp.hash, stamp, cp.key_id, cp.mac)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def token(self) -> str:
        """`n:chain_pos:hash`, the short form `gateway audit verify --expect` takes."""
        return f"{self.n}:{self.chain_pos}:{self.hash}"


@dataclass(frozen=True)
class Policy:
    """When the chainer signs a checkpoint, and with which keys."""

    keys: AnchorKeys
    every_events: int
    every_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            AnchorKeys.from_settings(settings),
            settings.audit_checkpoint_every_events,
            settings.audit_checkpoint_every_seconds,
        )


async def latest(session: AsyncSession) -> AuditCheckpoint | None:
    return await session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.n.desc()).limit(1))


async def all_checkpoints(session: AsyncSession) -> list[AuditCheckpoint]:
    return list((await session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.n))).all())


def due(
    last: AuditCheckpoint | None,
    tail_pos: int,
    now: datetime,
    *,
    every_events: int,
    every_seconds: float,
) -> bool:
    last_pos = last.chain_pos if last else 0
    if tail_pos <= last_pos:
        return False  # nothing new to pin
    if last is None or tail_pos - last_pos >= every_events:
        return True
    return now - last.at >= timedelta(seconds=every_seconds)


async def add_checkpoint(
    session: AsyncSession,
    keys: AnchorKeys,
    last: AuditCheckpoint | None,
    tail: tuple[int, str],
    now: datetime,
) -> AuditCheckpoint:
    """Sign and add checkpoint last.n + 1 for the chain tail (the caller holds the chain lock
    and commits)."""
    n = (last.n if last else 0) + 1
    prev_mac = last.mac if last else NO_MAC
    at = now.astimezone(UTC)
    pos, chain_hash = tail
    kid, mac = keys.sign(message(n, pos, chain_hash, at, prev_mac))
    cp = AuditCheckpoint(
        n=n, chain_pos=pos, hash=chain_hash, at=at, key_id=kid, prev_mac=prev_mac, mac=mac
    )
    session.add(cp)
    await session.flush()
    return cp


def check_signatures(checkpoints: list[AuditCheckpoint], keys: AnchorKeys) -> str | None:
    """The first problem in the checkpoints themselves (numbering, links, MACs), or None."""
    prev_mac, prev_pos = NO_MAC, 0
    for expected_n, cp in enumerate(checkpoints, start=1):
        if cp.n != expected_n:
            return f"checkpoint {expected_n} is missing (next is {cp.n})"
        if cp.prev_mac != prev_mac:
            return f"checkpoint {cp.n} does not link to checkpoint {cp.n - 1}"
        if cp.chain_pos <= prev_pos:
            return f"checkpoint {cp.n} does not move the chain forward"
        verdict = keys.check(
            cp.key_id, message(cp.n, cp.chain_pos, cp.hash, cp.at, prev_mac), cp.mac
        )
        if verdict is None:
            return f"checkpoint {cp.n} was made with key {cp.key_id}, which is not configured"
        if not verdict:
            return f"checkpoint {cp.n}: signature does not verify (forged or altered)"
        prev_mac, prev_pos = cp.mac, cp.chain_pos
    return None
