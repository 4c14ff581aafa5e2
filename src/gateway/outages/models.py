"""Tables of outage tracking: the incidents.

A *target* is what the gateway pushes to: an agency (its code) or the gateway's own upstream
link to the national axis (`UPSTREAM`). Its health is gateway.delivery.models.EndpointHealth
(written with each push result, below outages). `outage_incidents` holds one row per outage
that lasted longer than the threshold; at most one is open (`closed_at` NULL) per kind and
target. Kinds:

- `agency` / `upstream`: pushes to an agency's endpoint / to the national axis failing;
- `inbox`: a poll-mode agency not collecting its inbox (gateway.outages.inbox_watch);
- `gateway`: the gateway itself was down (no server process running), recorded closed when
  it starts again (gateway.outages.downtime); its target is `GATEWAY`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, UTCDateTime

UPSTREAM = "upstream"
"""The target key of the link to the national axis (an agency code never looks like it)."""


GATEWAY = "gateway"
"""The target key of the gateway's own downtime incidents."""

KINDS = ("agency", "upstream", "inbox", "gateway")
PUSH_KINDS = ("agency", "upstream")
"""Incidents that a push target's health opens and closes (gateway.outages.monitor)."""
AGENCY_KINDS = ("agency", "inbox")
"""Incidents whose target is an agency code."""


def kind_of(target: str) -> str:
    """The kind of a push target's incident."""
    return "upstream" if target == UPSTREAM else "agency"


class OutageIncident(Base):
    """An outage longer than the threshold. `started_at` is when the target started failing
    (inbox: when its oldest waiting copy became available; gateway: the last heartbeat);
    `opened_at` when it was raised; `closed_at` the first success after it (inbox: when the
    agency is no longer flagged; gateway: the restart).
    Durations are kept both as wall-clock seconds and as working seconds (office calendar).
    `affected`: copies for the target that were waiting at some point of the incident."""

    __tablename__ = "outage_incidents"
    __table_args__ = (
        CheckConstraint("kind IN ('agency', 'upstream', 'inbox', 'gateway')", name="kind"),
        Index("ix_outage_incidents_target_closed", "target", "closed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(35))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    working_seconds: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    affected: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def agency_code(self) -> str | None:
        return self.target if self.kind in AGENCY_KINDS else None


class OutageEmail(Base):
    """An e-mail to send about an incident (`event`: opened / closed), written in the same
    transaction as the incident change (an outbox: nothing is lost when the SMTP server is
    away) and sent by gateway.outages.mailer. Recipients are worked out when it is sent:
    the operators' addresses and the contacts of the agencies involved."""

    __tablename__ = "outage_emails"
    __table_args__ = (Index("ix_outage_emails_state", "state", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("outage_incidents.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default="pending")  # sending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    recipients: Mapped[list[str] | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaperHandling(Base):
    """A copy an operator records as handled on paper during an outage (reference, date, by
    whom), reconciled after recovery: the electronic copy is kept (it arrived too: the
    recipient holds a duplicate of the paper one) or cancelled (the paper copy stands)."""

    __tablename__ = "paper_handlings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("deliveries.id", ondelete="CASCADE"), unique=True
    )
    reference: Mapped[str] = mapped_column(String(200))
    handled_on: Mapped[date] = mapped_column(Date)
    handled_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconciled_by: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(20))  # kept, cancelled


class GatewayHeartbeat(Base):
    """The last sign of life of each server process (`instance`: host and pid), written every
    half minute; at start-up the newest one tells how long the whole gateway was down."""

    __tablename__ = "gateway_heartbeats"

    instance: Mapped[str] = mapped_column(String(200), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
