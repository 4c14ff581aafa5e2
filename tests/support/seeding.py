"""A small, realistic history for archive and backup tests: a document from G22 to three
recipients (fetched and acknowledged by all), a business status on it, and a document from A80
to H17 left pending."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from conftest import GatewayClient, original_from_g22, sample_bytes

G22, H41, H14, G17 = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
A80, H17 = "000.00.00.A80", "28.22.H17"


async def seed(gw: GatewayClient) -> dict[str, Any]:
    keys = await gw.setup(G22, H41, H14, G17, A80, H17)
    r = await gw.post_package(original_from_g22(), keys[G22])
    assert r.status_code == 202, r.text
    original = r.json()
    for code in (H41, H14, G17):
        got = await gw.get(f"/api/v1/packages/{original['package_id']}", keys[code])
        assert got.status_code == 200, got.text
        delivery = next(d for d in original["deliveries"] if d["recipient"] == code)
        ack = await gw.post(f"/api/v1/deliveries/{delivery['delivery_id']}/ack", keys[code])
        assert ack.status_code == 200, ack.text
    r = await gw.post_package(sample_bytes("status_acceptance_03.edxml"), keys[H41])
    assert r.status_code == 202 and r.json()["linked"], r.text
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])
    assert r.status_code == 202, r.text
    return {"keys": keys, "original": original, "other": r.json()}


@asynccontextmanager
async def running_gateway(settings: Any) -> AsyncIterator[GatewayClient]:
    """The app on `settings` with an in-process client (for tests without the fixtures)."""
    from gateway.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield GatewayClient(app, http)
