"""The audit event log: append-only, hash-chained (see gateway.audit.service)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(Base):
    __tablename__ = "audit_events"

    # assigned by the appender (last + 1) under a lock, never by a sequence: the primary key
    # then also guarantees the chain cannot fork
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str | None] = mapped_column(String(300), index=True)
    data: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
