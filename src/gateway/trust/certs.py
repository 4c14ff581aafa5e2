"""Small certificate helpers shared by the store, the verifier and the signer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s.+?\s-----END CERTIFICATE-----", re.DOTALL)
_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----\s.+?\s-----END X509 CRL-----", re.DOTALL)


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """Who a certificate names and when it is valid. `serial` is upper-case hex."""

    subject: str
    serial: str
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str

    @classmethod
    def of(cls, cert: x509.Certificate) -> CertificateInfo:
        return cls(
            subject=cert.subject.rfc4514_string(),
            serial=serial_hex(cert),
            issuer=cert.issuer.rfc4514_string(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            fingerprint_sha256=fingerprint(cert),
        )


@dataclass(frozen=True, slots=True)
class CertificateHealth:
    """Expiry of one certificate for metrics; `days_left` is negative once expired."""

    subject: str
    serial: str
    not_after: datetime
    days_left: int

    @classmethod
    def of(cls, cert: x509.Certificate, now: datetime) -> CertificateHealth:
        left = cert.not_valid_after_utc - aware(now)
        return cls(
            subject=cert.subject.rfc4514_string(),
            serial=serial_hex(cert),
            not_after=cert.not_valid_after_utc,
            days_left=left // timedelta(days=1),
        )


def aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, so comparisons with certificate times never raise."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "X")


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode("ascii")


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """All certificates in a PEM bundle, or the single certificate of a DER file."""
    blocks = _PEM_CERT.findall(data)
    if blocks:
        return [x509.load_pem_x509_certificate(block) for block in blocks]
    return [x509.load_der_x509_certificate(data)]


def load_crls(data: bytes) -> list[x509.CertificateRevocationList]:
    """All CRLs in a PEM file, or the single CRL of a DER file."""
    blocks = _PEM_CRL.findall(data)
    if blocks:
        return [x509.load_pem_x509_crl(block) for block in blocks]
    return [x509.load_der_x509_crl(data)]


def is_self_signed(cert: x509.Certificate) -> bool:
    """Self-issued and verifiable with its own key: what makes a certificate a root."""
    return signed_by(cert, cert)


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` issued `cert`: names chain and the signature verifies.

    Unlike `verify_directly_issued_by` this accepts sha1WithRSA, which cryptography refuses but
    Vietnamese CAs used for years; weaker hashes (MD5) still fail.
    """
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(
                cert.signature,
                cert.tbs_certificate_bytes,
                cert.signature_algorithm_parameters,  # PKCS1v15 or PSS
                cert.signature_hash_algorithm,
            )
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(
                cert.signature, cert.tbs_certificate_bytes, cert.signature_algorithm_parameters
            )
        else:
            cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, UnsupportedAlgorithm, TypeError, ValueError):
        return False
    return True
