"""Issue 13 item 4 (library part): signatures inside PDF document files, verified with pyHanko
against the trust store (roots, intermediates, CRLs) at the receipt time."""

from __future__ import annotations

import pytest

from gateway.trust.pdf import is_pdf, verify_pdf
from trust.pdf_support import sign_pdf, tiny_pdf


@pytest.fixture(scope="module")
def signed_pdf(pki) -> bytes:
    return sign_pdf(tiny_pdf(), pki.agency_key, pki.agency, [pki.intermediate])


def test_signed_pdf_is_signed_valid_with_its_signer(pki, store, signed_pdf):
    report = verify_pdf(signed_pdf, store, at=pki.now)
    assert report.classification == "signed-valid", report.reason
    [signer] = report.signers
    assert "UBND xã Hòa Tiến" in signer.subject


def test_unsigned_pdf(pki, store):
    pdf = tiny_pdf()
    assert is_pdf(pdf) and not is_pdf(b"PK\x03\x04")
    assert verify_pdf(pdf, store, at=pki.now).classification == "unsigned"


def test_tampered_signed_pdf_is_invalid(pki, store, signed_pdf):
    # change one byte inside the signed range (the page's MediaBox)
    tampered = signed_pdf.replace(b"200 200", b"200 201", 1)
    assert tampered != signed_pdf
    report = verify_pdf(tampered, store, at=pki.now)
    assert report.classification == "invalid"
    assert report.reason.code == "SIGNATURE_DIGEST_MISMATCH"


def test_untrusted_and_revoked_signers_are_invalid(pki, store):
    untrusted = sign_pdf(tiny_pdf(), pki.agency_key, pki.unknown_agency, [pki.unknown_root])
    assert verify_pdf(untrusted, store, at=pki.now).reason.code == "CERT_UNTRUSTED"
    revoked = sign_pdf(tiny_pdf(), pki.agency_key, pki.revoked, [pki.intermediate])
    assert verify_pdf(revoked, store, at=pki.now).reason.code == "CERT_REVOKED"


def test_no_trust_store_and_garbage(pki, signed_pdf):
    assert verify_pdf(signed_pdf, None, at=pki.now).reason.code == "TRUST_NOT_CONFIGURED"
    broken = verify_pdf(b"%PDF-1.7\n garbage", None, at=pki.now)
    assert broken.classification == "invalid"


def test_expired_signer_is_invalid(pki, store):
    expired = sign_pdf(tiny_pdf(), pki.agency_key, pki.expired, [pki.intermediate])
    report = verify_pdf(expired, store, at=pki.now)
    assert report.classification == "invalid"
    assert report.reason.code in {"CERT_EXPIRED", "CERT_UNTRUSTED"}
