"""verify_package: classification, chain checks and signature-wrapping resistance."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from pki import DS, ED, HEADER, agency_sign, strip_signatures
from signxml import XMLVerifier

from gateway.trust import ReasonCode, SignatureClass, TrustStore, verify_package

SUBJECT = "V/v kết nối, liên thông phần mềm quản lý văn bản".encode()

SAMPLES = Path(__file__).parent.parent / "data" / "samples"


def verify(raw, store, pki, **kw):
    return verify_package(raw, store, at=kw.get("at", pki.now))


def parse(raw: bytes) -> etree._Element:
    return etree.fromstring(raw, parser=etree.XMLParser(huge_tree=True))


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- valid signatures ----------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha256", "sha1"])
def test_valid_signature_with_either_digest(pki, store, edoc_unsigned, algorithm):
    signed = agency_sign(
        edoc_unsigned, pki.agency_key, [pki.agency, pki.intermediate], algorithm=algorithm
    )

    report = verify(signed, store, pki)

    assert report.classification is SignatureClass.SIGNED_VALID
    assert report.reason is None
    assert report.digest_algorithm == algorithm
    assert report.signature_algorithm == f"rsa-{algorithm}"
    assert report.signer.subject == pki.agency.subject.rfc4514_string()
    assert report.signer.serial == format(pki.agency.serial_number, "X")
    assert report.signer.issuer == pki.intermediate.subject.rfc4514_string()
    assert report.signer.not_after == pki.agency.not_valid_after_utc


def test_signed_xml_is_the_covered_document_without_the_signature(pki, store, edoc_signed):
    report = verify(edoc_signed, store, pki)

    covered = parse(report.signed_xml)
    assert covered.tag == f"{ED}edXML"
    assert (
        covered.findtext(f"{ED}edXMLEnvelope/{ED}edXMLHeader/{ED}MessageHeader/{ED}Subject")
        == SUBJECT.decode()
    )
    assert next(covered.iter(f"{DS}Signature"), None) is None


def test_intermediate_may_come_from_the_signature_only(pki, edoc_signed):
    roots_only = TrustStore([pki.root])
    assert verify(edoc_signed, roots_only, pki).classification is SignatureClass.SIGNED_VALID


def test_intermediate_may_come_from_the_bundle_only(pki, store, edoc_unsigned):
    signed = agency_sign(edoc_unsigned, pki.agency_key, [pki.agency])
    assert verify(signed, store, pki).classification is SignatureClass.SIGNED_VALID


def test_certificate_issued_with_sha1_is_accepted(pki, store, edoc_unsigned):
    # cryptography (and so signxml's own chain check) refuses sha1WithRSA; older VN CAs use it
    signed = agency_sign(edoc_unsigned, pki.agency_key, [pki.agency_sha1], algorithm="sha1")
    assert verify(signed, store, pki).classification is SignatureClass.SIGNED_VALID


def test_certificate_order_in_x509data_does_not_matter(pki, store, edoc_unsigned):
    signed = agency_sign(edoc_unsigned, pki.agency_key, [pki.intermediate, pki.agency])
    report = verify(signed, store, pki)
    assert report.classification is SignatureClass.SIGNED_VALID
    assert report.signer.subject == pki.agency.subject.rfc4514_string()


# --- tampering -----------------------------------------------------------------------------


def test_tampered_subject_is_a_digest_mismatch(pki, store, edoc_signed):
    tampered = edoc_signed.replace(SUBJECT, "V/v chuyển tiền gấp".encode(), 1)
    report = verify(tampered, store, pki)
    assert report.classification is SignatureClass.INVALID
    assert report.reason.code is ReasonCode.SIGNATURE_DIGEST_MISMATCH
    assert report.signed_xml is None
    assert report.signer is not None  # operators still see who claimed to sign


def test_tampered_attachment_is_a_digest_mismatch(pki, store, edoc_signed):
    start = edoc_signed.index(b"ContentTransferEncoded") + 200
    flipped = b"A" if edoc_signed[start : start + 1] != b"A" else b"B"
    tampered = edoc_signed[:start] + flipped + edoc_signed[start + 1 :]
    assert verify(tampered, store, pki).reason.code is ReasonCode.SIGNATURE_DIGEST_MISMATCH


def test_tampered_signature_value_is_invalid(pki, store, edoc_signed):
    root = parse(edoc_signed)
    value = next(root.iter(f"{DS}SignatureValue"))
    value.text = ("B" if value.text[0] == "A" else "A") + value.text[1:]
    assert verify(serialize(root), store, pki).reason.code is ReasonCode.SIGNATURE_INVALID


def test_other_key_with_the_trusted_certificate_is_invalid(pki, store, edoc_unsigned):
    # signed with the intermediate's key but presenting the agency certificate
    signed = agency_sign(edoc_unsigned, pki.intermediate_key, [pki.agency, pki.intermediate])
    assert verify(signed, store, pki).reason.code is ReasonCode.SIGNATURE_INVALID


# --- signature wrapping --------------------------------------------------------------------


def test_signature_moved_out_of_the_header_is_wrapping(pki, store, edoc_signed):
    root = parse(edoc_signed)
    signature = next(root.iter(f"{DS}Signature"))
    signature.getparent().remove(signature)
    root.append(signature)  # e.g. at the end of the root, where generic verifiers look
    moved = serialize(root)
    # a generic verifier still accepts it (the enveloped digest ignores where the signature is)
    XMLVerifier().verify(moved, x509_cert=pki.agency, expect_config=_sha_any())

    report = verify(moved, store, pki)
    assert report.reason.code is ReasonCode.SIGNATURE_WRAPPING


def test_reference_to_an_element_only_is_wrapping(pki, store, edoc_unsigned):
    """Classic wrapping: the signature covers MessageHeader (by Id), the attacker moves that
    signed header aside and puts a forged one where the parser reads it."""
    root = parse(edoc_unsigned)
    message = root.find(f"{HEADER}/{ED}MessageHeader")
    message.set("Id", "hdr")
    signed = parse(agency_sign(serialize(root), pki.agency_key, [pki.agency], reference_uri="#hdr"))
    assert verify(serialize(signed), store, pki).reason.code is ReasonCode.SIGNATURE_WRAPPING

    # done on bytes, as an attacker would: lxml would re-prefix a moved element
    signed_header = etree.tostring(
        signed.find(f"{HEADER}/{ED}MessageHeader"), method="c14n", exclusive=True
    )
    attack = (
        serialize(signed)
        .replace(b'<edXML:MessageHeader Id="hdr">', b"<edXML:MessageHeader>", 1)
        .replace(SUBJECT, "V/v chuyển tiền gấp".encode(), 1)
        .replace(b"</AttachmentEncoded>", signed_header + b"</AttachmentEncoded>", 1)
    )
    XMLVerifier().verify(attack, x509_cert=pki.agency, expect_config=_sha_any())  # fooled

    report = verify(attack, store, pki)
    assert report.classification is SignatureClass.INVALID
    assert report.reason.code is ReasonCode.SIGNATURE_WRAPPING


def test_signed_package_hidden_inside_a_forged_one_is_wrapping(
    pki, store, edoc_signed, edoc_unsigned
):
    forged = parse(edoc_unsigned.replace(SUBJECT, "V/v chuyển tiền gấp".encode(), 1))
    holder = etree.SubElement(forged, f"{ED}Extension")
    holder.append(parse(edoc_signed))
    report = verify(serialize(forged), store, pki)
    assert report.reason.code is ReasonCode.SIGNATURE_WRAPPING


def test_signature_carrying_the_original_in_an_object_fails(pki, store, edoc_signed):
    root = parse(edoc_signed)
    signature = next(root.iter(f"{DS}Signature"))
    obj = etree.SubElement(signature, f"{DS}Object")
    obj.append(copy.deepcopy(root.find(f"{HEADER}/{ED}MessageHeader")))
    root.find(f"{HEADER}/{ED}MessageHeader/{ED}Subject").text = "V/v chuyển tiền gấp"
    report = verify(serialize(root), store, pki)
    # refused before the digest is even computed: a ds:Object is unsigned content
    assert report.reason.code is ReasonCode.SIGNATURE_WRAPPING


def test_second_signature_is_wrapping(pki, store, edoc_signed):
    root = parse(edoc_signed)
    signature = next(root.iter(f"{DS}Signature"))
    root.append(copy.deepcopy(signature))
    assert verify(serialize(root), store, pki).reason.code is ReasonCode.SIGNATURE_WRAPPING


# --- certificate problems ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("certificate", "code"),
    [
        ("expired", ReasonCode.CERT_EXPIRED),
        ("not_yet_valid", ReasonCode.CERT_NOT_YET_VALID),
        ("wrong_usage", ReasonCode.CERT_KEY_USAGE),
        ("unknown_agency", ReasonCode.CERT_UNTRUSTED),
        ("revoked", ReasonCode.CERT_REVOKED),
    ],
)
def test_bad_certificate_is_invalid_with_its_reason(pki, store, edoc_unsigned, certificate, code):
    signed = agency_sign(
        edoc_unsigned, pki.agency_key, [getattr(pki, certificate), pki.intermediate]
    )
    report = verify(signed, store, pki)
    assert report.classification is SignatureClass.INVALID
    assert report.reason.code is code
    assert report.reason.message  # Vietnamese text for people
    assert report.signer.serial == format(getattr(pki, certificate).serial_number, "X")


def test_unknown_root_even_when_sent_along_is_untrusted(pki, store, edoc_unsigned):
    signed = agency_sign(edoc_unsigned, pki.agency_key, [pki.unknown_agency, pki.unknown_root])
    assert verify(signed, store, pki).reason.code is ReasonCode.CERT_UNTRUSTED


def test_revoked_certificate_was_good_before_its_revocation(pki, store, edoc_unsigned):
    signed = agency_sign(edoc_unsigned, pki.agency_key, [pki.revoked])
    earlier = pki.revoked_at - timedelta(days=1)
    assert verify(signed, store, pki, at=earlier).classification is SignatureClass.SIGNED_VALID


def test_agency_certificate_cannot_act_as_a_ca(pki, store, edoc_unsigned):
    from pki import issue

    forged = issue(
        "Giả mạo",
        pki.gateway_key.public_key(),
        pki.agency,
        pki.agency_key,
        not_before=pki.now - timedelta(days=1),
        not_after=pki.now + timedelta(days=1),
    )
    signed = agency_sign(edoc_unsigned, pki.gateway_key, [forged, pki.agency])
    assert verify(signed, store, pki).reason.code is ReasonCode.CERT_UNTRUSTED


def test_no_trust_store_means_signatures_cannot_be_trusted(pki, edoc_signed):
    report = verify_package(edoc_signed, None, at=pki.now)
    assert report.reason.code is ReasonCode.TRUST_NOT_CONFIGURED


def test_signature_without_certificate(pki, store, edoc_signed):
    root = parse(edoc_signed)
    key_info = next(root.iter(f"{DS}KeyInfo"))
    key_info.getparent().remove(key_info)
    assert verify(serialize(root), store, pki).reason.code is ReasonCode.CERT_MISSING


def test_unaccepted_algorithm(pki, store, edoc_unsigned):
    signed = agency_sign(edoc_unsigned, pki.agency_key, [pki.agency], algorithm="sha512")
    assert verify(signed, store, pki).reason.code is ReasonCode.SIGNATURE_ALGORITHM


# --- unsigned and placeholder --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("edoc_*.edxml")))
def test_sdk_samples_carry_a_placeholder(store, pki, name):
    raw = (SAMPLES / name).read_bytes()
    report = verify(raw, store, pki)
    assert report.classification is SignatureClass.PLACEHOLDER
    assert report.signed_xml is None


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("status*.edxml")))
def test_status_samples_are_unsigned(store, pki, name):
    assert (
        verify((SAMPLES / name).read_bytes(), store, pki).classification is SignatureClass.UNSIGNED
    )


def test_package_without_signature_is_unsigned(store, pki, edoc_unsigned):
    assert verify(edoc_unsigned, store, pki).classification is SignatureClass.UNSIGNED
    assert verify(edoc_unsigned, None, pki).classification is SignatureClass.UNSIGNED


def test_empty_digital_signature_is_unsigned(store, pki, edoc_unsigned):
    root = parse(edoc_unsigned)
    etree.SubElement(root.find(HEADER), f"{ED}DigitalSignature")
    assert verify(serialize(root), store, pki).classification is SignatureClass.UNSIGNED


# --- hostile and broken input --------------------------------------------------------------


def test_doctype_is_refused_before_parsing(store, pki, edoc_signed):
    with_doctype = edoc_signed.replace(b"?>", b'?>\n<!DOCTYPE edXML [<!ENTITY x "y">]>', 1)
    report = verify(with_doctype, store, pki)
    assert report.classification is SignatureClass.INVALID
    assert report.reason.code is ReasonCode.XML_DOCTYPE_FORBIDDEN


def test_billion_laughs_is_refused(store, pki):
    bomb = b'<?xml version="1.0"?><!-- c --><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    for level in range(1, 10):
        bomb += f'<!ENTITY {chr(97 + level)} "{("&" + chr(96 + level) + ";") * 10}">'.encode()
    bomb += b"]><l>&j;</l>"
    assert verify(bomb, store, pki).reason.code is ReasonCode.XML_DOCTYPE_FORBIDDEN


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"garbage",
        b"\x00\x01\x02",
        b"<edXML",
        "<?xml version='1.0' encoding='UTF-16'?><a/>".encode("utf-16"),
        b"<a><ds:Signature xmlns:ds='http://www.w3.org/2000/09/xmldsig#'>x</ds:Signature></a>",
        b"<a><ds:Signature xmlns:ds='http://www.w3.org/2000/09/xmldsig#'><ds:SignedInfo>"
        b"<ds:Reference URI=''/></ds:SignedInfo></ds:Signature></a>",
    ],
)
def test_broken_input_is_invalid_never_an_exception(store, pki, raw):
    assert verify(raw, store, pki).classification is SignatureClass.INVALID


def test_broken_certificate_is_invalid(pki, store, edoc_signed):
    root = parse(edoc_signed)
    for cert in root.iter(f"{DS}X509Certificate"):
        cert.text = "MIIFqTCCBJG"  # the SDK's truncated certificate
    assert verify(serialize(root), store, pki).reason.code is ReasonCode.CERT_MALFORMED


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(store, pki, raw):
    assert verify(raw, store, pki).classification in {
        SignatureClass.INVALID,
        SignatureClass.UNSIGNED,
    }


def _sha_any():
    from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod

    return SignatureConfiguration(
        signature_methods=frozenset(SignatureMethod), digest_algorithms=frozenset(DigestAlgorithm)
    )


def test_placeholder_removal_helper_keeps_the_rest(edoc_unsigned):
    assert b"MIIFqTCCBJG" not in edoc_unsigned
    assert SUBJECT in edoc_unsigned
    assert strip_signatures(edoc_unsigned) == edoc_unsigned
