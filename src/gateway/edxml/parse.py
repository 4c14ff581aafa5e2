"""From a safely read tree to the typed models.

Elements are matched by namespace + local name (the SDK writes the same namespace with and
without the `edXML:` prefix). Text is stripped and normalised to Unicode NFC; a change made by
normalisation is reported as a warning. Structure has already been checked by the XSD; what
the XSD cannot say (how many times each MessageHeader child may occur, since their order
varies in the wild) is checked here.
"""

from __future__ import annotations

import binascii
import unicodedata
from collections.abc import Iterable

from lxml import etree

from . import schema
from .codes import NAMESPACE, BusinessDocType
from .codes import FindingCode as C
from .errors import EdxmlError, Finding, error, warning
from .layout import sdk_fragment
from .limits import DEFAULT_LIMITS, Limits
from .models import (
    Attachment,
    Business,
    BusinessDocumentInfo,
    Code,
    DocumentPackage,
    DocumentType,
    ExtraElement,
    MessageHeader,
    Organization,
    OtherInfo,
    Package,
    PromulgationInfo,
    Receiver,
    Reference,
    ReplacementInfo,
    ResponseFor,
    SignatureBlock,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
    TraceHeaderList,
)
from .placement import misplaced
from .reader import ElementPaths, ReadXml, read_xml

_BASE64_WHITESPACE = dict.fromkeys(map(ord, " \t\r\n"))

# How many times a MessageHeader child may occur: (min, max); max None = unbounded.
_DOCUMENT_HEADER_CARDINALITY: dict[str, tuple[int, int | None]] = {
    "From": (1, 1),
    "To": (1, None),
    "DocumentId": (0, 1),
    "Code": (1, 1),
    "PromulgationInfo": (1, 1),
    "DocumentType": (1, 1),
    "Subject": (1, 1),
    "Content": (0, 1),
    "SignerInfo": (0, 1),
    "DueDate": (0, 1),
    "ToPlaces": (0, 1),
    "OtherInfo": (0, 1),
    "ResponseFor": (0, None),
    "SteeringType": (0, 1),
}


def parse_package(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Package:
    """Read, check structure and build the model. Raises EdxmlError on any error finding."""
    package, _findings, _read = parse_with_findings(data, limits)
    return package


def parse_with_findings(
    data: bytes, limits: Limits, *, keep: bool = False
) -> tuple[Package, list[Finding], ReadXml]:
    """The package, the findings, and the tree it was read from (`keep`: see `read_xml`)."""
    read = read_xml(data, limits, keep=keep)
    _refuse_too_many_recipients(read.root, limits)
    kind = package_kind(read.root)
    # no region is opaque: structural elements are only read where the format puts them
    findings = read.findings + misplaced(read.root) + schema.validate(read.root, kind)
    if any(f.is_error for f in findings):
        raise EdxmlError(findings)
    parser = _Parser(read, data, limits, findings)
    package = parser.status() if kind == "status" else parser.document()
    if any(f.is_error for f in findings):
        raise EdxmlError(findings)
    return package, findings, read


def _refuse_too_many_recipients(root: etree._Element, limits: Limits) -> None:
    """Before any other work (XSD, models, rules): every To costs work downstream."""
    header = _path(root, "edXMLEnvelope", "edXMLHeader", "MessageHeader")
    if header is None:
        return
    count = sum(1 for _ in header.iterchildren(_q("To")))
    if count > limits.max_recipients:
        raise EdxmlError(
            [
                error(
                    C.RECIPIENTS_TOO_MANY,
                    f"Gói tin có {count} nơi nhận (To), vượt giới hạn {limits.max_recipients}.",
                    "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To",
                    header.sourceline,
                )
            ]
        )


def package_kind(root: etree._Element) -> str:
    """A status package is the one whose MessageHeader carries a StatusCode."""
    header = _path(root, "edXMLEnvelope", "edXMLHeader", "MessageHeader")
    if header is not None and _child(header, "StatusCode") is not None:
        return "status"
    return "document"


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    return parent.find(_q(name))


def _children(parent: etree._Element, name: str) -> list[etree._Element]:
    return parent.findall(_q(name))


def _path(root: etree._Element, *names: str) -> etree._Element | None:
    node: etree._Element | None = root
    for name in names:
        if node is None:
            return None
        node = _child(node, name)
    return node


class _Parser:
    def __init__(self, read: ReadXml, data: bytes, limits: Limits, findings: list[Finding]):
        self.read = read
        self.data = data
        self.limits = limits
        self.findings = findings
        self._paths: ElementPaths | None = None

    def path(self, element: etree._Element) -> str:
        if self._paths is None:  # built once, on the first finding that needs a path
            self._paths = ElementPaths(self.read.root)
        return self._paths.of(element)

    # ---- text helpers -------------------------------------------------------------------
    def text(self, element: etree._Element | None) -> str | None:
        if element is None:
            return None
        raw = (element.text or "").strip()
        normalised = unicodedata.normalize("NFC", raw)
        if normalised != raw:
            self.findings.append(
                warning(
                    C.TEXT_NORMALIZED,
                    "Văn bản đã được chuẩn hóa Unicode NFC.",
                    self.path(element),
                    element.sourceline,
                )
            )
        return normalised

    def child_text(self, parent: etree._Element, name: str) -> str | None:
        return self.text(_child(parent, name))

    def child_int(self, parent: etree._Element, name: str) -> int | None:
        value = self.child_text(parent, name)
        return int(value) if value else None

    def required_text(self, parent: etree._Element, name: str) -> str:
        value = self.child_text(parent, name)
        if value is None:
            self.missing(parent, name)
            return ""
        return value

    def missing(self, parent: etree._Element, name: str) -> None:
        self.findings.append(
            error(
                C.ELEMENT_MISSING,
                f"Thiếu phần tử bắt buộc {name}.",
                f"{self.path(parent)}/{name}",
                parent.sourceline,
            )
        )

    def extras(self, parent: etree._Element, known: Iterable[str]) -> list[ExtraElement]:
        names = {_q(n) for n in known}
        return [
            ExtraElement(xml=etree.tostring(child, encoding="unicode", with_tail=False))
            for child in parent
            if isinstance(child.tag, str) and child.tag not in names
        ]

    # ---- shared parts -------------------------------------------------------------------
    def organization(self, element: etree._Element) -> Organization:
        fields = {
            "organization_in_charge": "OrganizationInCharge",
            "organ_name": "OrganName",
            "organ_add": "OrganAdd",
            "email": "Email",
            "telephone": "Telephone",
            "fax": "Fax",
            "website": "Website",
        }
        return Organization(
            organ_id=self.required_text(element, "OrganId"),
            **{attr: self.child_text(element, tag) for attr, tag in fields.items()},
            extras=self.extras(element, ["OrganId", *fields.values()]),
        )

    def staff_info(self, element: etree._Element | None) -> StaffInfo | None:
        if element is None:
            return None
        known = ["Department", "Staff", "Email", "Mobile"]
        return StaffInfo(
            department=self.child_text(element, "Department"),
            staff=self.child_text(element, "Staff"),
            email=self.child_text(element, "Email"),
            mobile=self.child_text(element, "Mobile"),
            extras=self.extras(element, known),
        )

    def response_for(self, element: etree._Element) -> ResponseFor:
        return ResponseFor(
            organ_id=self.child_text(element, "OrganId"),
            code=self.child_text(element, "Code"),
            promulgation_date=self.child_text(element, "PromulgationDate"),
            document_id=self.child_text(element, "DocumentId"),
        )

    def trace_list(self, element: etree._Element | None) -> TraceHeaderList | None:
        if element is None:
            return None
        return TraceHeaderList(
            trace_headers=[
                TraceHeader(
                    organ_id=self.required_text(th, "OrganId"),
                    timestamp=self.required_text(th, "Timestamp"),
                )
                for th in _children(element, "TraceHeader")
            ],
            business=self.business(_child(element, "Bussiness")),
            attributes=dict(element.attrib),
        )

    def business(self, element: etree._Element | None) -> Business | None:
        if element is None:
            return None
        info = _child(element, "BussinessDocumentInfo")
        replacements = _child(element, "ReplacementInfoList")
        doc_type = self.child_int(element, "BussinessDocType")
        return Business(
            doc_type=BusinessDocType(doc_type or 0),
            document_id=self.child_text(element, "DocumentId"),
            reason=self.child_text(element, "BussinessDocReason"),
            paper=self.child_int(element, "Paper"),
            document_info=self.document_info(info) if info is not None else None,
            replacements=(
                [self.replacement(r) for r in _children(replacements, "ReplacementInfo")]
                if replacements is not None
                else None
            ),
            staff_info=self.staff_info(_child(element, "StaffInfo")),
            extras=self.extras(
                element,
                [
                    "DocumentId",
                    "BussinessDocType",
                    "BussinessDocReason",
                    "Paper",
                    "BussinessDocumentInfo",
                    "ReplacementInfoList",
                    "StaffInfo",
                ],
            ),
        )

    def document_info(self, element: etree._Element) -> BusinessDocumentInfo:
        receiver_list = _child(element, "ReceiverList")
        receivers = None
        if receiver_list is not None:
            receivers = [
                Receiver(
                    organ_id=self.required_text(r, "OrganId"),
                    receiver_type=self.child_int(r, "ReceiverType") or 0,
                )
                for r in _children(receiver_list, "Receiver")
            ]
        return BusinessDocumentInfo(
            document_info=self.child_text(element, "DocumentInfo"),
            document_receiver=self.child_text(element, "DocumentReceiver"),
            receivers=receivers,
        )

    def replacement(self, element: etree._Element) -> ReplacementInfo:
        organ_list = _child(element, "OrganIdList")
        organ_ids = []
        if organ_list is not None:
            organ_ids = [self.text(o) or "" for o in _children(organ_list, "OrganId")]
        return ReplacementInfo(
            document_id=self.required_text(element, "DocumentId"), organ_ids=organ_ids
        )

    def signature(self, header: etree._Element) -> SignatureBlock | None:
        for element in header:
            if not isinstance(element.tag, str):
                continue
            qname = etree.QName(element)
            if qname.localname in ("Signature", "DigitalSignature"):
                return SignatureBlock(
                    # what the parser read there, written in the SDK's layout (never cut out of
                    # the submitted text)
                    xml=sdk_fragment(element),
                    namespace=qname.namespace,
                )
        return None

    # ---- the two kinds of package ---------------------------------------------------------
    def document(self) -> DocumentPackage:
        root = self.read.root
        header_el = _path(root, "edXMLEnvelope", "edXMLHeader")
        assert header_el is not None  # guaranteed by the XSD
        message = _child(header_el, "MessageHeader")
        assert message is not None
        self.check_cardinality(message)
        manifest = _path(root, "edXMLEnvelope", "edXMLBody", "edXMLManifest")
        attachments_el = _child(root, "AttachmentEncoded")
        return DocumentPackage(
            header=self.message_header(message),
            trace=self.trace_list(_child(header_el, "TraceHeaderList")) or TraceHeaderList(),
            signature=self.signature(header_el),
            manifest_version=manifest.get("version") if manifest is not None else None,
            references=[self.reference(r) for r in _children(manifest, "Reference")]
            if manifest is not None
            else [],
            attachments=[
                self.attachment(a) for a in _children(attachments_el, "Attachment")
            ]
            if attachments_el is not None
            else [],
        )

    def status(self) -> StatusPackage:
        header_el = _path(self.read.root, "edXMLEnvelope", "edXMLHeader")
        assert header_el is not None
        message = _child(header_el, "MessageHeader")
        assert message is not None
        sender = _child(message, "From")
        response_for = _child(message, "ResponseFor")
        if sender is None:
            self.missing(message, "From")
        if response_for is None:
            self.missing(message, "ResponseFor")
        known = ["From", "ResponseFor", "StaffInfo", "StatusCode", "Description", "Timestamp"]
        return StatusPackage(
            sender=self.organization(sender) if sender is not None else Organization(organ_id=""),
            response_for=self.response_for(response_for)
            if response_for is not None
            else ResponseFor(),
            status_code=self.required_text(message, "StatusCode"),
            timestamp=self.required_text(message, "Timestamp"),
            staff_info=self.staff_info(_child(message, "StaffInfo")),
            description=self.child_text(message, "Description"),
            extras=self.extras(message, known),
            trace=self.trace_list(_child(header_el, "TraceHeaderList")),
            signature=self.signature(header_el),
        )

    def check_cardinality(self, message: etree._Element) -> None:
        for name, (low, high) in _DOCUMENT_HEADER_CARDINALITY.items():
            found = _children(message, name)
            if len(found) < low:
                self.missing(message, name)
            elif high is not None and len(found) > high:
                self.findings.append(
                    error(
                        C.ELEMENT_REPEATED,
                        f"Phần tử {name} chỉ được xuất hiện {high} lần.",
                        self.path(found[high]),
                        found[high].sourceline,
                    )
                )

    def message_header(self, message: etree._Element) -> MessageHeader:
        def part(name: str) -> etree._Element:
            return _child(message, name) if _child(message, name) is not None else etree.Element(
                _q(name)
            )

        code = part("Code")
        promulgation = part("PromulgationInfo")
        document_type = part("DocumentType")
        signer = _child(message, "SignerInfo")
        other = _child(message, "OtherInfo")
        to_places = _child(message, "ToPlaces")
        return MessageHeader(
            sender=self.organization(part("From")),
            recipients=[self.organization(t) for t in _children(message, "To")],
            document_id=self.child_text(message, "DocumentId"),
            code=Code(
                code_number=self.required_text(code, "CodeNumber"),
                code_notation=self.required_text(code, "CodeNotation"),
            ),
            promulgation_info=PromulgationInfo(
                place=self.child_text(promulgation, "Place"),
                promulgation_date=self.required_text(promulgation, "PromulgationDate"),
            ),
            document_type=DocumentType(
                type=self.child_int(document_type, "Type") or 0,
                type_detail=self.child_int(document_type, "TypeDetail"),
                type_name=self.child_text(document_type, "TypeName"),
            ),
            subject=self.child_text(message, "Subject") or "",
            content=self.child_text(message, "Content"),
            signer_info=SignerInfo(
                competence=self.child_text(signer, "Competence"),
                position=self.child_text(signer, "Position"),
                full_name=self.child_text(signer, "FullName"),
            )
            if signer is not None
            else None,
            due_date=self.child_text(message, "DueDate"),
            other_info=self.other_info(other) if other is not None else None,
            response_for=[self.response_for(r) for r in _children(message, "ResponseFor")],
            steering_type=self.child_int(message, "SteeringType"),
            to_places=[self.text(p) or "" for p in _children(to_places, "Place")]
            if to_places is not None
            else None,
            extras=self.extras(message, _DOCUMENT_HEADER_CARDINALITY),
        )

    def other_info(self, element: etree._Element) -> OtherInfo:
        appendixes = _child(element, "Appendixes")
        direction = self.child_text(element, "Direction")
        known = [
            "Priority",
            "SphereOfPromulgation",
            "TyperNotation",
            "PromulgationAmount",
            "PageAmount",
            "Direction",
            "Appendixes",
        ]
        return OtherInfo(
            priority=self.child_int(element, "Priority"),
            sphere_of_promulgation=self.child_text(element, "SphereOfPromulgation"),
            typer_notation=self.child_text(element, "TyperNotation"),
            promulgation_amount=self.child_int(element, "PromulgationAmount"),
            page_amount=self.child_int(element, "PageAmount"),
            direction=None if not direction else direction.lower() in ("true", "1"),
            appendixes=[self.text(a) or "" for a in _children(appendixes, "Appendix")]
            if appendixes is not None
            else None,
            extras=self.extras(element, known),
        )

    def reference(self, element: etree._Element) -> Reference:
        known = ["ContentId", "ContentType", "Description", "AttachmentName"]
        return Reference(
            content_id=self.required_text(element, "ContentId"),
            content_type=self.child_text(element, "ContentType"),
            description=self.child_text(element, "Description"),
            attachment_name=self.child_text(element, "AttachmentName"),
            attributes=dict(element.attrib),
            extras=self.extras(element, known),
        )

    def attachment(self, element: etree._Element) -> Attachment:
        known = ["ContentId", "AttachmentName", "Description", "ContentType"]
        encoded = _child(element, "ContentTransferEncoded")
        return Attachment(
            content_id=self.required_text(element, "ContentId"),
            attachment_name=self.child_text(element, "AttachmentName"),
            description=self.child_text(element, "Description"),
            content_type=self.child_text(element, "ContentType"),
            data=self.decode(encoded) if encoded is not None else b"",
            extras=self.extras(element, [*known, "ContentTransferEncoded"]),
        )

    def decode(self, element: etree._Element) -> bytes:
        """Decode one base64 payload (the text the parser read); check size first."""
        raw = self.read.take_payload(element)
        path = self.path(element)
        # decoded size is at most 3/4 of the encoded length; refuse before decoding
        if len(raw) * 3 // 4 > self.limits.max_attachment_bytes + 3:
            self.findings.append(
                error(
                    C.ATTACHMENT_TOO_LARGE,
                    f"Tệp đính kèm vượt giới hạn {self.limits.max_attachment_bytes} byte.",
                    path,
                    element.sourceline,
                )
            )
            return b""
        try:
            data = _decode_base64(raw)
        except ValueError as exc:  # binascii.Error, or a character outside ASCII
            self.findings.append(
                error(
                    C.BASE64_INVALID,
                    f"Nội dung đính kèm không phải base64 hợp lệ ({exc}).",
                    path,
                    element.sourceline,
                )
            )
            return b""
        if len(data) > self.limits.max_attachment_bytes:
            self.findings.append(
                error(
                    C.ATTACHMENT_TOO_LARGE,
                    f"Tệp đính kèm {len(data)} byte vượt giới hạn "
                    f"{self.limits.max_attachment_bytes} byte.",
                    path,
                    element.sourceline,
                )
            )
            return b""
        return data


def _decode_base64(raw: str) -> bytes:
    """Strict base64 (alphabet, padding, nothing after it). Line-wrapped payloads are allowed:
    whitespace is removed on a second pass, which costs a copy only when it is needed."""
    try:
        return binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        return binascii.a2b_base64(raw.translate(_BASE64_WHITESPACE), strict_mode=True)
