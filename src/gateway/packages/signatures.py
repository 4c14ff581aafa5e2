"""The signature step of intake: gateway.trust plugged into the intake seam.

Every package is classified (signed-valid / unsigned / placeholder / invalid) and the
province's policy decides: invalid is always refused; `require` refuses anything not
signed-valid; `warn` accepts unsigned and placeholder packages as reference only.

For a signed-valid package the business data the gateway acts on must be what the signature
covers. The structural checks in gateway.trust already insist on one enveloped signature over
the whole document. Intake hands over the tree validation read the package from, and the
digest is computed on that very tree (its payload texts spliced back in place), so the model
is read from exactly what was digested: nothing is parsed again. Without that tree (other
callers), or when the reader dropped something canonical XML counts (a processing
instruction; a comment inside a SignedInfo whose canonicalization keeps comments), the bytes
are verified on their own and the package parsed from the covered bytes must equal the one
handed in, so no unsigned content can slip in beside signed content.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

import anyio
import anyio.to_thread

from ..edxml import DocumentPackage, Limits, ReadXml, StatusPackage, parse_package
from ..edxml.errors import EdxmlError
from ..errors import GatewayError
from ..trust import (
    PolicyMode,
    Reason,
    ReasonCode,
    SignatureClass,
    SignaturePolicy,
    SignatureReport,
    TrustStore,
    decide,
    signed_info_counts_comments,
    verify_package,
    verify_tree,
)
from ..trust.binding import SigningIdentity, signer_matches
from .document_files import check_document_files, require_signed_main_file
from .service import SignatureVerdict


class SignerDirectory(Protocol):
    """Who may sign for an agency (gateway.registry.signing.RegistrySigners)."""

    async def identities_of(self, agency_code: str) -> list[SigningIdentity]: ...


class SignatureRejected(GatewayError):
    status_code = 422
    code = "SIGNATURE_INVALID"
    default_message = "Chữ ký số của gói tin không hợp lệ"
    description = "The package's XML signature is invalid (details.reason says why)"


class SignatureRequired(GatewayError):
    status_code = 422
    code = "SIGNATURE_REQUIRED"
    default_message = "Gói tin phải có chữ ký số hợp lệ theo quy định của tỉnh"
    description = "The province requires a valid signature and this package has none"


STATUS_POLICY_KEY = "status"


def policy_key(package: DocumentPackage | StatusPackage) -> str:
    """The key per-document-type overrides use: `status`, or the DocumentType/TypeName
    (e.g. "Công văn"), falling back to "<Type>.<TypeDetail>"."""
    if isinstance(package, StatusPackage):
        return STATUS_POLICY_KEY
    kind = package.header.document_type
    return kind.type_name or f"{kind.type}.{kind.type_detail or 0}"


@dataclass
class TrustSignatureCheck:
    """A `SignatureCheck` for PackageService: verify, decide, return the class to record."""

    store: TrustStore | None
    policy: SignaturePolicy
    limits: Limits
    # verification of a large package holds ~2× its size (more on the bytes-only fallback);
    # bound how many run at once
    limiter: anyio.CapacityLimiter
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # signer = sender: None (no database, e.g. unit tests) skips the binding check
    signers: SignerDirectory | None = None
    # the main document file's own (PDF) signature: `require` refuses it unsigned
    document_file_policy: PolicyMode = PolicyMode.WARN

    async def __call__(
        self,
        package: DocumentPackage | StatusPackage,
        raw: bytes,
        tree: ReadXml | None = None,
    ) -> SignatureVerdict:
        """`tree`: the one `package` was read from (PackageService passes validation's own);
        its payload texts are let go once the envelope is verified (nothing reads them after)."""
        at = self.clock()
        report: SignatureReport = await anyio.to_thread.run_sync(
            partial(verify_for_intake, raw, tree, self.store, at=at), limiter=self.limiter
        )
        if tree is not None:  # digested: its payload texts (the package's size) go before
            tree.payloads.clear()  # the files are read again below
        identities = _Once(self.signers, package.sender_id)  # one registry read per package
        report, unbound = await self._bind_signer(package, report, identities)
        decision = decide(report, self.policy, policy_key(package))
        details = describe(report)
        if unbound:  # accepted under `warn`, but nobody vouches that the signer is the sender
            details["signer_binding"] = "unbound"
            decision = replace(decision, reference_only=True)
        if not decision.accepted:
            error = (
                SignatureRejected
                if report.classification is SignatureClass.INVALID
                else SignatureRequired
            )
            raise error(decision.message, details=details)
        if report.is_signed_valid and report.signed_xml is not None:
            await anyio.to_thread.run_sync(self._same_as_signed, package, report.signed_xml)
        if isinstance(package, DocumentPackage) and package.attachments:
            files = await anyio.to_thread.run_sync(
                check_document_files,
                package,
                self.store,
                at,
                await identities.get(),
                limiter=self.limiter,
            )
            if self.document_file_policy is PolicyMode.REQUIRE:
                require_signed_main_file(files)
            details["attachments"] = files
        details["reference_only"] = decision.reference_only
        return SignatureVerdict(
            signature_class=report.classification.value,
            reference_only=decision.reference_only,
            details=details,
        )

    async def _bind_signer(
        self, package: DocumentPackage | StatusPackage, report: SignatureReport, known: _Once
    ) -> tuple[SignatureReport, bool]:
        """A valid signature must come from a certificate the registry binds to the From
        agency: else `invalid` SIGNER_NOT_SENDER. An agency with no identities recorded is
        refused under `require` (SIGNER_UNBOUND) and reference-only under `warn`."""
        if not report.is_signed_valid or self.signers is None or report.signer is None:
            return report, False
        sender = package.sender_id
        identities = await known.get()
        if identities:
            if signer_matches(report.signer, identities):
                return report, False
            code = ReasonCode.SIGNER_NOT_SENDER
            detail = f"{report.signer.subject} is not a signing identity of {sender}"
        elif self.policy.mode_for(policy_key(package)) is PolicyMode.REQUIRE:
            code = ReasonCode.SIGNER_UNBOUND
            detail = f"no signing identity recorded for {sender}"
        else:
            return report, True
        invalid = replace(
            report,
            classification=SignatureClass.INVALID,
            reason=Reason.of(code, detail),
            signed_xml=None,
        )
        return invalid, False

    def _same_as_signed(self, package: DocumentPackage | StatusPackage, signed: bytes) -> None:
        try:
            covered = parse_package(signed, self.limits)
        except EdxmlError as exc:
            raise SignatureRejected(
                "Phần dữ liệu được ký không đọc được",
                details={"reason": "SIGNATURE_WRAPPING"},
                findings=[f.as_dict() for f in exc.findings],
            ) from None
        if covered != package.model_copy(update={"signature": None}):
            raise SignatureRejected(
                "Dữ liệu gói tin khác với phần được ký (signature wrapping)",
                details={"reason": "SIGNATURE_WRAPPING"},
            )


def verify_for_intake(
    raw: bytes, tree: ReadXml | None, store: TrustStore | None, *, at: datetime
) -> SignatureReport:
    """On the validated tree when it holds all that was signed: the report has no
    `signed_xml`, as the package was read from the digested tree itself. Else on the bytes,
    with `signed_xml` for `_same_as_signed`."""
    if tree is not None and tree.keep and not _dropped_signed_nodes(tree):
        return verify_tree(tree.root, store, at=at, moved=tree.payloads)
    return verify_package(raw, store, at=at)


def _dropped_signed_nodes(tree: ReadXml) -> bool:
    """Did the reader (which drops comments and PIs) perhaps drop what the signature covers?
    Processing instructions inside the root are canonical; comments only inside a SignedInfo
    canonicalized #WithComments (the Reference URI="" leaves comments out)."""
    return tree.dropped_pis or (tree.dropped_comments and signed_info_counts_comments(tree.root))


class _Once:
    """The From agency's signing identities, read at most once per package (the signer
    binding and the document files' signatures both need them); None without a directory."""

    def __init__(self, signers: SignerDirectory | None, agency: str):
        self._signers, self._agency = signers, agency
        self._read: list[SigningIdentity] | None = None

    async def get(self) -> list[SigningIdentity] | None:
        if self._signers is None:
            return None
        if self._read is None:
            self._read = await self._signers.identities_of(self._agency)
        return self._read


def describe(report: SignatureReport) -> dict[str, Any]:
    """What to show about a signature: class, reason and signer."""
    out: dict[str, Any] = {"class": report.classification.value}
    if report.reason is not None:
        out["reason"] = report.reason.code.value
        out["reason_message"] = report.reason.message
    if report.signer is not None:
        signer = report.signer
        out["signer"] = {
            "subject": signer.subject,
            "serial": signer.serial,
            "issuer": signer.issuer,
            "not_before": signer.not_before.isoformat(),
            "not_after": signer.not_after.isoformat(),
            "fingerprint_sha256": signer.fingerprint_sha256,
        }
    if report.digest_algorithm:
        out["digest_algorithm"] = report.digest_algorithm
    return out
