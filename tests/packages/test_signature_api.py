"""Signatures through the HTTP API: classification on the timeline, policies, signed receipts,
the published certificate and certificate health (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from signxml import XMLVerifier

from conftest import sample_bytes
from trust.pki import Pki, agency_sign, build_pki, strip_signatures

A80, H17 = "000.00.00.A80", "28.22.H17"
RECEIPT_NS = {"r": "urn:vn:gov:gateway:receipt:1"}
TABLES = ("packages", "deliveries", "outbox", "audit_events")


@pytest.fixture(scope="module")
def pki() -> Pki:
    return build_pki()


@pytest.fixture(scope="module")
def signed(pki: Pki) -> bytes:
    unsigned = strip_signatures(sample_bytes("edoc_new.edxml"))
    return agency_sign(unsigned, pki.agency_key, [pki.agency, pki.intermediate])


@pytest.fixture
def bundle(pki: Pki, tmp_path: Path) -> Path:
    path = tmp_path / "ca-bundle.pem"
    path.write_bytes(pki.bundle_pem())
    return path


async def _counts(gw) -> dict[str, int]:
    return {t: await gw.count(t) for t in TABLES}


async def bind_signer(gw, code: str, cert) -> None:
    """Record `cert` as a signing identity of agency `code` (gateway.registry.signing)."""
    r = await gw.http.post(
        f"/api/v1/admin/agencies/{code}/signing-identities/certificates",
        content=cert.public_bytes(serialization.Encoding.PEM),
        headers=await gw.admin(),
    )
    assert r.status_code == 201, r.text


async def test_signed_package_is_signed_valid_with_its_signer(
    make_gateway, bundle, signed, pki
):
    gw = await make_gateway(trust_bundle=bundle, signature_policy="require")
    keys = await gw.setup(A80, H17)
    await bind_signer(gw, A80, pki.agency)  # signer = sender (issue 13)
    r = await gw.post_package(signed, keys[A80])
    assert r.status_code == 202, r.text
    assert r.json()["signature_class"] == "signed-valid"
    assert r.json()["reference_only"] is False
    timeline = (await gw.get(f"/api/v1/packages/{r.json()['package_id']}/timeline",
                             keys[A80])).json()
    signature = timeline["package"]["signature"]
    assert signature["class"] == "signed-valid"
    assert signature["reference_only"] is False
    assert "CN=" in signature["signer"]["subject"]
    assert signature["signer"]["serial"]


async def test_placeholder_is_reference_only_under_warn(make_gateway, bundle):
    gw = await make_gateway(trust_bundle=bundle)
    keys = await gw.setup(A80, H17)
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])
    assert r.status_code == 202, r.text
    assert (r.json()["signature_class"], r.json()["reference_only"]) == ("placeholder", True)


async def test_require_policy_refuses_unsigned_and_stores_nothing(make_gateway, bundle):
    gw = await make_gateway(trust_bundle=bundle, signature_policy="require")
    keys = await gw.setup(A80, H17)
    before = await _counts(gw)
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "SIGNATURE_REQUIRED"
    assert error["details"]["class"] == "placeholder"
    assert "ký số" in error["message"]
    assert await _counts(gw) == before


async def test_override_by_document_type(make_gateway, bundle):
    gw = await make_gateway(
        trust_bundle=bundle, signature_policy_overrides={"Công văn": "require"}
    )
    keys = await gw.setup(A80, H17)
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])
    assert r.json()["error"]["code"] == "SIGNATURE_REQUIRED"


async def test_tampered_signed_package_is_refused_even_under_warn(make_gateway, bundle, signed):
    gw = await make_gateway(trust_bundle=bundle)
    keys = await gw.setup(A80, H17)
    before = await _counts(gw)
    tampered = signed.replace("phần mềm quản lý".encode(), "phần cứng quản lý".encode(), 1)
    r = await gw.post_package(tampered, keys[A80])
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert r.json()["error"]["details"]["reason"] == "SIGNATURE_DIGEST_MISMATCH"
    assert await _counts(gw) == before


async def test_real_signature_without_trust_bundle_is_refused(gw, signed):
    keys = await gw.setup(A80, H17)
    r = await gw.post_package(signed, keys[A80])
    assert r.status_code == 422
    assert r.json()["error"]["details"]["reason"] == "TRUST_NOT_CONFIGURED"


async def test_signed_receipt_verifies_with_the_published_certificate(gw):
    keys = await gw.setup(A80, H17)
    raw = sample_bytes("edoc_new.edxml")
    package_id = (await gw.post_package(raw, keys[A80])).json()["package_id"]
    certificate = await gw.http.get("/.well-known/gateway-certificate.pem")
    assert certificate.status_code == 200
    assert certificate.text.startswith("-----BEGIN CERTIFICATE-----")
    receipt = await gw.get(f"/api/v1/packages/{package_id}/receipt", keys[A80])
    assert receipt.status_code == 200, receipt.text
    assert receipt.headers["content-type"].startswith("application/xml")
    verified = XMLVerifier().verify(receipt.content, x509_cert=certificate.text)
    signed_root = verified.signed_xml
    assert signed_root.findtext("r:PackageId", namespaces=RECEIPT_NS) == package_id
    assert signed_root.findtext("r:Sha256", namespaces=RECEIPT_NS) == hashlib.sha256(
        raw
    ).hexdigest()
    assert signed_root.findtext("r:ReferenceOnly", namespaces=RECEIPT_NS) == "true"
    [delivery] = signed_root.findall("r:Deliveries/r:Delivery", RECEIPT_NS)
    assert delivery.get("recipient") == H17
    # tampering with the receipt breaks it
    forged = receipt.content.replace(package_id.encode(), b"0" * len(package_id))
    with pytest.raises(Exception):  # noqa: B017 (signxml raises several types)
        XMLVerifier().verify(forged, x509_cert=certificate.text)
    # a recipient does not get the sender's receipt
    assert (await gw.get(f"/api/v1/packages/{package_id}/receipt", keys[H17])).status_code == 403


async def test_certificate_health(make_gateway, bundle):
    gw = await make_gateway(trust_bundle=bundle)
    r = await gw.get("/api/v1/admin/certificates", await gw.admin_key())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["gateway"]["days_left"] > 700
    assert len(body["trust_anchors"]) >= 1
    assert body["signature_policy"] == "warn"
    assert body["trust_bundle_configured"] is True
