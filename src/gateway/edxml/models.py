"""Typed models of the two kinds of edXML package (QCVN 102:2016).

Conventions that make round trips exact:
- An optional text field is `None` when the element is absent and `""` when it is present but
  empty; both survive build → parse.
- Elements the model has no field for (vendor extensions such as VNPT's `ApplicationType`) are
  kept in `extras` as serialized XML and written back at the end of their parent.
- Dates and timestamps keep the text as sent (`yyyy/MM/dd`, sometimes `dd/MM/yyyy`); the rules
  in `validate` interpret them.
- The Signature block is kept as the parser read it, written in the SDK's layout (the SDK's own
  block comes back byte for byte); `gateway.trust` interprets it. It is not an opaque region:
  structural elements inside it refuse the package (`edxml.placement`).
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .codes import XMLDSIG_NAMESPACE, BusinessDocType, Priority, StatusCode


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", ignored_types=(cached_property,))


class ExtraElement(_Model):
    """An element kept verbatim because the model has no field for it."""

    xml: str


class Organization(_Model):
    """From / To: an agency, identified by its code (OrganId)."""

    organ_id: str
    organization_in_charge: str | None = None
    organ_name: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None
    extras: list[ExtraElement] = Field(default_factory=list)


class Code(_Model):
    code_number: str
    code_notation: str

    def __str__(self) -> str:
        return f"{self.code_number}/{self.code_notation}"


class PromulgationInfo(_Model):
    promulgation_date: str
    place: str | None = None


class DocumentType(_Model):
    type: int
    type_detail: int | None = None
    type_name: str | None = None


class SignerInfo(_Model):
    competence: str | None = None
    position: str | None = None
    full_name: str | None = None


class OtherInfo(_Model):
    priority: int | None = None
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    # None: no Appendixes element; []: an empty one
    appendixes: list[str] | None = None
    extras: list[ExtraElement] = Field(default_factory=list)


class ResponseFor(_Model):
    """The document a package answers (ResponseFor); all parts may be missing in the wild."""

    organ_id: str | None = None
    code: str | None = None
    promulgation_date: str | None = None
    document_id: str | None = None


class StaffInfo(_Model):
    department: str | None = None
    staff: str | None = None
    email: str | None = None
    mobile: str | None = None
    extras: list[ExtraElement] = Field(default_factory=list)


class TraceHeader(_Model):
    organ_id: str
    timestamp: str


class Receiver(_Model):
    organ_id: str
    # 0 = removed from the receivers, 1 = added
    receiver_type: int


class BusinessDocumentInfo(_Model):
    """Bussiness/BussinessDocumentInfo: what an update (type 2) changes."""

    document_info: str | None = None
    document_receiver: str | None = None
    receivers: list[Receiver] | None = None


class ReplacementInfo(_Model):
    document_id: str
    organ_ids: list[str] = Field(default_factory=list)


class Business(_Model):
    """TraceHeaderList/Bussiness (sic): what the package does."""

    doc_type: BusinessDocType = BusinessDocType.NEW
    document_id: str | None = None
    reason: str | None = None
    paper: int | None = None
    document_info: BusinessDocumentInfo | None = None
    replacements: list[ReplacementInfo] | None = None
    staff_info: StaffInfo | None = None
    extras: list[ExtraElement] = Field(default_factory=list)


class TraceHeaderList(_Model):
    trace_headers: list[TraceHeader] = Field(default_factory=list)
    business: Business | None = None
    # the .NET SDK writes id/version/mustUnderstand/actor attributes; kept as they came
    attributes: dict[str, str] = Field(default_factory=dict)


class SignatureBlock(_Model):
    """The Signature element as the parser read it, in the SDK's layout (bytes; the SDK's own
    block comes out byte for byte), plus the namespace it is in."""

    xml: bytes = Field(repr=False)
    namespace: str | None = None

    @property
    def is_xmldsig(self) -> bool:
        return self.namespace == XMLDSIG_NAMESPACE


class Reference(_Model):
    """edXMLManifest/Reference: describes one attachment."""

    content_id: str
    content_type: str | None = None
    description: str | None = None
    attachment_name: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    extras: list[ExtraElement] = Field(default_factory=list)


class Attachment(_Model):
    """AttachmentEncoded/Attachment. `data` is the decoded transfer payload, held once.

    The SDK zips each file; `gateway.edxml.attachments.open_attachment` gives the real file.
    """

    content_id: str
    data: bytes = Field(repr=False)
    attachment_name: str | None = None
    description: str | None = None
    content_type: str | None = None
    extras: list[ExtraElement] = Field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def content_key(content_id: str) -> str:
    """The manifest↔attachment binding key: ContentId without a leading `cid:`."""
    value = content_id.strip()
    return value[4:] if value.lower().startswith("cid:") else value


class MessageHeader(_Model):
    """MessageHeader of a document package."""

    sender: Organization
    recipients: list[Organization]
    code: Code
    promulgation_info: PromulgationInfo
    document_type: DocumentType
    subject: str
    document_id: str | None = None
    content: str | None = None
    signer_info: SignerInfo | None = None
    due_date: str | None = None
    other_info: OtherInfo | None = None
    response_for: list[ResponseFor] = Field(default_factory=list)
    steering_type: int | None = None
    # None: no ToPlaces element; []: an empty one
    to_places: list[str] | None = None
    extras: list[ExtraElement] = Field(default_factory=list)


class DocumentPackage(_Model):
    """A document package: new, revoke, update or replace (Bussiness/BussinessDocType)."""

    kind: Literal["document"] = "document"
    header: MessageHeader
    trace: TraceHeaderList = Field(default_factory=TraceHeaderList)
    signature: SignatureBlock | None = None
    manifest_version: str | None = "1.0"
    references: list[Reference] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)

    @property
    def sender_id(self) -> str:
        return self.header.sender.organ_id

    @property
    def recipient_ids(self) -> list[str]:
        return [r.organ_id for r in self.header.recipients]

    @property
    def business_type(self) -> BusinessDocType:
        business = self.trace.business
        return business.doc_type if business else BusinessDocType.NEW

    @property
    def priority(self) -> Priority:
        other = self.header.other_info
        raw = other.priority if other and other.priority is not None else 0
        return Priority(raw) if raw in Priority._value2member_map_ else Priority.ORDINARY

    @property
    def document_id(self) -> str | None:
        return self.header.document_id

    @property
    def subject(self) -> str:
        return self.header.subject

    @property
    def referenced_document_ids(self) -> list[str]:
        """DocumentIds of the original documents a revoke/update/replace acts on.

        Replace names them in ReplacementInfo; update in Bussiness/DocumentId; revoke (and
        update without Bussiness/DocumentId) acts on the document named in MessageHeader.
        """
        business = self.trace.business
        kind = self.business_type
        if kind is BusinessDocType.NEW:
            return []
        if kind is BusinessDocType.REPLACE and business and business.replacements:
            return list(dict.fromkeys(r.document_id for r in business.replacements))
        if kind is BusinessDocType.UPDATE and business and business.document_id:
            return [business.document_id]
        return [self.header.document_id] if self.header.document_id else []


class StatusPackage(_Model):
    """A status package: a business status about a document (StatusCode)."""

    kind: Literal["status"] = "status"
    sender: Organization
    response_for: ResponseFor
    status_code: str
    timestamp: str
    staff_info: StaffInfo | None = None
    description: str | None = None
    extras: list[ExtraElement] = Field(default_factory=list)
    # not in SDK status packages, but a relaying node may add them; kept when present
    trace: TraceHeaderList | None = None
    signature: SignatureBlock | None = None

    @property
    def sender_id(self) -> str:
        return self.sender.organ_id

    @property
    def status(self) -> StatusCode | None:
        try:
            return StatusCode(self.status_code)
        except ValueError:
            return None

    @property
    def document_id(self) -> str | None:
        return self.response_for.document_id


Package = DocumentPackage | StatusPackage
