"""Tables of the agency registry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, new_id, utcnow

DELIVERY_MODES = ("poll", "push", "upstream")  # upstream: via the national axis (gateway.axis)

system_agencies = Table(
    "system_agencies",
    Base.metadata,
    Column(
        "system_id",
        String(36),
        ForeignKey("agency_systems.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "agency_code",
        String(35),
        ForeignKey("agencies.code", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)
"""Which agencies a system may act as (send as From, read the inbox of)."""


class Agency(Base):
    """An agency (cơ quan), identified by its code (mã định danh, OrganId, ≤35 chars).

    When administrative units merge, the old code becomes inactive with `superseded_by` set:
    packages addressed to it are routed to the successor (following the chain).
    """

    __tablename__ = "agencies"
    # codes differing only in case would be two agencies to the gateway but one to people
    __table_args__ = (Index("uq_agencies_code_ci", text("lower(code)"), unique=True),)

    code: Mapped[str] = mapped_column(String(35), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    parent_code: Mapped[str | None] = mapped_column(
        String(35), ForeignKey("agencies.code", ondelete="SET NULL"), index=True
    )
    level: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    superseded_by: Mapped[str | None] = mapped_column(
        String(35), ForeignKey("agencies.code", ondelete="SET NULL")
    )
    delivery_mode: Mapped[str] = mapped_column(String(8), default="poll")
    endpoint_url: Mapped[str | None] = mapped_column(Text)  # credentials shown as ***
    # the complete endpoint_url when it carries credentials, sealed (registry.endpoint_secret)
    endpoint_url_sealed: Mapped[str | None] = mapped_column(Text)
    # plain http allowed in production only for an endpoint an operator marked as a test one
    test_endpoint: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the agency's administrator (registry.contacts), who outage notices are sent to
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_position: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # the shared HMAC secret for push delivery, sealed with gateway.secretbox (never shown
    # again after it is generated / rotated)
    push_secret_sealed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AgencySystem(Base):
    """A document-management system (phần mềm QLVB) that calls the gateway."""

    __tablename__ = "agency_systems"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agencies: Mapped[list[Agency]] = relationship(
        secondary=system_agencies, lazy="selectin", order_by=Agency.code
    )

    @property
    def agency_codes(self) -> list[str]:
        return [a.code for a in self.agencies]


class AgencySigningIdentity(Base):
    """A certificate the agency signs with (issue 13): its SHA-256 fingerprint, or subject
    attributes its signers' certificates carry. Checked by gateway.packages.signatures."""

    __tablename__ = "agency_signing_identities"
    __table_args__ = (UniqueConstraint("agency_code", "kind", "value"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_code: Mapped[str] = mapped_column(
        String(35), ForeignKey("agencies.code", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))  # fingerprint | subject (trust.binding)
    value: Mapped[str] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(500))  # e.g. the certificate's subject
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime)  # of an imported cert
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
