"""Issue 13 item 1: a package signed over the whole document (Reference URI="") still verifies
with the sender's signature after every hop. An agency signs → gateway 1 → national connector
(sendEdoc) → gateway 2 → the recipient fetches it; and back: gateway 2 → getEdoc (poller) →
gateway 1 → the recipient fetches it. Each copy is checked with a plain signxml verifier
pinned to the agency's certificate, and the official parser still reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from signxml import XMLVerifier
from test_vxp_connector import A, B, document_a_to_b, document_b_to_a, two_gateways

from gateway.edxml import parse_package
from packages.test_signature_api import bind_signer
from trust.pki import agency_sign, strip_signatures


def _sign(pki, raw: bytes) -> bytes:
    return agency_sign(strip_signatures(raw), pki.agency_key, [pki.agency, pki.intermediate])


def _verifies_as_signed_by_agency(pki, data: bytes, original: bytes) -> None:
    cert = pki.agency.public_bytes(serialization.Encoding.PEM).decode()
    XMLVerifier().verify(data, x509_cert=cert, expect_config=_config())  # raises if broken
    assert data == original  # signed bytes are delivered byte for byte
    parse_package(data)  # and the official reader still reads them


def _config():
    from signxml import SignatureConfiguration, SignatureMethod

    return SignatureConfiguration(
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}), expect_references=1
    )


@pytest.fixture
def bundle(pki, tmp_path: Path) -> Path:
    path = tmp_path / "ca-bundle.pem"
    path.write_bytes(pki.bundle_pem())
    return path


async def test_signed_document_survives_two_gateways(
    gateway_settings, sqlite_template, tmp_path, pki, bundle
) -> None:
    trust = {"trust_bundle": bundle, "signature_policy": "require"}
    async with two_gateways(
        gateway_settings, sqlite_template, tmp_path, national_extra=trust, **trust
    ) as pair:
        # each gateway knows who signs for the sender (issue 13 item 2; require refuses others)
        await bind_signer(pair.gw1, A, pki.agency)
        await bind_signer(pair.gw2, A, pki.agency)
        await bind_signer(pair.gw2, B, pki.agency)
        await pair.gw1.add_agency(B, delivery_mode="upstream")  # a remote sender, known here
        await bind_signer(pair.gw1, B, pki.agency)
        # A signs → gateway 1 → sendEdoc → gateway 2 → B fetches
        up = _sign(pki, document_a_to_b())
        r = await pair.gw1.post_package(up, pair.keys[A])
        assert r.status_code == 202, r.text
        assert r.json()["signature_class"] == "signed-valid"
        assert (await pair.connector.forwarder.run_once()).sent == 3
        [item] = (await pair.gw2.get("/api/v1/inbox", pair.keys[B])).json()["items"]
        fetched = await pair.gw2.get(item["href"], pair.keys[B])
        assert fetched.status_code == 200
        _verifies_as_signed_by_agency(pki, fetched.content, up)
        # the hop is recorded outside the signed bytes
        assert fetched.headers["X-Gateway-Trace"].startswith("00.02.W00;")

        # B signs → gateway 2 → getEdoc (the poller) → gateway 1 → A fetches
        down = _sign(pki, document_b_to_a())
        r = await pair.gw2.post_package(down, pair.keys[B])
        assert r.status_code == 202, r.text
        assert (await pair.connector.poller.run_once()).stored == 1
        [item] = (await pair.gw1.get("/api/v1/inbox", pair.keys[A])).json()["items"]
        fetched = await pair.gw1.get(item["href"], pair.keys[A])
        _verifies_as_signed_by_agency(pki, fetched.content, down)
        timeline = (await pair.gw1.get(f"/api/v1/packages/{item['package_id']}/timeline",
                                       await pair.gw1.admin_key())).json()
        assert timeline["package"]["signature"]["class"] == "signed-valid"
