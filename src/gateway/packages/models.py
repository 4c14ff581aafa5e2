"""Tables of packages, deliveries, business statuses, document references, notices to senders
about their copies (gateway.packages.notices) and the tombstones of packages pruned after their
export to the archive (gateway.archive).

Delivery states (`Delivery.state`):

- `pending`   queued. For a poll recipient: waiting in its inbox (GET /inbox lists it).
- `delivered` the recipient has the bytes: its system fetched GET /packages/{id} (or, with the
              push transport later, its endpoint answered 2xx). `delivered_at` is set once.
- `acknowledged` the recipient confirmed receipt (POST /deliveries/{id}/ack). Final.
- `failed`    gave up after the last attempt (push transport); waits for an operator. Final
              until an operator resends.
- `cancelled` the sender revoked the document (BussinessDocType 1) before this copy was
              delivered; it leaves the inbox. Final.

Timestamps: `queued_at` (stored), `sent_at` (made available to the recipient: for polling that is
the moment it is queued; for push, the moment the push succeeded), `delivered_at`,
`acknowledged_at`, `cancelled_at`; `legal_received_at` is `sent_at` moved to the start of the next
office period when it falls outside office hours (the legal receipt time, gateway.calendar).

Where the document arrives (Khánh Hòa Art. 10.2 counts from there): `entered_at` is when the
copy entered the recipient's system — push: the endpoint's 2xx; poll: the recipient's first
fetch (`fetch`, or `vxp` for getEdoc/downloadEdoc); `ack` when it acknowledged without fetching
— and `entered_legal_at` the legal receipt time computed from it. Copies handed to the national
axis leave them NULL (the receiving province records them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, new_id, utcnow

DELIVERY_STATES = ("pending", "delivered", "acknowledged", "failed", "cancelled")
OPEN_STATES = ("pending", "delivered")
KINDS = ("document", "status")


class Package(Base):
    """One received edXML package: the raw bytes exactly as received plus extracted metadata.

    `idempotency_key` is the SHA-256 (hex) of the identity of the package:
    documents: ("document", From, DocumentId or sha256 of the body, BussinessDocType);
    statuses: ("status", From, ResponseFor/DocumentId, StatusCode, Timestamp).
    """

    __tablename__ = "packages"
    __table_args__ = (
        CheckConstraint("kind IN ('document', 'status')", name="kind"),
        Index("ix_packages_sender_received", "sender_code", "received_at"),
        Index("ix_packages_received_at", "received_at"),  # dashboard: per day, today
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    sender_code: Mapped[str] = mapped_column(String(35), ForeignKey("agencies.code"))
    submitted_by_system_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("agency_systems.id", ondelete="SET NULL")
    )
    document_id: Mapped[str | None] = mapped_column(String(300), index=True)
    # documents: CodeNumber/CodeNotation; statuses: ResponseFor/Code
    code: Mapped[str | None] = mapped_column(String(120))
    subject: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int | None] = mapped_column(Integer)
    business_type: Mapped[int | None] = mapped_column(Integer)
    promulgation_date: Mapped[str | None] = mapped_column(String(20))
    document_type: Mapped[str | None] = mapped_column(String(120))
    # status packages
    status_code: Mapped[str | None] = mapped_column(String(4))
    status_timestamp: Mapped[str | None] = mapped_column(String(30))
    response_for_organ: Mapped[str | None] = mapped_column(String(35))
    # the bytes
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    warnings: Mapped[list | None] = mapped_column(JSON)
    # the 202 answer given to the sender, returned again for a repeated submission
    intake_result: Mapped[dict | None] = mapped_column(JSON)
    # signature check seam: None until gateway.trust classifies the signature
    signature_class: Mapped[str | None] = mapped_column(String(40))
    # what the signature step recorded: reference_only, reason, signer (see packages.signatures)
    signature_info: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    legal_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # documents: Bussiness/Paper (1: a paper copy is sent as well); None: not given / older rows
    paper: Mapped[int | None] = mapped_column(Integer)
    # the X-Request-Id of the intake request, logged by the relay and worker
    # (gateway.observability.logging)
    request_id: Mapped[str | None] = mapped_column(String(64))


class Delivery(Base):
    """One copy of a package for one recipient agency (see the module docstring for states)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("package_id", "recipient_code", name="uq_deliveries_package_recipient"),
        CheckConstraint(
            "state IN ('pending', 'delivered', 'acknowledged', 'failed', 'cancelled')",
            name="state",
        ),
        Index("ix_deliveries_inbox", "recipient_code", "state", "queued_at"),
        Index("ix_deliveries_state_queued", "state", "queued_at"),  # dashboard backlog
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    package_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("packages.id", ondelete="CASCADE")
    )
    recipient_code: Mapped[str] = mapped_column(String(35), ForeignKey("agencies.code"))
    # the code in the package when the gateway rerouted it to a successor, else None
    addressed_to: Mapped[str | None] = mapped_column(String(35))
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    legal_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # entered the recipient's system: when, how (push | fetch | vxp | ack), legal receipt time
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entered_via: Mapped[str | None] = mapped_column(String(10))
    entered_legal_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # start of the current round of push attempts (None: queued_at); an operator's resend
    # starts a new round, so the retry budget counts from there
    retry_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BusinessStatus(Base):
    """A business status (StatusCode 01…16) recorded on the original document's timeline."""

    __tablename__ = "business_statuses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    status_package_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    original_package_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    delivery_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
    sender_code: Mapped[str] = mapped_column(String(35))
    # the recipient of the original document this status concerns
    agency_code: Mapped[str | None] = mapped_column(String(35))
    status_code: Mapped[str] = mapped_column(String(4))
    label: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[str] = mapped_column(String(30))  # as sent (local time text)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the same, parsed
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentReference(Base):
    """A revoke / update / replace package acting on an original document (by DocumentId)."""

    __tablename__ = "document_references"
    __table_args__ = (
        UniqueConstraint("package_id", "document_id", name="uq_document_references_package_doc"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    package_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[str] = mapped_column(String(300))
    original_package_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    business_type: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArchiveTombstone(Base):
    """What stays of a package whose raw bytes were pruned after export: the hashes, and the
    bundle that holds the bytes. The package row, its deliveries, statuses and audit events
    stay; GET /packages/{id} answers 410 Gone."""

    __tablename__ = "archive_tombstones"

    package_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    bundle_id: Mapped[str] = mapped_column(String(36))
    bundle_sha256: Mapped[str] = mapped_column(String(64))
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pruned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))


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
