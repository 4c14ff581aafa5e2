"""Delivery tables: the transactional outbox, the embedded database queue, notices to senders.

The outbox holds one row per message to publish, written in the same transaction as the state
change that causes it; the relay (gateway.delivery.relay) hands unpublished rows, in `id` order,
to the delivery queue (RabbitMQ, or `queued_jobs` in embedded mode) and sets `published_at`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, new_id, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unpublished", "published_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class QueuedJob(Base):
    """The embedded (database) delivery queue: one row per job waiting or being handled.

    A consumer claims rows whose `available_at` has come and whose lease (`locked_until`) is
    free, urgent first (`urgent` desc, then `id`), sets a lease and handles them; `done`
    deletes the row, `retry` moves `available_at` forward (the retry delay) and frees the lease,
    `dead` keeps the row with `state='dead'` and the reason (the dead-letter queue). A consumer
    that dies leaves its lease to expire: the job is handled again (handlers are idempotent).
    On PostgreSQL claims use `FOR UPDATE SKIP LOCKED` (any number of consumers); on SQLite
    that clause does not exist, so only one consumer process may run there (the server's).
    """

    __tablename__ = "queued_jobs"
    __table_args__ = (Index("ix_queued_jobs_claim", "state", "available_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    urgent: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict] = mapped_column(JSON)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    handler_errors: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    dead_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notice(Base):
    """A notice for an original sender, e.g. `delivery.acknowledged` when a recipient
    acknowledged its copy. Push-mode senders get it POSTed (JSON, same HMAC headers as a
    package); poll-mode senders read it from GET /api/v1/notices. States: `pending` (queued),
    `available` (in the sender's notice list), `delivered` (pushed, 2xx), `failed`."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_agency_created", "agency_code", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_code: Mapped[str] = mapped_column(String(35), ForeignKey("agencies.code"))
    type: Mapped[str] = mapped_column(String(50))
    package_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    delivery_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("deliveries.id", ondelete="CASCADE")
    )
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
