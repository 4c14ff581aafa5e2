"""Signed receipts: the gateway's own statement that it durably received a package.

A receipt is a small XML document in its own namespace, signed by the gateway (enveloped
XMLDSig, RSA-SHA256) so a sender can keep it as proof and verify it offline against the
certificate published at /.well-known/gateway-certificate.pem.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from ..db import show_time
from ..trust import GatewaySigner
from .schemas import Timeline

RECEIPT_NAMESPACE = "urn:vn:gov:gateway:receipt:1"


def build_receipt(timeline: Timeline, *, node_code: str, issued_at: datetime) -> bytes:
    q = f"{{{RECEIPT_NAMESPACE}}}"
    package = timeline.package
    root = etree.Element(f"{q}Receipt", nsmap={None: RECEIPT_NAMESPACE})

    def add(parent: etree._Element, name: str, value: object | None) -> None:
        if value is not None:
            etree.SubElement(parent, f"{q}{name}").text = str(value)

    add(root, "IssuedBy", node_code)
    add(root, "IssuedAt", show_time(issued_at))
    add(root, "PackageId", package.id)
    add(root, "Kind", package.kind)
    add(root, "From", package.sender)
    add(root, "DocumentId", package.document_id)
    add(root, "Code", package.code)
    add(root, "Subject", package.subject)
    add(root, "Sha256", package.sha256)
    add(root, "Size", package.size)
    add(root, "ReceivedAt", show_time(package.received_at))
    add(root, "LegalReceivedAt", show_time(package.legal_received_at))
    add(root, "SignatureClass", package.signature_class)
    if package.signature and "reference_only" in package.signature:
        add(root, "ReferenceOnly", "true" if package.signature["reference_only"] else "false")
    files = (package.signature or {}).get("attachments") or []
    if files:  # each document file's own signature (gateway.packages.document_files)
        listed = etree.SubElement(root, f"{q}DocumentFiles")
        for f in files:
            signers = "; ".join(s["subject"] for s in f.get("signers", []))
            attributes = {"name": f["name"], "signature": f["class"]}
            if f.get("reason"):
                attributes["reason"] = f["reason"]
            if signers:
                attributes["signer"] = signers
            etree.SubElement(listed, f"{q}DocumentFile", attributes)
    deliveries = etree.SubElement(root, f"{q}Deliveries")
    for recipient in timeline.recipients:
        etree.SubElement(
            deliveries,
            f"{q}Delivery",
            id=recipient.delivery_id,
            recipient=recipient.recipient,
            state=recipient.state,
        )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def signed_receipt(
    timeline: Timeline, signer: GatewaySigner, *, node_code: str, issued_at: datetime
) -> bytes:
    return signer.sign_receipt(build_receipt(timeline, node_code=node_code, issued_at=issued_at))
