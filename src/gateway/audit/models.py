"""The audit event log: append-only, hash-chained (see gateway.audit.service)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Identity, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(Base):
    __tablename__ = "audit_events"

    # the event's identity, from the database (appenders take no lock)
    seq: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str | None] = mapped_column(String(300), index=True)
    data: Mapped[dict] = mapped_column(JSON)
    # Set by the chainer (gateway.audit.service.chain_pending) shortly after commit: the event's
    # place in the chain (1, 2, …; unique, so the chain cannot fork) and the links.
    chain_pos: Mapped[int | None] = mapped_column(BigId, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    __table_args__ = (
        # the chainer's work list stays small however long the log grows
        Index(
            "ix_audit_events_unchained",
            "seq",
            postgresql_where=text("chain_pos IS NULL"),
            sqlite_where=text("chain_pos IS NULL"),
        ),
    )


class AuditCheckpoint(Base):
    """A signed checkpoint of the chain (gateway.audit.checkpoints): the chain's position and
    hash at `at`, MACed with the anchor key that lives outside the database. Checkpoints are
    chained too (`prev_mac`), numbered 1, 2, … without gaps."""

    __tablename__ = "audit_checkpoints"

    n: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    chain_pos: Mapped[int] = mapped_column(BigId, unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(16))
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
