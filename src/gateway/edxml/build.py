"""Write packages in exactly the layout the official Java SDK emits.

Root `<edXML>` in the default namespace; the envelope redeclares it with the `edXML:` prefix
and every envelope descendant is prefixed; `AttachmentEncoded` sits outside the envelope,
unprefixed, with only `ContentTransferEncoded` prefixed (and its own declaration); CRLF line
ends and two-space indentation. The Signature block is written back byte for byte.
Attachment payloads are base64-encoded straight into the output, one copy at a time.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from .codes import NAMESPACE
from .models import (
    Attachment,
    Business,
    DocumentPackage,
    ExtraElement,
    Organization,
    Package,
    ResponseFor,
    StaffInfo,
    StatusPackage,
    TraceHeaderList,
)

NL = "\r\n"
P = "edXML:"


class _Writer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def line(self, depth: int, text: str) -> None:
        self.parts.append(("  " * depth + text + NL).encode("utf-8"))

    def raw(self, depth: int, data: bytes) -> None:
        self.parts.append(("  " * depth).encode() + data + NL.encode())

    def open(self, depth: int, name: str, attrs: dict[str, str] | None = None) -> None:
        self.line(depth, f"<{name}{_attrs(attrs)}>")

    def close(self, depth: int, name: str) -> None:
        self.line(depth, f"</{name}>")

    def leaf(self, depth: int, name: str, value: object | None) -> None:
        """An element with text; None writes nothing, "" writes an empty element."""
        if value is None:
            return
        text = _text(value)
        self.line(depth, f"<{name}>{text}</{name}>" if text else f"<{name} />")

    def extras(self, depth: int, extras: Iterable[ExtraElement]) -> None:
        for extra in extras:
            self.line(depth, extra.xml)

    def result(self) -> bytes:
        return b"".join(self.parts)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # a literal CR would come back as LF (XML end-of-line handling); a reference keeps it
    return escape(str(value), {"\r": "&#13;"})


def _attrs(attrs: dict[str, str] | None) -> str:
    if not attrs:
        return ""
    rendered = []
    for key, value in attrs.items():
        name = key
        if key.startswith("{"):
            namespace, local = key[1:].split("}", 1)
            if namespace == "http://www.w3.org/1999/xlink":
                name = f"xlink:{local}"
            elif namespace == "http://www.w3.org/2001/XMLSchema-instance":
                name = f"xsi:{local}"
            else:
                continue  # an attribute in a namespace we cannot declare here: not kept
        rendered.append(f" {name}={quoteattr(value)}")
    return "".join(rendered)


def build_package(package: Package) -> bytes:
    w = _Writer()
    w.line(0, '<?xml version="1.0" encoding="UTF-8"?>')
    w.open(0, "edXML", {"xmlns": NAMESPACE})
    w.open(1, f"{P}edXMLEnvelope", {"xmlns:edXML": NAMESPACE})
    w.open(2, f"{P}edXMLHeader")
    if isinstance(package, StatusPackage):
        _status_header(w, package)
        if package.trace is not None:
            _trace(w, package.trace)
        if package.signature is not None:
            w.raw(3, package.signature.xml)
        w.close(2, f"{P}edXMLHeader")
        w.close(1, f"{P}edXMLEnvelope")
    else:
        _document_header(w, package)
        _trace(w, package.trace)
        if package.signature is not None:
            w.raw(3, package.signature.xml)
        w.close(2, f"{P}edXMLHeader")
        _body(w, package)
        w.close(1, f"{P}edXMLEnvelope")
        _attachments(w, package.attachments)
    w.close(0, "edXML")
    return w.result()


def _organization(w: _Writer, depth: int, name: str, org: Organization) -> None:
    w.open(depth, f"{P}{name}")
    d = depth + 1
    w.leaf(d, f"{P}OrganId", org.organ_id)
    w.leaf(d, f"{P}OrganizationInCharge", org.organization_in_charge)
    w.leaf(d, f"{P}OrganName", org.organ_name)
    w.leaf(d, f"{P}OrganAdd", org.organ_add)
    w.leaf(d, f"{P}Email", org.email)
    w.leaf(d, f"{P}Telephone", org.telephone)
    w.leaf(d, f"{P}Fax", org.fax)
    w.leaf(d, f"{P}Website", org.website)
    w.extras(d, org.extras)
    w.close(depth, f"{P}{name}")


def _response_for(w: _Writer, depth: int, response: ResponseFor) -> None:
    w.open(depth, f"{P}ResponseFor")
    d = depth + 1
    w.leaf(d, f"{P}OrganId", response.organ_id)
    w.leaf(d, f"{P}Code", response.code)
    w.leaf(d, f"{P}DocumentId", response.document_id)
    w.leaf(d, f"{P}PromulgationDate", response.promulgation_date)
    w.close(depth, f"{P}ResponseFor")


def _staff_info(w: _Writer, depth: int, staff: StaffInfo | None) -> None:
    if staff is None:
        return
    w.open(depth, f"{P}StaffInfo")
    d = depth + 1
    w.leaf(d, f"{P}Department", staff.department)
    w.leaf(d, f"{P}Staff", staff.staff)
    w.leaf(d, f"{P}Email", staff.email)
    w.leaf(d, f"{P}Mobile", staff.mobile)
    w.extras(d, staff.extras)
    w.close(depth, f"{P}StaffInfo")


def _document_header(w: _Writer, package: DocumentPackage) -> None:
    h = package.header
    w.open(3, f"{P}MessageHeader")
    d = 4
    _organization(w, d, "From", h.sender)
    for recipient in h.recipients:
        _organization(w, d, "To", recipient)
    w.leaf(d, f"{P}DocumentId", h.document_id)
    w.open(d, f"{P}Code")
    w.leaf(d + 1, f"{P}CodeNumber", h.code.code_number)
    w.leaf(d + 1, f"{P}CodeNotation", h.code.code_notation)
    w.close(d, f"{P}Code")
    w.open(d, f"{P}PromulgationInfo")
    w.leaf(d + 1, f"{P}Place", h.promulgation_info.place)
    w.leaf(d + 1, f"{P}PromulgationDate", h.promulgation_info.promulgation_date)
    w.close(d, f"{P}PromulgationInfo")
    w.open(d, f"{P}DocumentType")
    w.leaf(d + 1, f"{P}Type", h.document_type.type)
    w.leaf(d + 1, f"{P}TypeDetail", h.document_type.type_detail)
    w.leaf(d + 1, f"{P}TypeName", h.document_type.type_name)
    w.close(d, f"{P}DocumentType")
    w.leaf(d, f"{P}Subject", h.subject)
    w.leaf(d, f"{P}Content", h.content)
    if h.signer_info is not None:
        w.open(d, f"{P}SignerInfo")
        w.leaf(d + 1, f"{P}Competence", h.signer_info.competence)
        w.leaf(d + 1, f"{P}Position", h.signer_info.position)
        w.leaf(d + 1, f"{P}FullName", h.signer_info.full_name)
        w.close(d, f"{P}SignerInfo")
    w.leaf(d, f"{P}DueDate", h.due_date)
    if h.other_info is not None:
        o = h.other_info
        w.open(d, f"{P}OtherInfo")
        w.leaf(d + 1, f"{P}Priority", o.priority)
        w.leaf(d + 1, f"{P}SphereOfPromulgation", o.sphere_of_promulgation)
        w.leaf(d + 1, f"{P}TyperNotation", o.typer_notation)
        w.leaf(d + 1, f"{P}PromulgationAmount", o.promulgation_amount)
        w.leaf(d + 1, f"{P}PageAmount", o.page_amount)
        w.leaf(d + 1, f"{P}Direction", o.direction)
        if o.appendixes is not None:
            w.open(d + 1, f"{P}Appendixes")
            for appendix in o.appendixes:
                w.leaf(d + 2, f"{P}Appendix", appendix)
            w.close(d + 1, f"{P}Appendixes")
        w.extras(d + 1, o.extras)
        w.close(d, f"{P}OtherInfo")
    for response in h.response_for:
        _response_for(w, d, response)
    w.leaf(d, f"{P}SteeringType", h.steering_type)
    if h.to_places is not None:
        w.open(d, f"{P}ToPlaces")
        for place in h.to_places:
            w.leaf(d + 1, f"{P}Place", place)
        w.close(d, f"{P}ToPlaces")
    w.extras(d, h.extras)
    w.close(3, f"{P}MessageHeader")


def _status_header(w: _Writer, package: StatusPackage) -> None:
    w.open(3, f"{P}MessageHeader")
    d = 4
    _organization(w, d, "From", package.sender)
    _response_for(w, d, package.response_for)
    _staff_info(w, d, package.staff_info)
    w.leaf(d, f"{P}StatusCode", package.status_code)
    w.leaf(d, f"{P}Description", package.description)
    w.leaf(d, f"{P}Timestamp", package.timestamp)
    w.extras(d, package.extras)
    w.close(3, f"{P}MessageHeader")


def _trace(w: _Writer, trace: TraceHeaderList) -> None:
    w.open(3, f"{P}TraceHeaderList", trace.attributes)
    for header in trace.trace_headers:
        w.open(4, f"{P}TraceHeader")
        w.leaf(5, f"{P}OrganId", header.organ_id)
        w.leaf(5, f"{P}Timestamp", header.timestamp)
        w.close(4, f"{P}TraceHeader")
    if trace.business is not None:
        _business(w, 4, trace.business)
    w.close(3, f"{P}TraceHeaderList")


def _business(w: _Writer, depth: int, business: Business) -> None:
    w.open(depth, f"{P}Bussiness")
    d = depth + 1
    w.leaf(d, f"{P}DocumentId", business.document_id)
    w.leaf(d, f"{P}BussinessDocType", int(business.doc_type))
    w.leaf(d, f"{P}BussinessDocReason", business.reason)
    w.leaf(d, f"{P}Paper", business.paper)
    info = business.document_info
    if info is not None:
        w.open(d, f"{P}BussinessDocumentInfo")
        w.leaf(d + 1, f"{P}DocumentInfo", info.document_info)
        w.leaf(d + 1, f"{P}DocumentReceiver", info.document_receiver)
        if info.receivers is not None:
            w.open(d + 1, f"{P}ReceiverList")
            for receiver in info.receivers:
                w.open(d + 2, f"{P}Receiver")
                w.leaf(d + 3, f"{P}OrganId", receiver.organ_id)
                w.leaf(d + 3, f"{P}ReceiverType", receiver.receiver_type)
                w.close(d + 2, f"{P}Receiver")
            w.close(d + 1, f"{P}ReceiverList")
        w.close(d, f"{P}BussinessDocumentInfo")
    if business.replacements is not None:
        w.open(d, f"{P}ReplacementInfoList")
        for replacement in business.replacements:
            w.open(d + 1, f"{P}ReplacementInfo")
            w.leaf(d + 2, f"{P}DocumentId", replacement.document_id)
            w.open(d + 2, f"{P}OrganIdList")
            for organ_id in replacement.organ_ids:
                w.leaf(d + 3, f"{P}OrganId", organ_id)
            w.close(d + 2, f"{P}OrganIdList")
            w.close(d + 1, f"{P}ReplacementInfo")
        w.close(d, f"{P}ReplacementInfoList")
    _staff_info(w, d, business.staff_info)
    w.extras(d, business.extras)
    w.close(depth, f"{P}Bussiness")


def _body(w: _Writer, package: DocumentPackage) -> None:
    w.open(2, f"{P}edXMLBody")
    version = {"version": package.manifest_version} if package.manifest_version else None
    w.open(3, f"{P}edXMLManifest", version)
    for ref in package.references:
        w.open(4, f"{P}Reference", ref.attributes)
        w.leaf(5, f"{P}ContentId", ref.content_id)
        w.leaf(5, f"{P}ContentType", ref.content_type)
        w.leaf(5, f"{P}Description", ref.description)
        w.leaf(5, f"{P}AttachmentName", ref.attachment_name)
        w.extras(5, ref.extras)
        w.close(4, f"{P}Reference")
    w.close(3, f"{P}edXMLManifest")
    w.close(2, f"{P}edXMLBody")


def _attachments(w: _Writer, attachments: list[Attachment]) -> None:
    if not attachments:
        return
    w.open(1, "AttachmentEncoded")
    for attachment in attachments:
        w.open(2, "Attachment")
        w.leaf(3, "ContentId", attachment.content_id)
        w.leaf(3, "AttachmentName", attachment.attachment_name)
        w.leaf(3, "Description", attachment.description)
        w.leaf(3, "ContentType", attachment.content_type)
        w.extras(3, attachment.extras)
        w.parts.append(
            ("      " f'<{P}ContentTransferEncoded xmlns:edXML="{NAMESPACE}">').encode()
        )
        w.parts.append(base64.b64encode(attachment.data))
        w.parts.append(f"</{P}ContentTransferEncoded>{NL}".encode())
        w.close(2, "Attachment")
    w.close(1, "AttachmentEncoded")
