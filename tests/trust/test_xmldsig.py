"""The tree verifier (gateway.trust.xmldsig) against signxml: the same answer on every case.

Each signed package, and each tampered variant of it, is checked three ways: signxml on the
bytes (what the gateway ran before issue 14, with its old mapping to reason codes), our
`verify_package` on the bytes, and the intake path on the tree validation read
(`verify_for_intake`, payload texts moved out and comments and PIs dropped by the reader).
All three must agree, valid or which failure.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree
from signxml import (
    InvalidCertificate,
    InvalidDigest,
    InvalidInput,
    InvalidSignature,
    SignatureConfiguration,
    XMLVerifier,
)

from gateway.edxml import EdxmlError, Limits
from gateway.edxml.parse import parse_with_findings
from gateway.packages.signatures import verify_for_intake
from gateway.trust import ReasonCode, TrustStore, verify_package
from gateway.trust.verify import ACCEPTED_DIGESTS, ACCEPTED_SIGNATURE_METHODS
from gateway.trust.xmlsafe import new_parser
from trust.pki import DS, ED, HEADER, _AnySigner, agency_sign, strip_signatures

SHARED = Path(__file__).resolve().parents[3] / "shared" / "samples" / "edxml"
LOCAL = Path(__file__).resolve().parent.parent / "data" / "samples"
SAMPLES = SHARED if SHARED.is_dir() else LOCAL
NAMES = sorted(p.name for p in SAMPLES.glob("*.edxml"))
VALID = "valid"
# what the signature's cryptography decides; anything else is decided before it (shape, chain)
CRYPTO = {
    VALID,
    ReasonCode.SIGNATURE_DIGEST_MISMATCH.value,
    ReasonCode.SIGNATURE_INVALID.value,
    ReasonCode.SIGNATURE_MALFORMED.value,
    ReasonCode.VERIFICATION_ERROR.value,
}


@dataclass(frozen=True)
class Signed:
    raw: bytes
    leaf: x509.Certificate
    store: TrustStore
    at: datetime


def signxml_says(doc: Signed, raw: bytes) -> str:
    """signxml on the bytes, mapped to reason codes as gateway.trust did before issue 14."""
    root = etree.fromstring(raw, parser=new_parser())
    location = f"./{ED}edXMLEnvelope/{ED}edXMLHeader/" if root.tag == f"{ED}edXML" else "./"
    config = SignatureConfiguration(
        require_x509=True,
        location=location,
        expect_references=1,
        signature_methods=ACCEPTED_SIGNATURE_METHODS,
        digest_algorithms=ACCEPTED_DIGESTS,
        verification_time=doc.at,
    )
    try:
        XMLVerifier().verify(raw, x509_cert=doc.leaf, parser=new_parser(), expect_config=config)
    except InvalidDigest:
        return ReasonCode.SIGNATURE_DIGEST_MISMATCH.value
    except InvalidCertificate:
        return ReasonCode.CERT_UNTRUSTED.value
    except InvalidSignature:
        return ReasonCode.SIGNATURE_INVALID.value
    except (InvalidInput, etree.DocumentInvalid, binascii.Error):
        return ReasonCode.SIGNATURE_MALFORMED.value
    except Exception:
        return ReasonCode.VERIFICATION_ERROR.value
    return VALID


def outcome(report) -> str:
    return VALID if report.is_signed_valid else report.reason.code.value


def three_ways(doc: Signed, raw: bytes) -> tuple[str, str, str | None]:
    """(signxml, verify_package, intake on the validated tree or None if it does not read)."""
    ours = outcome(verify_package(raw, doc.store, at=doc.at))
    try:
        _package, _findings, read = parse_with_findings(raw, Limits(), keep=True)
    except EdxmlError:
        intake = None
    else:
        before = etree.tostring(read.root)
        intake = outcome(verify_for_intake(raw, read, doc.store, at=doc.at))
        assert etree.tostring(read.root) == before, "the validated tree must be left as it was"
    return signxml_says(doc, raw), ours, intake


def assert_agree(doc: Signed, raw: bytes) -> str:
    theirs, ours, intake = three_ways(doc, raw)
    assert ours in CRYPTO, f"decided before the cryptography: {ours}"
    assert ours == theirs
    assert intake in (None, ours)
    RAN_ON_THE_TREE.append(intake is not None)
    return ours


RAN_ON_THE_TREE: list[bool] = []  # per call of assert_agree: was the intake path compared?


# --- the signed packages -------------------------------------------------------------------


def _tree(raw: bytes) -> etree._Element:
    return etree.fromstring(raw, parser=new_parser())


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="module")
def signed_docs(pki, gateway_signer) -> dict[str, Signed]:
    chain = [pki.agency, pki.intermediate]
    store = TrustStore([pki.root, pki.intermediate], [pki.crl])
    docs: dict[str, Signed] = {}
    for name in NAMES:
        unsigned = strip_signatures((SAMPLES / name).read_bytes())
        for algorithm in ("sha256", "sha1"):
            raw = agency_sign(unsigned, pki.agency_key, chain, algorithm=algorithm)
            docs[f"{name}/agency-{algorithm}"] = Signed(raw, pki.agency, store, pki.now)
        docs[f"{name}/gateway"] = Signed(
            gateway_signer.sign_edxml(unsigned),
            gateway_signer.certificate,
            TrustStore([gateway_signer.certificate]),
            datetime.now(UTC),
        )
    edoc = strip_signatures((SAMPLES / "edoc_new.edxml").read_bytes())
    docs["edoc_new/inclusive-c14n"] = Signed(_inclusive(edoc, pki), *_agency(pki))
    # signed with a PI and comments in it: the reader drops them, so intake checks the bytes
    root = _tree(edoc)
    _message_header(root).append(etree.ProcessingInstruction("gw", "signed"))
    _message_header(root).insert(0, etree.Comment(" signed "))
    docs["edoc_new/with-pi"] = Signed(
        agency_sign(_bytes(root), pki.agency_key, chain), *_agency(pki)
    )
    return docs


def _agency(pki) -> tuple[x509.Certificate, TrustStore, datetime]:
    return pki.agency, TrustStore([pki.root, pki.intermediate], [pki.crl]), pki.now


def _inclusive(unsigned: bytes, pki) -> bytes:
    """Signed with inclusive C14N 1.0 for both SignedInfo and the Reference."""
    root = _tree(unsigned)
    header = root.find(HEADER)
    etree.SubElement(header, f"{DS}Signature", Id="placeholder", nsmap={"ds": DS[1:-1]})
    signer = _AnySigner(
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    )
    return _bytes(signer.sign(root, key=pki.agency_key, cert=[pki.agency, pki.intermediate]))


def test_every_signed_package_is_valid_all_three_ways(signed_docs) -> None:
    for name, doc in signed_docs.items():
        assert three_ways(doc, doc.raw) == (VALID, VALID, VALID), name


@pytest.mark.parametrize("name", NAMES)
def test_the_samples_as_shipped_carry_no_verifiable_signature(name, pki, store) -> None:
    raw = (SAMPLES / name).read_bytes()
    doc = Signed(raw, *_agency(pki))
    assert verify_package(raw, store, at=pki.now).classification.value in {
        "placeholder",
        "unsigned",
    }
    assert signxml_says(doc, raw) != VALID


# --- tampered variants ---------------------------------------------------------------------


def _edit(change: Callable[[etree._Element], None]) -> Callable[[bytes], bytes]:
    def tamper(raw: bytes) -> bytes:
        root = _tree(raw)
        change(root)
        return _bytes(root)

    return tamper


def _message_header(root: etree._Element) -> etree._Element:
    return root.find(f"{HEADER}/{ED}MessageHeader")


def _first_text(root: etree._Element) -> etree._Element:
    return next(e for e in _message_header(root).iter(etree.Element) if (e.text or "").strip())


def _signature(root: etree._Element) -> etree._Element:
    return next(root.iter(f"{DS}Signature"))


def _digest_value(root: etree._Element) -> etree._Element:
    return _signature(root).find(f"{DS}SignedInfo/{DS}Reference/{DS}DigestValue")


def _set(element: etree._Element, attr: str, value: str) -> None:
    element.set(attr, value)


def _text(element: etree._Element, value: str) -> None:
    element.text = value


def _tail(element: etree._Element, value: str | None) -> None:
    element.tail = value


def _payload(raw: bytes, change: Callable[[str], str]) -> bytes:
    root = _tree(raw)
    encoded = next(root.iter(f"{ED}ContentTransferEncoded"), None)
    if encoded is None:
        return raw  # no attachment in this package
    encoded.text = change(encoded.text)
    return _bytes(root)


def _cdata(raw: bytes) -> bytes:
    root = _tree(raw)
    element = _first_text(root)
    element.text = etree.CDATA(element.text)
    return _bytes(root)


def _before_root(raw: bytes, node: bytes) -> bytes:
    head, sep, rest = raw.partition(b"?>")
    return head + sep + b"\n" + node + rest


TAMPERS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    # signed content
    "text changed": (
        _edit(lambda r: _text(_first_text(r), _first_text(r).text + "x")),
        "SIGNATURE_DIGEST_MISMATCH",
    ),
    "attribute added": (
        _edit(lambda r: _set(_first_text(r), "note", "x")),
        "SIGNATURE_DIGEST_MISMATCH",
    ),
    "element added": (
        _edit(lambda r: _text(etree.SubElement(_message_header(r), f"{ED}Extra"), "x")),
        "SIGNATURE_DIGEST_MISMATCH",
    ),
    "whitespace inside signed content": (
        _edit(lambda r: _tail(_first_text(r), (_first_text(r).tail or "") + " ")),
        "SIGNATURE_DIGEST_MISMATCH",
    ),
    "signature's tail text changed": (
        _edit(lambda r: _tail(_signature(r), (_signature(r).tail or "") + "\n ")),
        "SIGNATURE_DIGEST_MISMATCH",
    ),
    "processing instruction inside the root": (
        _edit(lambda r: _message_header(r).append(etree.ProcessingInstruction("gw", "x"))),
        "SIGNATURE_DIGEST_MISMATCH",
    ),
    "attachment payload changed": (
        lambda raw: _payload(raw, lambda t: ("B" if t[0] != "B" else "C") + t[1:]),
        "SIGNATURE_DIGEST_MISMATCH",
    ),
    "attachment payload wrapped": (
        lambda raw: _payload(raw, lambda t: t[:76] + "\r\n" + t[76:]),
        "SIGNATURE_DIGEST_MISMATCH",
    ),
    # the signature itself
    "SignedInfo attribute added": (
        _edit(lambda r: _set(_signature(r).find(f"{DS}SignedInfo/{DS}Reference"), "Id", "x")),
        "SIGNATURE_INVALID",
    ),
    "DigestValue changed": (
        _edit(lambda r: _text(_digest_value(r), "AAAA" + _digest_value(r).text[4:])),
        "SIGNATURE_INVALID",
    ),
    "whitespace inside SignedInfo": (
        _edit(lambda r: _text(_signature(r).find(f"{DS}SignedInfo"), "\n  ")),
        "SIGNATURE_INVALID",
    ),
    "SignatureValue not base64": (
        _edit(lambda r: _text(_signature(r).find(f"{DS}SignatureValue"), "&&&=")),
        "SIGNATURE_INVALID",
    ),
    # outside what is signed: still valid
    "comment added in the body": (
        _edit(lambda r: _message_header(r).insert(1, etree.Comment(" added "))),
        VALID,
    ),
    "comment splitting a text node": (
        _edit(lambda r: _split_text(_first_text(r))),
        VALID,
    ),
    "comment inside SignedInfo": (
        _edit(lambda r: _signature(r).find(f"{DS}SignedInfo").insert(0, etree.Comment("x"))),
        VALID,
    ),
    "whitespace inside KeyInfo": (
        _edit(lambda r: _tail(_signature(r).find(f"{DS}KeyInfo/{DS}X509Data"), "\n")),
        VALID,
    ),
    "whitespace after the root": (lambda raw: raw + b"\n\n", VALID),
    "comment and PI before the root": (
        lambda raw: _before_root(raw, b"<!-- before --><?gw before?>"),
        VALID,
    ),
    "CDATA for the same text": (_cdata, VALID),
    "character reference for the same text": (
        lambda raw: raw.replace(b"<edXML:OrganId>0", b"<edXML:OrganId>&#x30;", 1),
        VALID,
    ),
}


def _split_text(element: etree._Element) -> None:
    text = element.text
    element.text = text[:1]
    comment = etree.Comment("split")
    comment.tail = text[1:]
    element.insert(0, comment)


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_tampered_variants_get_the_same_answer(signed_docs, tamper: str) -> None:
    change, expected = TAMPERS[tamper]
    RAN_ON_THE_TREE.clear()
    for name, doc in signed_docs.items():
        if name.endswith("sha1") or ("status_" in name and "gateway" not in name):
            continue  # enough variety without every combination
        raw = change(doc.raw)
        if raw == doc.raw and "payload" in tamper:
            continue  # a package without attachments
        assert raw != doc.raw, (tamper, name)
        if "SignatureValue" in tamper:
            expected = signxml_says(doc, raw)  # whatever signxml makes of garbage
        assert assert_agree(doc, raw) == expected, (tamper, name)
    if tamper not in {"attribute added", "element added"}:  # the XSD refuses those two
        assert all(RAN_ON_THE_TREE), "the intake path must be compared too"


def test_namespace_declarations_follow_the_canonicalization(signed_docs) -> None:
    """An extra namespace declaration on edXMLHeader: exclusive C14N renders only the ones in
    use (still valid), inclusive C14N renders all in scope, in SignedInfo's too (signature
    invalid), on both sides."""
    declared = _edit(lambda r: _redeclare(r))
    exclusive = signed_docs["edoc_new.edxml/agency-sha256"]
    assert assert_agree(exclusive, declared(exclusive.raw)) == VALID
    inclusive = signed_docs["edoc_new/inclusive-c14n"]
    assert assert_agree(inclusive, declared(inclusive.raw)) == "SIGNATURE_INVALID"


def _redeclare(root: etree._Element) -> None:
    header = root.find(HEADER)
    extra = etree.Element(header.tag, nsmap={**header.nsmap, "x": "urn:x"})
    extra.text, extra.tail = header.text, header.tail
    for child in list(header):
        extra.append(child)
    for name, value in header.attrib.items():
        extra.set(name, value)
    root.find(f"{ED}edXMLEnvelope").replace(header, extra)


def test_moved_signature_is_wrapping_and_signxml_refuses_it_too(signed_docs) -> None:
    doc = signed_docs["edoc_new.edxml/agency-sha256"]

    def move(root: etree._Element) -> None:
        signature = _signature(root)
        signature.getparent().remove(signature)
        root.append(signature)

    raw = _edit(move)(doc.raw)
    theirs, ours, intake = three_ways(doc, raw)
    assert ours == ReasonCode.SIGNATURE_WRAPPING.value
    assert intake is None  # and intake never gets there: the XSD refuses it first
    assert theirs != VALID


def test_the_payload_kept_out_of_the_tree_is_digested_in_place(signed_docs) -> None:
    """The intake path really runs on the reader's tree (payloads moved out) here."""
    doc = signed_docs["edoc_new.edxml/agency-sha256"]
    _package, _findings, read = parse_with_findings(doc.raw, Limits(), keep=True)
    assert read.payloads and all(e.text is None for e in read.payloads)
    assert not read.dropped_pis and not read.dropped_comments
    assert verify_for_intake(doc.raw, read, doc.store, at=doc.at).signed_xml is None


def test_comments_are_not_digested_under_uri_empty_unlike_signxml(pki, edoc_unsigned) -> None:
    """The one known difference: signed #WithComments over a document with a comment in it.
    XMLDSig leaves comments out of URI=""; signxml digests them."""
    root = _tree(edoc_unsigned)
    _message_header(root).insert(0, etree.Comment(" signed "))
    etree.SubElement(root.find(HEADER), f"{DS}Signature", Id="placeholder", nsmap={"ds": DS[1:-1]})
    signer = _AnySigner(
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    )
    raw = _bytes(signer.sign(root, key=pki.agency_key, cert=[pki.agency, pki.intermediate]))
    doc = Signed(raw, *_agency(pki))
    assert three_ways(doc, raw) == (VALID, "SIGNATURE_DIGEST_MISMATCH", "SIGNATURE_DIGEST_MISMATCH")
