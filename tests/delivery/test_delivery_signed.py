"""Issue 13 item 1 for push: a signed package reaches the recipient's endpoint byte for byte
and verifies with the sender's signature (plain signxml, pinned to the agency certificate);
an unsigned one still gets the gateway's TraceHeader. SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from endpoints import endpoints, healthy
from gateway_support import (
    G22,
    H41,
    document,
    fast_settings,
    gateway,
    register,
    send,
    settle,
)
from signxml import XMLVerifier

from conftest import GatewayClient
from gateway.app import create_app
from gateway.delivery import repository
from gateway.edxml import parse_package, relay_bytes
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


@pytest.mark.parametrize("read", ["inline", "in slices"])
async def test_what_arrives_is_the_stored_package_as_relayed(
    gateway_settings, pki, monkeypatch, read
):
    """Issue 14: the worker streams the stored bytes (read in one piece, or — a large
    package — in slices into one buffer) around the inserted TraceHeader; the recipient gets
    exactly `relay_bytes` of what was sent (signed: byte for byte), with its Content-Length."""
    if read == "in slices":  # these ~10 KB packages count as large: 1000-byte slices
        monkeypatch.setattr(repository, "INLINE_BYTES", 4096)
        monkeypatch.setattr(repository, "SLICE_BYTES", 1000)
    settings = fast_settings(gateway_settings)
    signed = agency_sign(
        strip_signatures(document(1)), pki.agency_key, [pki.agency, pki.intermediate]
    )
    unsigned = document(2)
    assert min(len(signed), len(unsigned)) > 4096
    async with endpoints(healthy) as (ep,), gateway(settings) as gw:
        keys = await register(gw, {H41: ep}, poll=())
        await send(gw, keys[G22], signed)
        await send(gw, keys[G22], unsigned)
        await settle(gw, 6, poll=("000.00.00.H14", "000.00.00.G17"))
        arrivals = [a for a in ep.arrivals if 200 <= a.status < 300]
    assert len(arrivals) == 2
    for arrival in arrivals:
        assert arrival.headers["content-length"] == str(len(arrival.body))
        assert "transfer-encoding" not in arrival.headers
    bodies = [a.body for a in arrivals]
    assert signed in bodies  # byte for byte
    [pushed] = [b for b in bodies if b != signed]
    stamp = parse_package(pushed).trace.trace_headers[-1].timestamp  # the push's moment
    moment = datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S").replace(
        tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")
    )
    assert pushed == relay_bytes(unsigned, settings.node_code, moment)
