"""Whether a signer certificate belongs to the agency that sends the package.

The registry records each agency's signing identities (gateway.registry.signing): a certificate
SHA-256 fingerprint, or subject attributes every certificate of the agency carries
("O=UBND tỉnh Khánh Hòa", "UID=000.00.00.H41", …). Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509

from .certs import CertificateInfo

_HEX = re.compile(r"[0-9A-F]{64}")


class IdentityKind(StrEnum):
    FINGERPRINT = "fingerprint"
    SUBJECT = "subject"


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    kind: IdentityKind
    value: str


def normalize_fingerprint(value: str) -> str:
    """`AB:CD:…` (as CertificateInfo shows it) from hex with or without colons/spaces."""
    digits = re.sub(r"[\s:]", "", value).upper()
    if not _HEX.fullmatch(digits):
        raise ValueError("a SHA-256 fingerprint is 64 hexadecimal digits")
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2))


def normalize_subject(value: str) -> str:
    """An RFC 4514 string of the attributes the signer's subject must carry."""
    try:
        name = x509.Name.from_rfc4514_string(value.strip())
    except ValueError as exc:
        raise ValueError(f"not an RFC 4514 name: {exc}") from None
    if not list(name):
        raise ValueError("a subject identity needs at least one attribute")
    return name.rfc4514_string()


def normalize(kind: IdentityKind | str, value: str) -> SigningIdentity:
    kind = IdentityKind(kind)
    if kind is IdentityKind.FINGERPRINT:
        return SigningIdentity(kind, normalize_fingerprint(value))
    return SigningIdentity(kind, normalize_subject(value))


def signer_matches(signer: CertificateInfo, identities: list[SigningIdentity]) -> bool:
    return any(_matches(signer, identity) for identity in identities)


def _matches(signer: CertificateInfo, identity: SigningIdentity) -> bool:
    if identity.kind is IdentityKind.FINGERPRINT:
        return signer.fingerprint_sha256 == identity.value
    have = _attributes(signer.subject)
    return _attributes(identity.value) <= have


def _attributes(rfc4514: str) -> set[tuple[str, str]]:
    """(OID, value) pairs, values compared NFC-normalised and case-folded (Vietnamese names
    come decomposed from some CAs)."""
    name = x509.Name.from_rfc4514_string(rfc4514)
    return {
        (a.oid.dotted_string, unicodedata.normalize("NFC", str(a.value)).casefold().strip())
        for a in name
    }
