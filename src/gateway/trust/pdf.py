"""Signatures inside PDF document files (PAdES / PDF signatures), verified with pyHanko.

Circular 01/2019/TT-VPCP puts the agency's legal signature on the document file itself, so the
gateway checks it against the same trust anchors and CRLs as the XML signature (never fetching
anything from the network). A file is `signed-valid` when every signature in it is intact,
made by a certificate chaining to the trust store, not revoked, valid at the receipt time, and
no later revision changed what was signed; `unsigned` when it has none; `invalid` otherwise,
with the reason. Pure: no I/O besides the bytes given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .certs import CertificateInfo, aware
from .chain import ChainError, validate_signer
from .reasons import Reason, ReasonCode
from .store import TrustStore
from .verify import SignatureClass

PDF_MAGIC = b"%PDF-"


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(PDF_MAGIC)


@dataclass(frozen=True, slots=True)
class PdfSignatureReport:
    classification: SignatureClass
    reason: Reason | None = None
    signers: list[CertificateInfo] = field(default_factory=list)

    @property
    def is_signed_valid(self) -> bool:
        return self.classification is SignatureClass.SIGNED_VALID


def verify_pdf(data: bytes, store: TrustStore | None, *, at: datetime) -> PdfSignatureReport:
    """Classify the signatures of one PDF file at `at` (the receipt time). Never raises."""
    try:
        return _verify(data, store, aware(at))
    except Exception as exc:  # a broken PDF classifies as invalid, never crashes intake
        return _invalid(ReasonCode.SIGNATURE_MALFORMED, f"{type(exc).__name__}: {exc}")


def _verify(data: bytes, store: TrustStore | None, at: datetime) -> PdfSignatureReport:
    from pyhanko.pdf_utils.reader import PdfFileReader  # heavy: only when a PDF arrives
    from pyhanko.sign.validation import validate_pdf_signature

    signatures = PdfFileReader(BytesIO(data), strict=False).embedded_signatures
    if not signatures:
        return PdfSignatureReport(SignatureClass.UNSIGNED)
    if store is None:
        return _invalid(ReasonCode.TRUST_NOT_CONFIGURED, "no trust store configured")
    context = _validation_context(store, at)
    signers: list[CertificateInfo] = []
    for signature in signatures:
        leaf = _crypto(signature.signer_cert)
        signers.append(CertificateInfo.of(leaf))
        status = validate_pdf_signature(signature, context)
        problem = _problem(status)
        if problem is None:
            # the chain, validity at receipt, key usage and the CRLs: the very same check as
            # an XML signature's (pyHanko's own revocation step wants fetchable revinfo)
            others = [_crypto(c) for c in signature.other_embedded_certs]
            try:
                validate_signer(leaf, others, store, at)
            except ChainError as exc:
                problem = (ReasonCode(exc.code), exc.detail)
        if problem is not None:
            code, detail = problem
            return _invalid(code, f"{signature.field_name}: {detail}", signers)
    return PdfSignatureReport(SignatureClass.SIGNED_VALID, signers=signers)


def _crypto(cert) -> x509.Certificate:  # type: ignore[no-untyped-def]
    return x509.load_der_x509_certificate(cert.dump())


def _validation_context(store: TrustStore, at: datetime):  # type: ignore[no-untyped-def]
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import ValidationContext

    def der(cert: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))

    return ValidationContext(
        trust_roots=[der(c) for c in store.roots],
        other_certs=[der(c) for c in store.intermediates],
        crls=[crl.public_bytes(Encoding.DER) for crl in store.crls],
        moment=at,
        allow_fetching=False,  # no network: the configured CRLs are the revocation data
        revocation_mode="soft-fail",  # revocation: gateway.trust.chain, below
    )


def _problem(status) -> tuple[ReasonCode, str] | None:  # type: ignore[no-untyped-def]
    if not status.intact:
        return ReasonCode.SIGNATURE_DIGEST_MISMATCH, "the signed bytes were changed"
    if not status.valid:
        return ReasonCode.SIGNATURE_INVALID, "the signature value does not verify"
    if status.revoked:
        return ReasonCode.CERT_REVOKED, "the signer certificate is revoked"
    if not status.trusted:
        return ReasonCode.CERT_UNTRUSTED, "no valid chain to a trust anchor at receipt time"
    if not status.bottom_line:
        return ReasonCode.SIGNATURE_WRAPPING, "the file was changed after signing"
    return None


def _invalid(
    code: ReasonCode, detail: str, signers: list[CertificateInfo] | None = None
) -> PdfSignatureReport:
    return PdfSignatureReport(
        SignatureClass.INVALID, reason=Reason.of(code, detail), signers=signers or []
    )
