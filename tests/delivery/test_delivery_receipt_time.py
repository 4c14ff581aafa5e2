"""A pushed copy enters the recipient's system at the endpoint's 2xx: that moment and the legal
receipt time computed from it are recorded per copy (both backends, embedded queue)."""

from __future__ import annotations

from endpoints import endpoints, healthy
from gateway_support import G22, H41, document, fast_settings, gateway, register, send, settle


async def test_push_copy_enters_at_the_endpoints_2xx(gateway_settings):
    settings = fast_settings(gateway_settings)
    async with endpoints(healthy) as (endpoint,), gateway(settings) as gw:
        keys = await register(gw, {H41: endpoint})
        body = await send(gw, keys[G22], document(1))
        rows = await settle(gw, 3, poll=[c for c in keys if c not in (G22, H41)])
        [pushed] = [d for d in rows if d.recipient_code == H41]
        assert pushed.state == "delivered"
        assert pushed.entered_via == "push"
        assert pushed.entered_at == pushed.delivered_at
        assert pushed.entered_legal_at == gw.app.state.calendar.legal_receipt_time(
            pushed.entered_at
        )
        # copies still waiting in an inbox have not entered anything yet
        assert all(d.entered_at is None for d in rows if d.recipient_code != H41)
        tl = (await gw.get(f"/api/v1/packages/{body['package_id']}/timeline", keys[G22])).json()
        copy = next(r for r in tl["recipients"] if r["recipient"] == H41)
        assert copy["entered_via"] == "push" and copy["entered_legal_at"]
