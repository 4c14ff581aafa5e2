"""The gateway's own signatures verify with a plain signxml verifier and the published cert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from pki import DS, HEADER
from signxml import XMLVerifier

from gateway.trust import GatewaySigner, SignatureClass, TrustStore, verify_package

RECEIPT = """<?xml version="1.0" encoding="UTF-8"?>
<Receipt xmlns="urn:gateway:receipt">
  <DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</DocumentId>
  <ReceivedAt>2024-05-06T07:08:09+07:00</ReceivedAt>
  <Status>accepted</Status>
</Receipt>""".encode()

SAMPLES = Path(__file__).parent.parent / "data" / "samples"


def test_signed_receipt_verifies_with_plain_signxml(gateway_signer):
    signed = gateway_signer.sign_receipt(RECEIPT)

    result = XMLVerifier().verify(signed, x509_cert=gateway_signer.certificate_pem())

    assert result.signed_xml.findtext("{urn:gateway:receipt}Status") == "accepted"
    root = etree.fromstring(signed)
    assert root[-1].tag == f"{DS}Signature"  # enveloped at the root's end


def test_signed_status_package_verifies_with_plain_signxml(gateway_signer):
    status = (SAMPLES / "status_rejection_02.edxml").read_bytes()
    signed = gateway_signer.sign_edxml(status)

    XMLVerifier().verify(signed, x509_cert=gateway_signer.certificate_pem())

    header = etree.fromstring(signed).find(HEADER)
    assert header[-1].tag == f"{DS}Signature"


def test_gateway_signature_is_signed_valid_for_a_peer_that_pins_the_certificate(gateway_signer):
    signed = gateway_signer.sign_edxml((SAMPLES / "status.edxml").read_bytes())
    pinned = TrustStore([gateway_signer.certificate])

    report = verify_package(signed, pinned, at=datetime.now(UTC))

    assert report.classification is SignatureClass.SIGNED_VALID
    assert report.digest_algorithm == "sha256" and report.signature_algorithm == "rsa-sha256"


def test_placeholder_is_replaced_by_a_real_signature(gateway_signer):
    signed = gateway_signer.sign_edxml((SAMPLES / "edoc_new.edxml").read_bytes())

    header = etree.fromstring(signed, parser=etree.XMLParser(huge_tree=True)).find(HEADER)
    names = [etree.QName(child).localname for child in header]
    assert names == ["MessageHeader", "TraceHeaderList", "Signature"]
    assert header[-1].tag == f"{DS}Signature"
    assert b"MIIFqTCCBJG" not in signed
    XMLVerifier().verify(signed, x509_cert=gateway_signer.certificate_pem())


def test_signature_algorithms_are_rsa_sha256(gateway_signer):
    signed = etree.fromstring(gateway_signer.sign_receipt(RECEIPT))
    algorithms = {e.get("Algorithm") for e in signed.iter() if e.get("Algorithm")}
    assert "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" in algorithms
    assert "http://www.w3.org/2001/04/xmlenc#sha256" in algorithms
    assert signed.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference").get("URI") == ""
    assert signed.find(f".//{DS}X509Certificate") is not None


def test_already_signed_documents_are_refused(gateway_signer):
    signed = gateway_signer.sign_receipt(RECEIPT)
    with pytest.raises(ValueError, match="already"):
        gateway_signer.sign_receipt(signed)


def test_non_edxml_is_refused_by_sign_edxml(gateway_signer):
    with pytest.raises(ValueError, match="edXML"):
        gateway_signer.sign_edxml(RECEIPT)


def test_doctype_is_refused_when_signing(gateway_signer):
    with pytest.raises(ValueError):
        gateway_signer.sign_receipt(b'<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>')


def test_from_files_and_published_pem(tmp_path, gateway_signer, pki):
    key_path, cert_path = tmp_path / "key.pem", tmp_path / "cert.pem"
    key_path.write_bytes(
        pki.gateway_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    cert_path.write_bytes(gateway_signer.certificate_pem().encode())
    chain_path = tmp_path / "chain.pem"
    chain_path.write_bytes(pki.bundle_pem())

    loaded = GatewaySigner.from_files(key_path, cert_path, chain_path, password=b"secret")

    assert loaded.certificate_pem() == gateway_signer.certificate_pem()
    assert loaded.certificate_pem().count("BEGIN CERTIFICATE") == 1
    assert loaded.chain_pem().count("BEGIN CERTIFICATE") == 3


def test_key_must_match_certificate(pki, gateway_signer):
    with pytest.raises(ValueError, match="does not match"):
        GatewaySigner(pki.agency_key, gateway_signer.certificate)


def test_health_counts_days_left(gateway_signer):
    now = datetime.now(UTC)
    assert gateway_signer.health(now).days_left in (29, 30)
    assert gateway_signer.health(now + timedelta(days=40)).days_left < 0


def test_large_signed_package_round_trips(gateway_signer):
    """Text nodes above libxml2's 10 MB default must sign and verify."""
    big = "A" * (11 * 1024 * 1024)
    xml = (
        (SAMPLES / "status.edxml")
        .read_bytes()
        .replace(b"</edXML:Description>", f"{big}</edXML:Description>".encode(), 1)
    )
    signed = gateway_signer.sign_edxml(xml)
    pinned = TrustStore([gateway_signer.certificate])
    report = verify_package(signed, pinned, at=datetime.now(UTC))
    assert report.classification is SignatureClass.SIGNED_VALID
    assert big.encode() in report.signed_xml
