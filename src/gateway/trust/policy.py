"""Per-province signature policy: what to do with each signature class.

A signed document replaces paper; an unsigned one is only "for reference". `require` rejects
anything not signed-valid, `warn` accepts it marked reference-only. Invalid signatures are
rejected under every policy: a broken signature is evidence of tampering, not a missing one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .reasons import ReasonCode
from .verify import SignatureClass, SignatureReport


class PolicyMode(StrEnum):
    REQUIRE = "require"
    WARN = "warn"


@dataclass(frozen=True, slots=True)
class SignaturePolicy:
    """`by_document_type` maps a document type key (DocumentType/Type code, TypeDetail or
    TypeName, as the province configures it) to a mode that overrides `mode`."""

    mode: PolicyMode = PolicyMode.WARN
    by_document_type: Mapping[str, PolicyMode] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", PolicyMode(self.mode))
        overrides = {key.strip(): PolicyMode(m) for key, m in self.by_document_type.items()}
        object.__setattr__(self, "by_document_type", overrides)

    def mode_for(self, document_type: str | None) -> PolicyMode:
        if document_type is None:
            return self.mode
        return self.by_document_type.get(document_type.strip(), self.mode)


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    accepted: bool
    reference_only: bool
    code: str | None = None
    message: str | None = None


_REFERENCE_ONLY = {
    SignatureClass.UNSIGNED: "Văn bản không có chữ ký số, chỉ có giá trị tham khảo.",
    SignatureClass.PLACEHOLDER: (
        "Khối chữ ký trong gói tin là mẫu tĩnh của SDK, không kiểm chứng được; "
        "văn bản chỉ có giá trị tham khảo."
    ),
}


def decide(
    report: SignatureReport, policy: SignaturePolicy, document_type: str | None = None
) -> PolicyDecision:
    if report.classification is SignatureClass.SIGNED_VALID:
        return PolicyDecision(accepted=True, reference_only=False)
    if report.classification is SignatureClass.INVALID:
        reason = report.reason
        code = reason.code if reason else ReasonCode.SIGNATURE_INVALID
        message = reason.message if reason else ReasonCode.SIGNATURE_INVALID.message
        return PolicyDecision(accepted=False, reference_only=False, code=code, message=message)
    if policy.mode_for(document_type) is PolicyMode.REQUIRE:
        return PolicyDecision(
            accepted=False,
            reference_only=False,
            code=ReasonCode.SIGNATURE_REQUIRED,
            message=ReasonCode.SIGNATURE_REQUIRED.message,
        )
    return PolicyDecision(
        accepted=True, reference_only=True, message=_REFERENCE_ONLY[report.classification]
    )
