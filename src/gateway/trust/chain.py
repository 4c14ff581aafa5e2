"""X.509 path building and checks for a signer certificate, done by hand on purpose.

cryptography's `x509.verification` (what signxml 5 uses with `ca_pem_file`) enforces the Web PKI
profile: it refuses certificates signed with sha1WithRSA, which Vietnamese CAs still issue, and
reports every failure as one opaque error. Here each check is explicit, so a rejection carries a
precise reason code, and CRLs (which that API does not handle) are checked too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import TypeVar

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from .certs import signed_by
from .reasons import ReasonCode
from .store import TrustStore

MAX_CHAIN_LENGTH = 8

_Ext = TypeVar("_Ext", bound=x509.ExtensionType)

# Critical extensions we understand or can safely ignore for document signing; any other
# critical extension (e.g. name constraints, which we do not enforce) makes a chain untrusted.
_HANDLED_CRITICAL = {
    ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.KEY_USAGE,
    ExtensionOID.EXTENDED_KEY_USAGE,
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    ExtensionOID.CERTIFICATE_POLICIES,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
}


class ChainError(Exception):
    def __init__(self, code: ReasonCode, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def validate_signer(
    leaf: x509.Certificate,
    supplied: Sequence[x509.Certificate],
    store: TrustStore,
    at: datetime,
) -> list[x509.Certificate]:
    """Return the chain leaf → root, or raise `ChainError` with the first problem found.

    `supplied` are the other certificates the signature carried (usually intermediates); they
    can only help reach a root of `store`, never act as one.
    """
    decision = _decision(leaf, supplied, store)
    if decision.path is None:
        raise ChainError(
            ReasonCode.CERT_UNTRUSTED, f"no chain from {_name(leaf)} to a configured root"
        )
    path = list(decision.path)
    _check_validity(path, at)
    if decision.problem is not None:
        raise ChainError(*decision.problem)
    for cert, revoked_at in zip(path, decision.revoked_at, strict=False):
        # a revocation dated after `at` does not count: the certificate was good when received
        if revoked_at is not None and revoked_at <= at:
            detail = f"{_name(cert)} revoked {revoked_at.isoformat()}"
            raise ChainError(ReasonCode.CERT_REVOKED, detail)
    return path


@dataclass(frozen=True)
class _Decision:
    """What does not depend on the moment of checking, for one signer and the certificates it
    carried against one trust store: the path, the first structural problem (key usage, path
    length, critical extension), and each non-root certificate's revocation date in the newest
    CRL of its issuer. Kept per store (`TrustStore.chain_decisions`), it spares every package
    from the same signer the path search, the RSA checks of each link and of the CRLs (issue
    14); the validity periods and revocation dates are compared with `at` on every call."""

    path: tuple[x509.Certificate, ...] | None
    problem: tuple[ReasonCode, str] | None = None
    revoked_at: tuple[datetime | None, ...] = ()


MAX_DECISIONS = 4096  # signers remembered per store; more is a flood, start again


def _decision(
    leaf: x509.Certificate, supplied: Sequence[x509.Certificate], store: TrustStore
) -> _Decision:
    key = (leaf, *supplied)  # certificates hash and compare by their DER
    memo = store.chain_decisions
    found = memo.get(key)
    if found is None:
        found = _decide(leaf, supplied, store)
        if len(memo) >= MAX_DECISIONS:
            memo.clear()
        memo[key] = found
    return found


def _decide(
    leaf: x509.Certificate, supplied: Sequence[x509.Certificate], store: TrustStore
) -> _Decision:
    path = _build_path([leaf], supplied, store)
    if path is None:
        return _Decision(None)
    try:
        _check_leaf_key_usage(leaf)
        _check_path_lengths(path)
        _check_critical_extensions(path)
    except ChainError as exc:
        return _Decision(tuple(path), (exc.code, exc.detail))
    return _Decision(tuple(path), None, _revocation_dates(path, store))


def _build_path(
    path: list[x509.Certificate],
    supplied: Sequence[x509.Certificate],
    store: TrustStore,
) -> list[x509.Certificate] | None:
    """Depth-first search over issuer candidates; cross-certified or renewed CAs with the same
    name are tried in turn until one chain ends at a root."""
    cert = path[-1]
    if store.is_root(cert):
        return path
    if len(path) >= MAX_CHAIN_LENGTH:
        return None
    candidates = store.candidates_for_issuer(cert.issuer)
    candidates += [c for c in supplied if c.subject == cert.issuer]
    for issuer in candidates:
        if issuer in path or not _may_issue(issuer, store.is_root(issuer)):
            continue
        if not signed_by(cert, issuer):
            continue
        found = _build_path([*path, issuer], supplied, store)
        if found is not None:
            return found
    return None


def _may_issue(cert: x509.Certificate, is_root: bool) -> bool:
    """A CA certificate: basicConstraints cA=TRUE (a configured root may omit the extension,
    as old v1 roots do) and, when key usage is present, keyCertSign."""
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is None:
        if not is_root:
            return False
    elif not constraints.ca:
        return False
    usage = _extension(cert, x509.KeyUsage)
    return usage is None or usage.key_cert_sign


def _check_validity(path: list[x509.Certificate], at: datetime) -> None:
    for cert in path:
        if at < cert.not_valid_before_utc:
            raise ChainError(
                ReasonCode.CERT_NOT_YET_VALID,
                f"{_name(cert)} is valid from {cert.not_valid_before_utc.isoformat()}, "
                f"checked at {at.isoformat()}",
            )
        if at > cert.not_valid_after_utc:
            raise ChainError(
                ReasonCode.CERT_EXPIRED,
                f"{_name(cert)} expired {cert.not_valid_after_utc.isoformat()}, "
                f"checked at {at.isoformat()}",
            )


def _check_leaf_key_usage(leaf: x509.Certificate) -> None:
    usage = _extension(leaf, x509.KeyUsage)
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        raise ChainError(
            ReasonCode.CERT_KEY_USAGE,
            f"{_name(leaf)} key usage allows neither digitalSignature nor nonRepudiation",
        )


def _check_path_lengths(path: list[x509.Certificate]) -> None:
    for index, cert in enumerate(path[1:], start=1):
        constraints = _extension(cert, x509.BasicConstraints)
        below = index - 1  # CA certificates between this one and the leaf
        limit = constraints.path_length if constraints is not None else None
        if limit is not None and below > limit:
            raise ChainError(
                ReasonCode.CERT_UNTRUSTED, f"{_name(cert)} path length constraint exceeded"
            )


def _check_critical_extensions(path: list[x509.Certificate]) -> None:
    for cert in path:
        for extension in cert.extensions:
            if extension.critical and extension.oid not in _HANDLED_CRITICAL:
                raise ChainError(
                    ReasonCode.CERT_UNTRUSTED,
                    f"{_name(cert)} has unsupported critical extension "
                    f"{extension.oid.dotted_string}",
                )


def _revocation_dates(
    path: list[x509.Certificate], store: TrustStore
) -> tuple[datetime | None, ...]:
    """Each non-root certificate's revocation date in the newest CRL its issuer signed (None:
    not listed, or no CRL from that issuer in the store)."""
    dates: list[datetime | None] = []
    for cert, issuer in pairwise(path):
        crls = store.crls_for(issuer)
        serial = cert.serial_number
        entry = crls[0].get_revoked_certificate_by_serial_number(serial) if crls else None
        dates.append(entry.revocation_date_utc if entry is not None else None)
    return tuple(dates)


def _extension(cert: x509.Certificate, kind: type[_Ext]) -> _Ext | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _name(cert: x509.Certificate) -> str:
    return f"certificate '{cert.subject.rfc4514_string()}' (serial {cert.serial_number:X})"
