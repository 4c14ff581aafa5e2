"""Signature policy: each class under `require` and `warn`, and per-document-type overrides."""

from __future__ import annotations

import pytest

from gateway.trust import (
    PolicyMode,
    Reason,
    ReasonCode,
    SignatureClass,
    SignaturePolicy,
    SignatureReport,
    decide,
)

VALID = SignatureReport(SignatureClass.SIGNED_VALID)
UNSIGNED = SignatureReport(SignatureClass.UNSIGNED)
PLACEHOLDER = SignatureReport(SignatureClass.PLACEHOLDER)
INVALID = SignatureReport(SignatureClass.INVALID, reason=Reason.of(ReasonCode.CERT_REVOKED))

REQUIRE = SignaturePolicy(mode=PolicyMode.REQUIRE)
WARN = SignaturePolicy()


def test_default_policy_is_warn():
    assert SignaturePolicy().mode is PolicyMode.WARN


@pytest.mark.parametrize("policy", [REQUIRE, WARN])
def test_signed_valid_is_accepted_as_an_original(policy):
    decision = decide(VALID, policy)
    assert decision.accepted and not decision.reference_only and decision.code is None


@pytest.mark.parametrize("policy", [REQUIRE, WARN])
def test_invalid_is_always_rejected_with_its_reason(policy):
    decision = decide(INVALID, policy)
    assert not decision.accepted
    assert decision.code == "CERT_REVOKED"
    assert decision.message == ReasonCode.CERT_REVOKED.message


def test_invalid_without_reason_still_has_a_code():
    decision = decide(SignatureReport(SignatureClass.INVALID), WARN)
    assert decision.code == "SIGNATURE_INVALID" and not decision.accepted


@pytest.mark.parametrize("report", [UNSIGNED, PLACEHOLDER])
def test_require_rejects_unsigned_and_placeholder(report):
    decision = decide(report, REQUIRE)
    assert not decision.accepted
    assert decision.code == "SIGNATURE_REQUIRED"
    assert "ký số" in decision.message


@pytest.mark.parametrize("report", [UNSIGNED, PLACEHOLDER])
def test_warn_accepts_unsigned_and_placeholder_for_reference_only(report):
    decision = decide(report, WARN)
    assert decision.accepted and decision.reference_only
    assert "tham khảo" in decision.message


def test_document_type_override_tightens_warn():
    policy = SignaturePolicy(mode="warn", by_document_type={"Quyết định": "require"})
    assert not decide(UNSIGNED, policy, "Quyết định").accepted
    assert decide(UNSIGNED, policy, "Công văn").accepted
    assert decide(UNSIGNED, policy, None).accepted


def test_document_type_override_relaxes_require():
    policy = SignaturePolicy(mode=PolicyMode.REQUIRE, by_document_type={" 2 ": PolicyMode.WARN})
    assert decide(PLACEHOLDER, policy, "2").reference_only
    assert decide(PLACEHOLDER, policy, "1").code == "SIGNATURE_REQUIRED"
    assert decide(INVALID, policy, "2").code == "CERT_REVOKED"  # overrides never admit invalid


def test_unknown_mode_is_a_configuration_error():
    with pytest.raises(ValueError):
        SignaturePolicy(mode="maybe")
