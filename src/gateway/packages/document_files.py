"""The document files' own signatures (issue 13 item 4): every PDF attachment of a document
package is verified with gateway.trust.pdf against the same trust store and CRLs as the
envelope; the result per file goes on the timeline, the dashboard and the signed receipt.

The main document file is the first attachment (the SDK and the agency systems put the
promulgated document first, appendices after); `GATEWAY_SIGNATURE_DOCUMENT_FILE_POLICY=require`
refuses a document whose main file is not a validly signed PDF. A package without files
(a take-back request, say) carries no document file and is not held to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..edxml import DocumentPackage, open_attachment, real_file_name
from ..errors import GatewayError
from ..trust import ReasonCode, TrustStore
from ..trust.binding import SigningIdentity, signer_matches
from ..trust.certs import CertificateInfo
from ..trust.pdf import is_pdf, verify_pdf

NOT_PDF = "not-pdf"  # a file of another format: no signature the gateway can check


class DocumentFileSignatureRequired(GatewayError):
    status_code = 422
    code = "DOCUMENT_FILE_SIGNATURE_REQUIRED"
    default_message = "Tệp văn bản chính phải là tệp PDF có chữ ký số hợp lệ"
    description = (
        "The province requires the main document file (first attachment) to be a validly "
        "signed PDF and it is not (details say which file and why)"
    )


def check_document_files(
    package: DocumentPackage,
    store: TrustStore | None,
    at: datetime,
    identities: list[SigningIdentity] | None = None,
) -> list[dict[str, Any]]:
    """One entry per attachment, in order: name, class, reason and signers.

    Signer = sender for the files too, when `identities` (the From agency's, None: not
    checked) are given: a `signed-valid` file whose signers are not all bound to the agency
    becomes `invalid` SIGNER_NOT_SENDER; with none recorded it is marked
    `signer_binding: unbound`, as the envelope is."""
    results = []
    for attachment in package.attachments:
        with open_attachment(attachment) as stream:
            data = stream.read()
        entry: dict[str, Any] = {
            "content_id": attachment.content_id,
            "name": real_file_name(attachment),
        }
        if not is_pdf(data):
            entry["class"] = NOT_PDF
        else:
            report = verify_pdf(data, store, at=at)
            entry["class"] = report.classification.value
            if report.reason is not None:
                entry["reason"] = report.reason.code.value
                entry["reason_message"] = report.reason.message
            entry["signers"] = [_signer(s) for s in report.signers]
            if report.is_signed_valid and identities is not None:
                _bind(entry, report.signers, identities)
        results.append(entry)
    return results


def _signer(info: CertificateInfo) -> dict[str, Any]:
    return {
        "subject": info.subject,
        "serial": info.serial,
        "issuer": info.issuer,
        "fingerprint_sha256": info.fingerprint_sha256,
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
    }


def _bind(
    entry: dict[str, Any], signers: list[CertificateInfo], identities: list[SigningIdentity]
) -> None:
    if not identities:
        entry["signer_binding"] = "unbound"
    elif not all(signer_matches(signer, identities) for signer in signers):
        entry["class"] = "invalid"
        entry["reason"] = ReasonCode.SIGNER_NOT_SENDER.value
        entry["reason_message"] = ReasonCode.SIGNER_NOT_SENDER.message


def require_signed_main_file(files: list[dict[str, Any]]) -> None:
    main = files[0]
    if main["class"] != "signed-valid":
        raise DocumentFileSignatureRequired(
            details={"file": main["name"], "class": main["class"], "reason": main.get("reason")}
        )
