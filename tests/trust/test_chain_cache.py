"""gateway.trust.chain remembers, per signer and trust store, what does not depend on the
moment of checking (the path, its RSA links, the CRL lookups); validity periods and revocation
dates are still compared with each package's receipt time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.trust import ReasonCode, TrustStore
from gateway.trust import chain as chain_module
from gateway.trust.chain import ChainError, validate_signer


@pytest.fixture
def fresh_store(pki):
    return TrustStore([pki.root, pki.intermediate], [pki.crl])


@pytest.fixture
def rsa_checks(monkeypatch):
    """How many signature checks (certificate links and CRLs) the chain code makes."""
    calls = {"links": 0, "crls": 0}
    signed_by, crls_for = chain_module.signed_by, TrustStore.crls_for

    def counting_signed_by(cert, issuer):
        calls["links"] += 1
        return signed_by(cert, issuer)

    def counting_crls_for(self, issuer):
        calls["crls"] += 1
        return crls_for(self, issuer)

    monkeypatch.setattr(chain_module, "signed_by", counting_signed_by)
    monkeypatch.setattr(TrustStore, "crls_for", counting_crls_for)
    return calls


def test_the_same_signer_is_checked_once_per_store(pki, fresh_store, rsa_checks):
    at = pki.now
    first = validate_signer(pki.agency, [pki.intermediate], fresh_store, at)
    assert rsa_checks["links"] and rsa_checks["crls"]
    done = dict(rsa_checks)
    for _ in range(3):
        assert validate_signer(pki.agency, [pki.intermediate], fresh_store, at) == first
    assert rsa_checks == done
    # another store decides for itself
    validate_signer(pki.agency, [], TrustStore([pki.root, pki.intermediate]), at)
    assert rsa_checks["links"] > done["links"]


def test_validity_is_checked_at_every_receipt_time(pki, fresh_store):
    assert validate_signer(pki.agency, [], fresh_store, pki.now)
    later = pki.agency.not_valid_after_utc + timedelta(days=1)
    with pytest.raises(ChainError) as exc:
        validate_signer(pki.agency, [], fresh_store, later)
    assert exc.value.code is ReasonCode.CERT_EXPIRED
    assert validate_signer(pki.agency, [], fresh_store, pki.now)  # and back


def test_revocation_counts_from_its_date_with_the_decision_cached(pki, fresh_store):
    before = pki.revoked_at - timedelta(days=1)
    for _ in range(2):
        assert validate_signer(pki.revoked, [], fresh_store, before)
        with pytest.raises(ChainError) as exc:
            validate_signer(pki.revoked, [], fresh_store, pki.now)
        assert exc.value.code is ReasonCode.CERT_REVOKED


def test_a_structural_problem_is_remembered_and_reported_after_validity(pki, fresh_store):
    expired_at = pki.wrong_usage.not_valid_after_utc + timedelta(days=1)
    for _ in range(2):
        with pytest.raises(ChainError) as exc:
            validate_signer(pki.wrong_usage, [], fresh_store, pki.now)
        assert exc.value.code is ReasonCode.CERT_KEY_USAGE
        with pytest.raises(ChainError) as exc:
            validate_signer(pki.wrong_usage, [], fresh_store, expired_at)
        assert exc.value.code is ReasonCode.CERT_EXPIRED
    with pytest.raises(ChainError) as exc:
        validate_signer(pki.unknown_agency, [pki.unknown_root], fresh_store, pki.now)
    assert exc.value.code is ReasonCode.CERT_UNTRUSTED
