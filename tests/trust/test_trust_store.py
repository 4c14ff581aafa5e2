"""TrustStore: loading bundles and CRLs, roots versus intermediates, anchor health."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from gateway.trust import TrustStore


def test_roots_are_told_from_intermediates_by_self_signature(tmp_path, pki):
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(pki.bundle_pem())

    store = TrustStore.from_files(bundle)

    assert store.roots == (pki.root,)
    assert store.intermediates == (pki.intermediate,)
    assert store.is_root(pki.root) and not store.is_root(pki.intermediate)


def test_duplicates_in_the_bundle_are_ignored(pki):
    store = TrustStore([pki.root, pki.root, pki.intermediate])
    assert len(store.roots) == 1


@pytest.mark.parametrize("encoding", [serialization.Encoding.PEM, serialization.Encoding.DER])
def test_crls_load_from_pem_or_der(tmp_path, pki, encoding):
    bundle, crl = tmp_path / "ca.pem", tmp_path / "ca.crl"
    bundle.write_bytes(pki.bundle_pem())
    crl.write_bytes(pki.crl.public_bytes(encoding))

    store = TrustStore.from_files(bundle, [crl])

    assert store.crls_for(pki.intermediate) == [pki.crl]
    assert store.crls_for(pki.root) == []


def test_crl_signed_by_someone_else_never_applies(pki):
    store = TrustStore([pki.root, pki.intermediate, pki.unknown_root], [pki.crl])
    assert store.crls_for(pki.unknown_root) == []


def test_bundle_without_certificates_is_an_error(tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    with pytest.raises(ValueError):
        TrustStore.from_files(empty)


def test_bundle_without_a_root_is_an_error(pki):
    with pytest.raises(ValueError, match="root"):
        TrustStore([pki.intermediate])


def test_anchor_health_lists_days_left_soonest_first(pki, store):
    health = store.anchor_health(pki.now)

    assert {h.subject for h in health} == {
        pki.root.subject.rfc4514_string(),
        pki.intermediate.subject.rfc4514_string(),
    }
    assert [h.not_after for h in health] == sorted(h.not_after for h in health)
    assert all(3649 <= h.days_left <= 3650 for h in health)
    assert {h.serial for h in health} == {
        format(pki.root.serial_number, "X"),
        format(pki.intermediate.serial_number, "X"),
    }


def test_anchor_health_goes_negative_after_expiry(pki, store):
    later = pki.now + timedelta(days=4000)
    assert all(h.days_left < 0 for h in store.anchor_health(later))


def test_naive_time_is_taken_as_utc(pki, store):
    naive = pki.now.replace(tzinfo=None)
    assert store.anchor_health(naive) == store.anchor_health(pki.now)
