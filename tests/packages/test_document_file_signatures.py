"""Issue 13 item 4 through the API: the PDF document file's own signature is verified (pyHanko,
same trust store) and recorded per file on the timeline, the dashboard and the signed receipt;
`signature_document_file_policy=require` refuses a main file that is not a validly signed PDF.
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from signxml import XMLVerifier

from conftest import sample_bytes
from gateway.edxml import build_package, parse_package
from ops.ops_support import logged_in
from trust.pdf_support import sign_pdf, tiny_pdf

A80, H17 = "000.00.00.A80", "28.22.H17"
RECEIPT_NS = {"r": "urn:vn:gov:gateway:receipt:1"}


def with_document_file(pdf: bytes, name: str = "QD-123-UBND.signed.pdf") -> bytes:
    """The sample document with `pdf` as its (only, main) attachment."""
    package = parse_package(sample_bytes("edoc_new.edxml"))
    main = package.attachments[0].model_copy(
        update={"data": pdf, "attachment_name": name, "content_type": "application/pdf"}
    )
    return build_package(package.model_copy(update={"attachments": [main], "signature": None}))


@pytest.fixture(scope="module")
def signed_pdf(pki) -> bytes:
    return sign_pdf(tiny_pdf(), pki.agency_key, pki.agency, [pki.intermediate])


@pytest.fixture
def bundle(pki, tmp_path: Path) -> Path:
    path = tmp_path / "ca-bundle.pem"
    path.write_bytes(pki.bundle_pem())
    return path


async def test_document_file_signature_is_recorded_everywhere(make_gateway, bundle, signed_pdf):
    gw = await make_gateway(trust_bundle=bundle)
    keys = await gw.setup(A80, H17)
    r = await gw.post_package(with_document_file(signed_pdf), keys[A80])
    assert r.status_code == 202, r.text
    package_id = r.json()["package_id"]

    timeline = (await gw.get(f"/api/v1/packages/{package_id}/timeline", keys[A80])).json()
    [file] = timeline["package"]["signature"]["attachments"]
    assert file["name"] == "QD-123-UBND.signed.pdf"
    assert file["class"] == "signed-valid"
    assert "UBND xã Hòa Tiến" in file["signers"][0]["subject"]
    assert file["signer_binding"] == "unbound"  # A80 has no signing identity recorded

    receipt = await gw.get(f"/api/v1/packages/{package_id}/receipt", keys[A80])
    certificate = (await gw.http.get("/.well-known/gateway-certificate.pem")).text
    signed_root = XMLVerifier().verify(receipt.content, x509_cert=certificate).signed_xml
    [entry] = signed_root.findall("r:DocumentFiles/r:DocumentFile", RECEIPT_NS)
    assert entry.get("name") == "QD-123-UBND.signed.pdf"
    assert entry.get("signature") == "signed-valid"
    assert "UBND xã Hòa Tiến" in entry.get("signer")

    await logged_in(gw, "lan")
    page = await gw.http.get(f"/dashboard/packages/{package_id}")
    assert page.status_code == 200
    assert 'data-document-file="QD-123-UBND.signed.pdf"' in page.text
    assert "signed-valid" in page.text and "UBND xã Hòa Tiến" in page.text


async def test_tampered_document_file_is_recorded_invalid_under_warn(
    make_gateway, bundle, signed_pdf
):
    gw = await make_gateway(trust_bundle=bundle)
    keys = await gw.setup(A80, H17)
    tampered = signed_pdf.replace(b"200 200", b"200 201", 1)
    r = await gw.post_package(with_document_file(tampered), keys[A80])
    assert r.status_code == 202, r.text
    timeline = (await gw.get(f"/api/v1/packages/{r.json()['package_id']}/timeline",
                             keys[A80])).json()
    [file] = timeline["package"]["signature"]["attachments"]
    assert (file["class"], file["reason"]) == ("invalid", "SIGNATURE_DIGEST_MISMATCH")


async def test_policy_can_require_a_signed_main_file(make_gateway, bundle, signed_pdf):
    gw = await make_gateway(trust_bundle=bundle, signature_document_file_policy="require")
    keys = await gw.setup(A80, H17)
    before = await gw.count("packages")
    for pdf in (tiny_pdf(), signed_pdf.replace(b"200 200", b"200 201", 1)):
        r = await gw.post_package(with_document_file(pdf, "vanban.pdf"), keys[A80])
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "DOCUMENT_FILE_SIGNATURE_REQUIRED"
        assert error["details"]["file"] == "vanban.pdf"
        assert "chữ ký số" in error["message"]
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])  # a .doc main file
    assert r.json()["error"]["details"]["class"] == "not-pdf"
    assert await gw.count("packages") == before
    r = await gw.post_package(with_document_file(signed_pdf), keys[A80])
    assert r.status_code == 202, r.text


async def test_document_file_signed_by_another_agency_is_signer_not_sender(
    make_gateway, bundle, signed_pdf
):
    gw = await make_gateway(trust_bundle=bundle, signature_document_file_policy="require")
    keys = await gw.setup(A80, H17)
    r = await gw.http.post(
        f"/api/v1/admin/agencies/{A80}/signing-identities",
        json={"kind": "subject", "value": "CN=UBND xã Hòa Sơn"},  # not the PDF's signer
        headers=await gw.admin(),
    )
    assert r.status_code == 201, r.text
    r = await gw.post_package(with_document_file(signed_pdf), keys[A80])
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "DOCUMENT_FILE_SIGNATURE_REQUIRED"
    assert (error["details"]["class"], error["details"]["reason"]) == (
        "invalid", "SIGNER_NOT_SENDER"
    )
