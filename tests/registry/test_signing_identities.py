"""Issue 13 item 2: the signer is the sender. The registry binds certificates (fingerprint or
subject attributes) to agencies; a valid signature by anyone else is `invalid` with reason
SIGNER_NOT_SENDER; an agency with no identity is refused under `require` (SIGNER_UNBOUND) and
reference-only under `warn`. Managed by admin API (audited) and CLI. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from conftest import sample_bytes
from gateway.cli import app
from gateway.trust.binding import (
    IdentityKind,
    SigningIdentity,
    normalize_fingerprint,
    signer_matches,
)
from gateway.trust.certs import CertificateInfo
from trust.pki import agency_sign, strip_signatures

A80, H17 = "000.00.00.A80", "28.22.H17"
TABLES = ("packages", "deliveries", "outbox")


@pytest.fixture(scope="module")
def signed(pki) -> bytes:
    unsigned = strip_signatures(sample_bytes("edoc_new.edxml"))
    return agency_sign(unsigned, pki.agency_key, [pki.agency, pki.intermediate])


@pytest.fixture
def bundle(pki, tmp_path: Path) -> Path:
    path = tmp_path / "ca-bundle.pem"
    path.write_bytes(pki.bundle_pem())
    return path


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


async def _counts(gw) -> dict[str, int]:
    return {t: await gw.count(t) for t in TABLES}


# ------------------------------------------------------------------------- matching (pure)


def test_fingerprint_and_subject_matching(pki):
    signer = CertificateInfo.of(pki.agency)  # CN=UBND xã Hòa Tiến
    other = CertificateInfo.of(pki.agency_sha1)  # CN=UBND xã Hòa Sơn, same CA
    mine = SigningIdentity(IdentityKind.FINGERPRINT, signer.fingerprint_sha256)
    assert signer_matches(signer, [mine])
    assert not signer_matches(other, [mine])
    by_name = SigningIdentity(IdentityKind.SUBJECT, "CN=ubnd xã hòa tiến")  # case-insensitive
    assert signer_matches(signer, [by_name]) and not signer_matches(other, [by_name])
    assert not signer_matches(signer, [SigningIdentity(IdentityKind.SUBJECT, "O=Khác")])
    assert not signer_matches(signer, [])


def test_fingerprint_spellings_normalise():
    hexdigits = "ab" * 32
    assert normalize_fingerprint(hexdigits) == ":".join(["AB"] * 32)
    assert normalize_fingerprint(":".join(["ab"] * 32)) == ":".join(["AB"] * 32)
    with pytest.raises(ValueError):
        normalize_fingerprint("abcd")


# ------------------------------------------------------------------------------ HTTP API


async def test_signer_bound_to_sender_is_signed_valid(make_gateway, bundle, pki, signed):
    gw = await make_gateway(trust_bundle=bundle, signature_policy="require")
    keys = await gw.setup(A80, H17)
    admin = await gw.admin()
    url = f"/api/v1/admin/agencies/{A80}/signing-identities"
    r = await gw.http.post(
        f"{url}/certificates", content=_pem(pki.agency), headers=admin
    )
    assert r.status_code == 201, r.text
    [identity] = r.json()
    assert identity["kind"] == "fingerprint"
    assert identity["value"] == CertificateInfo.of(pki.agency).fingerprint_sha256
    assert "Hòa Tiến" in identity["label"]  # UTF-8 intact
    r = await gw.post_package(signed, keys[A80])
    assert r.status_code == 202, r.text
    assert (r.json()["signature_class"], r.json()["reference_only"]) == ("signed-valid", False)
    # the same file twice is a conflict; listing shows it; the change is audited
    again = await gw.http.post(f"{url}/certificates", content=_pem(pki.agency), headers=admin)
    assert again.status_code == 409
    listed = await gw.http.get(url, headers=admin)
    assert [i["id"] for i in listed.json()] == [identity["id"]]
    assert await _audit_actions(gw) >= {"agency.signing_identity.added"}


async def test_signature_by_another_agency_is_signer_not_sender(make_gateway, bundle, pki, signed):
    gw = await make_gateway(trust_bundle=bundle)  # even under `warn`
    keys = await gw.setup(A80, H17)
    admin = await gw.admin()
    url = f"/api/v1/admin/agencies/{A80}/signing-identities"
    r = await gw.http.post(url, json={"kind": "subject", "value": "CN=UBND xã Hòa Sơn"},
                           headers=admin)
    assert r.status_code == 201, r.text
    before = await _counts(gw)
    r = await gw.post_package(signed, keys[A80])  # signed by CN=UBND xã Hòa Tiến
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "SIGNATURE_INVALID"
    assert error["details"]["reason"] == "SIGNER_NOT_SENDER"
    assert error["details"]["class"] == "invalid"
    assert "không thuộc cơ quan gửi" in error["message"]
    assert await _counts(gw) == before
    # removing it (audited) and binding the right certificate lets the package in
    r = await gw.http.delete(f"{url}/{await _first_id(gw, url)}", headers=admin)
    assert r.status_code == 204
    fp = CertificateInfo.of(pki.agency).fingerprint_sha256.replace(":", "").lower()
    r = await gw.http.post(url, json={"kind": "fingerprint", "value": fp}, headers=admin)
    assert r.status_code == 201, r.text
    assert (await gw.post_package(signed, keys[A80])).status_code == 202
    assert await _audit_actions(gw) >= {
        "agency.signing_identity.added", "agency.signing_identity.removed"
    }


async def test_agency_without_identities_is_reference_only_under_warn(
    make_gateway, bundle, signed
):
    warn = await make_gateway(trust_bundle=bundle)
    keys = await warn.setup(A80, H17)
    r = await warn.post_package(signed, keys[A80])
    assert r.status_code == 202, r.text
    assert (r.json()["signature_class"], r.json()["reference_only"]) == ("signed-valid", True)
    timeline = (await warn.get(f"/api/v1/packages/{r.json()['package_id']}/timeline",
                               keys[A80])).json()
    assert timeline["package"]["signature"]["signer_binding"] == "unbound"


async def test_agency_without_identities_is_refused_under_require(make_gateway, bundle, signed):
    require = await make_gateway(trust_bundle=bundle, signature_policy="require")
    keys = await require.setup(A80, H17)
    r = await require.post_package(signed, keys[A80])
    assert r.status_code == 422
    assert r.json()["error"]["details"]["reason"] == "SIGNER_UNBOUND"


async def test_bad_identities_are_refused(gw):
    await gw.setup(A80)
    admin = await gw.admin()
    url = f"/api/v1/admin/agencies/{A80}/signing-identities"
    r = await gw.http.post(url, json={"kind": "fingerprint", "value": "12:34"}, headers=admin)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "BAD_REQUEST")
    r = await gw.http.post(f"{url}/certificates", content=b"not a certificate", headers=admin)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "BAD_REQUEST")
    r = await gw.http.get("/api/v1/admin/agencies/000.00.00.Z99/signing-identities",
                          headers=admin)
    assert r.status_code == 404
    assert await gw.count("agency_signing_identities") == 0


async def _first_id(gw, url: str) -> str:
    return (await gw.http.get(url, headers=await gw.admin())).json()[0]["id"]


async def _audit_actions(gw) -> set[str]:
    from sqlalchemy import text

    async with gw.db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT action FROM audit_events"))
        return {r[0] for r in rows}


# ------------------------------------------------------------------------------------- CLI


def test_cli_imports_pem_and_der_and_removes(cli_env, pki, tmp_path):
    run = CliRunner().invoke
    assert run(app, ["agencies", "import", "--example"]).exit_code == 0
    code = "000.00.13.H99"
    pem = tmp_path / "agency.pem"
    pem.write_bytes(_pem(pki.agency))
    der = tmp_path / "other.cer"
    der.write_bytes(pki.agency_sha1.public_bytes(serialization.Encoding.DER))
    r = run(app, ["agencies", "signers", "import", code, str(pem), str(der)])
    assert r.exit_code == 0, r.output
    lines = [line.split("\t") for line in r.stdout.splitlines() if "\t" in line]
    assert [v for _, v, _ in lines] == [
        CertificateInfo.of(pki.agency).fingerprint_sha256,
        CertificateInfo.of(pki.agency_sha1).fingerprint_sha256,
    ]
    r = run(app, ["agencies", "signers", "add", code, "--subject", "O=Sở TT&TT"])
    assert r.exit_code == 0, r.output
    r = run(app, ["agencies", "signers", "list", code])
    assert r.exit_code == 0 and "subject" in r.stdout
    r = run(app, ["agencies", "signers", "remove", code, lines[0][0]])
    assert r.exit_code == 0, r.output
    r = run(app, ["agencies", "signers", "add", code, "nonsense"])
    assert r.exit_code == 1 and "BAD_REQUEST" in r.output
