"""Tables of the national-axis protocol (VXP): credentials of SDK clients, what the poller took
from upstream, and receipt reports (updateStatus). The durable upstream forwarding queue is
gateway.delivery.models.UpstreamForward: requeues and outages line its rows up again, and they
sit below the axis.

There is no second package store: VXP messages are the packages and deliveries of
gateway.packages. These tables only hold what the protocol adds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, new_id, utcnow

RECEIPT_STATES = ("stored", "acked", "rejected")


class VxpCredential(Base):
    """The `systemid` + secret an SDK-based agency system signs its requests with.

    The secret is an HMAC key the gateway must know in plain form, so it is sealed with
    gateway.secretbox (never stored in clear, shown once when created or rotated).
    """

    __tablename__ = "axis_vxp_credentials"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    system_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("agency_systems.id", ondelete="CASCADE"), unique=True
    )
    vxp_system_id: Mapped[str] = mapped_column(String(100), unique=True)
    secret_sealed: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Operator policy (docs/vxp.md "Replay"): may call the registry's administrative operations
    # (registerAgency, deleteAgency); opt-in timestamp window for clients that re-stamp every
    # call (None: the gateway setting, by default unchecked); source networks (None: any).
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    max_skew_seconds: Mapped[float | None] = mapped_column(Float)
    allowed_sources: Mapped[list[str] | None] = mapped_column(JSON)


class UpstreamReceipt(Base):
    """A message the poller took from the national axis (one per upstream docId).

    Written in the same transaction as the package it became (`stored`), then `acked` once
    upstream accepted updateStatus(done): a crash in between is healed by acknowledging
    again on the next poll, so each upstream message is stored exactly once.
    """

    __tablename__ = "axis_upstream_receipts"

    upstream_doc_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    message_type: Mapped[str] = mapped_column(String(10))
    package_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("packages.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(String(10), default="stored")
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReceiptReport(Base):
    """An updateStatus call of a recipient system: done (the acknowledgement), fail (a failed
    receipt, for the operators) or processing."""

    __tablename__ = "axis_receipt_reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    system_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("agency_systems.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
