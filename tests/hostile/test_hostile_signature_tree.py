"""Intake verifies the signature on the tree validation read (issue 14). That reader drops
comments and processing instructions and keeps attachment texts out of the tree, so a forger
may try to hide a change where the reader does not look. Each case must be refused as signxml
refuses it on the bytes."""

from __future__ import annotations

import pytest
from lxml import etree

from conftest import sample_bytes
from gateway.edxml import Limits
from gateway.edxml.parse import parse_with_findings
from gateway.packages.signatures import verify_for_intake
from gateway.trust import ReasonCode, TrustStore
from gateway.trust.xmlsafe import new_parser
from trust.pki import DS, HEADER, _AnySigner, agency_sign, strip_signatures

WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"


def _intake(raw: bytes, store: TrustStore, at):
    _package, _findings, read = parse_with_findings(raw, Limits(), keep=True)
    return verify_for_intake(raw, read, store, at=at)


def _sign_with_comments(unsigned: bytes, pki) -> bytes:
    root = etree.fromstring(unsigned, parser=new_parser())
    etree.SubElement(root.find(HEADER), f"{DS}Signature", Id="placeholder", nsmap={"ds": DS[1:-1]})
    signer = _AnySigner(
        signature_algorithm="rsa-sha256", digest_algorithm="sha256", c14n_algorithm=WITH_COMMENTS
    )
    signed = signer.sign(root, key=pki.agency_key, cert=[pki.agency, pki.intermediate])
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return strip_signatures(sample_bytes("edoc_new.edxml"))


def test_a_processing_instruction_added_after_signing_is_refused(pki, store, unsigned) -> None:
    signed = agency_sign(unsigned, pki.agency_key, [pki.agency, pki.intermediate])
    forged = signed.replace(b"</edXML:MessageHeader>", b"<?hidden x?></edXML:MessageHeader>", 1)
    assert forged != signed
    report = _intake(forged, store, pki.now)
    assert report.reason.code is ReasonCode.SIGNATURE_DIGEST_MISMATCH


def test_a_comment_added_to_a_signed_info_that_counts_comments_is_refused(
    pki, store, unsigned
) -> None:
    signed = _sign_with_comments(unsigned, pki)
    assert _intake(signed, store, pki.now).is_signed_valid
    forged = signed.replace(b"<ds:SignedInfo>", b"<ds:SignedInfo><!--x-->", 1)
    assert forged != signed
    report = _intake(forged, store, pki.now)
    assert report.reason.code is ReasonCode.SIGNATURE_INVALID


def test_a_changed_attachment_is_refused_though_its_text_is_outside_the_tree(
    pki, store, unsigned
) -> None:
    signed = agency_sign(unsigned, pki.agency_key, [pki.agency, pki.intermediate])
    start = signed.index(b"ContentTransferEncoded") + 200
    forged = (
        signed[:start] + (b"A" if signed[start : start + 1] != b"A" else b"B") + signed[start + 1 :]
    )
    _package, _findings, read = parse_with_findings(forged, Limits(), keep=True)
    assert read.payloads and all(e.text is None for e in read.payloads)
    report = verify_for_intake(forged, read, store, at=pki.now)
    assert report.reason.code is ReasonCode.SIGNATURE_DIGEST_MISMATCH
