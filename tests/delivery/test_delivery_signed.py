"""Issue 13 item 1 for push: a signed package reaches the recipient's endpoint byte for byte
and verifies with the sender's signature (plain signxml, pinned to the agency certificate);
an unsigned one still gets the gateway's TraceHeader. SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib

import httpx
from cryptography.hazmat.primitives import serialization
from endpoints import endpoints, healthy
from gateway_support import G22, H41, document, fast_settings, register, send, settle
from signxml import XMLVerifier

from conftest import GatewayClient
from gateway.app import create_app
from gateway.edxml import parse_package
from trust.pki import agency_sign, strip_signatures


@contextlib.asynccontextmanager
async def verifying_gateway(settings):
    """gateway_support.gateway, but with the real signature check."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
            base_url="http://gateway.test",
        ) as http,
    ):
        yield GatewayClient(app, http)


async def test_pushed_signed_package_verifies_at_the_recipient(gateway_settings, pki, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(pki.bundle_pem())
    settings = fast_settings(gateway_settings, trust_bundle=bundle)
    signed = agency_sign(
        strip_signatures(document(1)), pki.agency_key, [pki.agency, pki.intermediate]
    )
    unsigned = document(2)
    async with endpoints(healthy) as (ep,), verifying_gateway(settings) as gw:
        keys = await register(gw, {H41: ep}, poll=())
        assert (await send(gw, keys[G22], signed))["signature_class"] == "signed-valid"
        await send(gw, keys[G22], unsigned)
        await settle(gw, 6, poll=("000.00.00.H14", "000.00.00.G17"))
        bodies = [a.body for a in ep.arrivals if 200 <= a.status < 300]
        assert len(bodies) == 2
    cert = pki.agency.public_bytes(serialization.Encoding.PEM).decode()
    assert signed in bodies  # byte for byte
    XMLVerifier().verify(bodies[bodies.index(signed)], x509_cert=cert)
    [pushed_unsigned] = [b for b in bodies if b != signed]
    assert parse_package(pushed_unsigned).trace.trace_headers[-1].organ_id == settings.node_code
