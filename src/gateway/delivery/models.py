"""Delivery tables: the health of each push target, the embedded database queue, and the
forwarding queue of copies for the national axis (its connector is gateway.axis.connector).

`endpoint_health` has at most one row per target (an agency, or the upstream link), written in
the same transaction as each push result, so every worker process and replica sees the same
picture (the circuit breaker is only per process); outages (gateway.outages) are read from it.

The transactional outbox the relay (gateway.delivery.relay) reads is gateway.outbox: every
capability writes to it, so it sits on the foundation. Notices to senders, which intake and
outages write and the workers deliver, are gateway.packages.models.Notice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, UTCDateTime, utcnow


class EndpointHealth(Base):
    """How a target's pushes are going (gateway.delivery.health): `failing_since` is set by the
    first transient failure after a success and cleared by the next success, which is then
    `recovered_at`. `last_failure_at` and `last_error` are those of the latest failure."""

    __tablename__ = "endpoint_health"

    target: Mapped[str] = mapped_column(String(35), primary_key=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


FORWARD_STATES = ("pending", "sent", "failed")


class UpstreamForward(Base):
    """One delivery to an out-of-province recipient, to be sent to the national axis.

    Claimable work row (the outbox guarantee without a broker): written in the intake
    transaction; a connector claims due rows by setting a lease (`lease_until`), sends the
    package with sendEdoc and marks the row `sent` (recording the upstream DocId) — or moves
    `next_attempt_at` forward with backoff; after the last attempt the row and its delivery
    become `failed` for an operator. A connector that dies leaves its lease to expire.
    """

    __tablename__ = "axis_upstream_forwards"
    __table_args__ = (Index("ix_axis_upstream_forwards_due", "state", "next_attempt_at"),)

    delivery_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    package_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    recipient_code: Mapped[str] = mapped_column(String(35))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    upstream_doc_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
