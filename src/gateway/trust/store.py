"""Trust anchors (government CA roots), known intermediates and CRLs, loaded from files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from .certs import CertificateHealth, is_self_signed, load_certificates, load_crls


class TrustStore:
    """Roots are the self-signed certificates of the bundle; the others are intermediates that
    may complete a chain but never end one. CRLs are matched to issuers when checking, by name
    and by signature, so a CRL from an unknown issuer simply never applies."""

    def __init__(
        self,
        certificates: Iterable[x509.Certificate],
        crls: Iterable[x509.CertificateRevocationList] = (),
    ):
        certs = _unique(certificates)
        if not certs:
            raise ValueError("the trust bundle holds no certificate")
        self.roots: tuple[x509.Certificate, ...] = tuple(c for c in certs if is_self_signed(c))
        if not self.roots:
            raise ValueError("the trust bundle holds no self-signed root certificate")
        self.intermediates: tuple[x509.Certificate, ...] = tuple(
            c for c in certs if c not in self.roots
        )
        self.crls: tuple[x509.CertificateRevocationList, ...] = tuple(crls)
        # gateway.trust.chain: per signer, what checking it against this store decided
        self.chain_decisions: dict[tuple[x509.Certificate, ...], Any] = {}

    @classmethod
    def from_files(cls, bundle: Path | str, crl_files: Sequence[Path | str] = ()) -> TrustStore:
        certificates = load_certificates(Path(bundle).read_bytes())
        crls = [crl for path in crl_files for crl in load_crls(Path(path).read_bytes())]
        return cls(certificates, crls)

    def is_root(self, cert: x509.Certificate) -> bool:
        return cert in self.roots

    def candidates_for_issuer(self, name: x509.Name) -> list[x509.Certificate]:
        """Store certificates whose subject is `name`, roots first (shortest chains win)."""
        return [c for c in (*self.roots, *self.intermediates) if c.subject == name]

    def crls_for(self, issuer: x509.Certificate) -> list[x509.CertificateRevocationList]:
        """CRLs issued and signed by `issuer`, newest first."""
        found = [
            crl for crl in self.crls if crl.issuer == issuer.subject and _crl_signed_by(crl, issuer)
        ]
        return sorted(found, key=lambda crl: crl.last_update_utc, reverse=True)

    def anchor_health(self, now: datetime) -> list[CertificateHealth]:
        """Days left for every certificate of the bundle, soonest expiry first."""
        health = [CertificateHealth.of(c, now) for c in (*self.roots, *self.intermediates)]
        return sorted(health, key=lambda h: h.not_after)


def _unique(certificates: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    seen: list[x509.Certificate] = []
    for cert in certificates:
        if cert not in seen:
            seen.append(cert)
    return seen


def _crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
