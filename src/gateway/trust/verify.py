"""Classify the signature of an incoming package and verify it when there is a real one.

Only an XMLDSig signature in the xmldsig namespace, a child of `edXMLHeader`, with one
Reference URI="" (the whole document minus the signature) can make a package `signed-valid`.
Anything narrower would let a signed fragment vouch for unsigned data next to it (signature
wrapping), so it is `invalid`. The cryptography runs on the parsed tree itself
(gateway.trust.xmldsig): `verify_tree` checks the very tree a caller has already read (intake's
validated one), so what was validated is what was digested. `verify_package` parses bytes
first; when valid its `signed_xml` holds the canonical bytes the signature covers.
"""

from __future__ import annotations

import binascii
import io
from base64 import b64decode
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

from gateway.edxml.codes import NAMESPACE, XMLDSIG_NAMESPACE

from . import xmldsig
from .certs import CertificateInfo, aware
from .chain import ChainError, validate_signer
from .reasons import Reason, ReasonCode
from .store import TrustStore
from .xmlsafe import UnsafeXmlError, parse_hardened

MIN_RSA_KEY_BITS = 2048

ACCEPTED_SIGNATURE_METHODS = frozenset({SignatureMethod.RSA_SHA1, SignatureMethod.RSA_SHA256})
ACCEPTED_DIGESTS = frozenset({DigestAlgorithm.SHA1, DigestAlgorithm.SHA256})
_ENVELOPED = xmldsig.ENVELOPED
_ACCEPTED_TRANSFORMS = {_ENVELOPED} | {m.value for m in CanonicalizationMethod}

_DS = f"{{{XMLDSIG_NAMESPACE}}}"
_ED = f"{{{NAMESPACE}}}"
_HEADER_PATH = f"./{_ED}edXMLEnvelope/{_ED}edXMLHeader"


class SignatureClass(StrEnum):
    SIGNED_VALID = "signed-valid"
    UNSIGNED = "unsigned"
    PLACEHOLDER = "placeholder"  # the SDK's static XMLDSig-shaped block, not verifiable
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class SignatureReport:
    classification: SignatureClass
    reason: Reason | None = None  # set when invalid
    signer: CertificateInfo | None = None  # set whenever a signer certificate could be read
    digest_algorithm: str | None = None  # "sha1" | "sha256" (as declared by the signature)
    signature_algorithm: str | None = None  # "rsa-sha1" | "rsa-sha256"
    signed_xml: bytes | None = None  # what the signature covers; only when signed-valid

    @property
    def is_signed_valid(self) -> bool:
        return self.classification is SignatureClass.SIGNED_VALID


@dataclass(frozen=True, slots=True)
class _Candidate:
    """What we read from the one xmldsig Signature before checking it cryptographically."""

    signature: etree._Element
    reference: etree._Element
    signature_method: SignatureMethod
    digest: DigestAlgorithm
    certificates: list[x509.Certificate]


def verify_package(raw: bytes, store: TrustStore | None, *, at: datetime) -> SignatureReport:
    """Classify `raw` and verify its signature at `at` (the receipt time). Never raises.
    When valid, `signed_xml` holds the canonical bytes the signature covers."""
    try:
        try:
            root = parse_hardened(raw)
        except UnsafeXmlError as exc:
            return _invalid(exc.code, str(exc))
        return _verify(root, store, aware(at), {}, signed_xml=True)
    except Exception as exc:  # garbage in must classify as invalid, never crash the caller
        return _invalid(ReasonCode.VERIFICATION_ERROR, f"{type(exc).__name__}: {exc}")


def verify_tree(
    root: etree._Element,
    store: TrustStore | None,
    *,
    at: datetime,
    moved: Mapping[etree._Element, str] | None = None,
) -> SignatureReport:
    """`verify_package` on a tree already parsed (intake's validated one), which is left as
    it was. `moved`: texts the reader took out of their elements (gateway.edxml's payloads),
    digested in place. The tree must hold every comment inside SignedInfo when its
    canonicalization counts them (`counts_comments`) and every processing instruction inside
    the root: canonical XML includes them. `signed_xml` is not computed. Never raises."""
    try:
        return _verify(root, store, aware(at), moved or {}, signed_xml=False)
    except Exception as exc:  # garbage in must classify as invalid, never crash the caller
        return _invalid(ReasonCode.VERIFICATION_ERROR, f"{type(exc).__name__}: {exc}")


def signed_info_counts_comments(root: etree._Element) -> bool:
    """Would comments inside the SignedInfo change what was signed? (see `verify_tree`)"""
    signature = next(root.iter(f"{_DS}Signature"), None)
    return signature is not None and xmldsig.counts_comments(signature)


def _verify(
    root: etree._Element,
    store: TrustStore | None,
    at: datetime,
    moved: Mapping[etree._Element, str],
    *,
    signed_xml: bool,
) -> SignatureReport:
    found = _inspect(root)
    if isinstance(found, SignatureReport):
        return found

    algorithms = {
        "digest_algorithm": _fragment(found.digest.value),
        "signature_algorithm": _fragment(found.signature_method.value),
    }
    leaf = _pick_leaf(found.certificates)
    signer = CertificateInfo.of(leaf)

    def invalid(code: ReasonCode | str, detail: str) -> SignatureReport:
        return _invalid(code, detail, signer=signer, **algorithms)

    public_key = leaf.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < MIN_RSA_KEY_BITS:
        return invalid(
            ReasonCode.SIGNATURE_ALGORITHM, f"signer key must be RSA ≥{MIN_RSA_KEY_BITS}"
        )
    if store is None:
        return invalid(ReasonCode.TRUST_NOT_CONFIGURED, "no trust store configured")
    try:
        validate_signer(leaf, [c for c in found.certificates if c != leaf], store, at)
    except ChainError as exc:
        return invalid(exc.code, exc.detail)

    covered = io.BytesIO() if signed_xml else None
    try:
        xmldsig.check_signed_info(found.signature, public_key, found.signature_method, moved)
        xmldsig.check_reference(
            root, found.signature, found.reference, found.digest, moved, keep=covered
        )
    except xmldsig.DigestMismatch as exc:
        return invalid(ReasonCode.SIGNATURE_DIGEST_MISMATCH, str(exc))
    except xmldsig.BadSignature as exc:
        return invalid(ReasonCode.SIGNATURE_INVALID, str(exc))
    except xmldsig.Malformed as exc:
        return invalid(ReasonCode.SIGNATURE_MALFORMED, str(exc))
    except xmldsig.UnknownCanonicalization as exc:
        return invalid(ReasonCode.VERIFICATION_ERROR, f"ValueError: {exc}")
    return SignatureReport(
        SignatureClass.SIGNED_VALID,
        signer=signer,
        signed_xml=covered.getvalue() if covered is not None else None,
        **algorithms,
    )


def _inspect(root: etree._Element) -> _Candidate | SignatureReport:
    """Find the signature and check its shape; a report means the answer is already known."""
    expected_parent = _signature_home(root)
    signatures = list(root.iter(f"{_DS}Signature"))
    if not signatures:
        return _classify_unsigned(expected_parent if expected_parent is not None else root)
    if len(signatures) > 1:
        return _invalid(ReasonCode.SIGNATURE_WRAPPING, f"{len(signatures)} xmldsig signatures")
    signature = signatures[0]
    if expected_parent is None or signature.getparent() is not expected_parent:
        return _invalid(
            ReasonCode.SIGNATURE_WRAPPING,
            f"signature at {root.getroottree().getpath(signature)}, expected in edXMLHeader",
        )

    unsigned = _unsigned_content(signature)
    if unsigned is not None:
        return _invalid(ReasonCode.SIGNATURE_WRAPPING, unsigned)

    signed_info = signature.find(f"{_DS}SignedInfo")
    if signed_info is None:
        return _invalid(ReasonCode.SIGNATURE_MALFORMED, "no SignedInfo")
    references = signed_info.findall(f"{_DS}Reference")
    if len(references) != 1:
        return _invalid(ReasonCode.SIGNATURE_WRAPPING, f"{len(references)} references, expected 1")
    reference = references[0]
    if reference.get("URI") != "":
        return _invalid(
            ReasonCode.SIGNATURE_WRAPPING,
            f"Reference URI={reference.get('URI')!r} does not cover the whole document",
        )
    transforms = [t.get("Algorithm") for t in reference.iterfind(f"{_DS}Transforms/{_DS}Transform")]
    if _ENVELOPED not in transforms:
        return _invalid(ReasonCode.SIGNATURE_MALFORMED, "no enveloped-signature transform")
    unknown = [t for t in transforms if t not in _ACCEPTED_TRANSFORMS]
    if unknown:
        return _invalid(ReasonCode.SIGNATURE_ALGORITHM, f"transform not accepted: {unknown[0]}")

    method = _algorithm(signed_info, "SignatureMethod", SignatureMethod, ACCEPTED_SIGNATURE_METHODS)
    digest = _algorithm(reference, "DigestMethod", DigestAlgorithm, ACCEPTED_DIGESTS)
    if isinstance(method, SignatureReport):
        return method
    if isinstance(digest, SignatureReport):
        return digest

    texts = [
        (e.text or "")
        for e in signature.iterfind(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate")
    ]
    if not texts:
        return _invalid(ReasonCode.CERT_MISSING, "no KeyInfo/X509Data/X509Certificate")
    try:
        certificates = [x509.load_der_x509_certificate(b64decode(t)) for t in texts]
    except (ValueError, binascii.Error) as exc:
        return _invalid(ReasonCode.CERT_MALFORMED, str(exc))
    return _Candidate(signature, reference, method, digest, certificates)


_SIGNATURE_PARTS = {f"{_DS}SignedInfo", f"{_DS}SignatureValue", f"{_DS}KeyInfo"}


def _unsigned_content(signature: etree._Element) -> str | None:
    """The enveloped transform leaves the Signature itself out of what is signed, so anything
    in it beyond SignedInfo/SignatureValue/KeyInfo (a ds:Object with a forged MessageHeader),
    or any non-xmldsig element inside, is unsigned content riding in a signed package."""
    for child in signature.iterchildren(tag=etree.Element):
        if child.tag not in _SIGNATURE_PARTS:
            return f"unsigned {etree.QName(child).localname} inside the signature"
    for element in signature.iter(tag=etree.Element):
        if etree.QName(element).namespace != XMLDSIG_NAMESPACE:
            return f"non-xmldsig element {etree.QName(element).localname} inside the signature"
    return None


def _signature_home(root: etree._Element) -> etree._Element | None:
    """Where a signature must sit: edXMLHeader for edXML packages, else the root element
    (receipts and other documents the gateway signs)."""
    if root.tag == f"{_ED}edXML":
        return root.find(_HEADER_PATH)
    return root


def _classify_unsigned(parent: etree._Element) -> SignatureReport:
    """No xmldsig signature: a signature-shaped element in another namespace is the SDK's
    placeholder; an empty DigitalSignature (.NET SDK) or nothing at all is unsigned."""
    classification = SignatureClass.UNSIGNED
    for child in parent.iterchildren(tag=etree.Element):
        name = etree.QName(child).localname
        if name == "Signature":
            return SignatureReport(SignatureClass.PLACEHOLDER)
        if name == "DigitalSignature" and (len(child) or (child.text or "").strip()):
            classification = SignatureClass.PLACEHOLDER  # content we cannot verify
    return SignatureReport(classification)


def _algorithm(parent, tag, enum, accepted) -> SignatureMethod | DigestAlgorithm | SignatureReport:
    element = parent.find(f"{_DS}{tag}")
    uri = element.get("Algorithm") if element is not None else None
    try:
        value = enum(uri)
    except ValueError:
        value = None
    if value not in accepted:
        return _invalid(ReasonCode.SIGNATURE_ALGORITHM, f"{tag} {uri!r} not accepted")
    return value


def _pick_leaf(certificates: list[x509.Certificate]) -> x509.Certificate:
    """X509Data has no required order: the signer is the certificate that issued none of the
    others (falling back to the first)."""
    for cert in certificates:
        issues_another = any(
            other is not cert and other.issuer == cert.subject and other.subject != cert.subject
            for other in certificates
        )
        if not issues_another:
            return cert
    return certificates[0]


def _fragment(uri: str) -> str:
    return uri.rsplit("#", 1)[-1]


def _invalid(code: ReasonCode | str, detail: str, **fields) -> SignatureReport:
    return SignatureReport(SignatureClass.INVALID, reason=Reason.of(code, detail), **fields)
