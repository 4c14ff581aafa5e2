"""API shapes of intake, inbox, delivery and timeline."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..db import ShownDateTime
from ..errors import FindingOut


class DeliveryRef(BaseModel):
    delivery_id: str
    recipient: str = Field(description="The agency that receives this copy")
    addressed_to: str = Field(description="The code in the package (differs when rerouted)")


class Reroute(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    reason: str = "superseded"


class ReferenceOut(BaseModel):
    """A revoke/update/replace package's link to the original document it acts on."""

    document_id: str
    original_package_id: str | None
    cancelled_deliveries: list[str] = Field(default_factory=list)


class IntakeResult(BaseModel):
    """Answer to POST /packages (202). A repeated submission gets the first answer again,
    with `duplicate: true`."""

    package_id: str
    kind: Literal["document", "status"]
    duplicate: bool = False
    same_content: bool | None = Field(
        default=None, description="On a duplicate: whether the bytes equal the first submission"
    )
    received_at: ShownDateTime
    legal_received_at: ShownDateTime
    deliveries: list[DeliveryRef]
    rerouted: list[Reroute] = Field(default_factory=list)
    references: list[ReferenceOut] = Field(default_factory=list)
    linked: bool | None = Field(
        default=None, description="Status packages: recorded on the original document"
    )
    original_package_id: str | None = None
    signature_class: str | None = None
    reference_only: bool | None = Field(
        default=None,
        description="True when accepted without a valid signature: for reference only "
        "(chỉ có giá trị tham khảo), not a legally valid electronic document",
    )
    warnings: list[FindingOut] = Field(default_factory=list)


class InboxItem(BaseModel):
    delivery_id: str
    package_id: str
    kind: str
    state: str
    sender: str
    addressed_to: str
    document_id: str | None
    code: str | None
    subject: str | None
    priority: int | None
    business_type: int | None
    status_code: str | None
    size: int
    sha256: str
    queued_at: ShownDateTime
    sent_at: ShownDateTime | None
    legal_received_at: ShownDateTime | None
    delivered_at: ShownDateTime | None
    acknowledged_at: ShownDateTime | None
    href: str = Field(description="Where to fetch the package bytes")


class InboxPage(BaseModel):
    agency: str
    items: list[InboxItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end")


class AckResult(BaseModel):
    delivery_id: str
    state: str
    acknowledged_at: ShownDateTime
    already_acknowledged: bool


class StatusOut(BaseModel):
    status_package_id: str
    sender: str
    agency: str | None = Field(description="The recipient of the original this status concerns")
    delivery_id: str | None
    code: str
    label: str | None
    description: str | None
    timestamp: str = Field(description="As sent (Vietnam local time)")
    status_at: ShownDateTime | None
    received_at: ShownDateTime


class RecipientTimeline(BaseModel):
    delivery_id: str
    recipient: str
    addressed_to: str
    state: str
    queued_at: ShownDateTime
    sent_at: ShownDateTime | None
    legal_received_at: ShownDateTime | None = Field(
        description="Legal receipt time on the gateway's side: from when the copy was made "
        "available (poll: the gateway's acceptance; push: the push)"
    )
    delivered_at: ShownDateTime | None = Field(description="Received by the recipient")
    entered_at: ShownDateTime | None = Field(
        default=None,
        description="When the copy entered the recipient's system (push: the endpoint's 2xx; "
        "poll: the first fetch; or the acknowledgement without a fetch)",
    )
    entered_via: Literal["push", "fetch", "vxp", "ack"] | None = None
    entered_legal_at: ShownDateTime | None = Field(
        default=None,
        description="Legal receipt time at the recipient: entered_at moved to the start of "
        "the next office period when outside office hours (Khánh Hòa Art. 10.2)",
    )
    acknowledged_at: ShownDateTime | None
    cancelled_at: ShownDateTime | None
    attempts: int
    last_error: str | None
    statuses: list[StatusOut]
    upstream_doc_id: str | None = Field(
        default=None, description="DocId the national axis gave this copy (forwarded upstream)"
    )


class RelatedPackage(BaseModel):
    """A later package acting on this document (revoke, update, replace)."""

    package_id: str
    business_type: int
    label: str
    document_id: str | None
    received_at: ShownDateTime


class PackageSummary(BaseModel):
    id: str
    kind: str
    sender: str
    document_id: str | None
    code: str | None
    subject: str | None
    priority: int | None
    business_type: int | None
    status_code: str | None
    size: int
    sha256: str
    signature_class: str | None
    signature: dict[str, Any] | None = Field(
        default=None,
        description="Signature details: class, reference_only, reason, signer "
        "(subject, serial, issuer, not_before, not_after)",
    )
    received_at: ShownDateTime
    legal_received_at: ShownDateTime
    warnings: list[FindingOut]
    upstream_doc_id: str | None = Field(
        default=None, description="DocId on the national axis (packages received from upstream)"
    )


class Timeline(BaseModel):
    package: PackageSummary
    recipients: list[RecipientTimeline]
    statuses: list[StatusOut] = Field(description="Every business status, in time order")
    related: list[RelatedPackage]
    references: list[ReferenceOut] = Field(
        description="For a revoke/update/replace: the originals it acts on"
    )
