"""A VXP getEdoc is the moment a poll copy enters the recipient's system (gateway.packages)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sdk_client import SdkClient

from conftest import sample_bytes

VN = ZoneInfo("Asia/Ho_Chi_Minh")
A80, H17 = "000.00.00.A80", "28.22.H17"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


async def test_vxp_get_edoc_is_a_receipt(make_gateway):
    gw = await make_gateway()
    gw.app.state.clock = lambda: at("2026-11-19T16:59:00")
    keys = await gw.setup(A80)
    await gw.add_agency(H17)
    r = await gw.http.post(
        "/api/v1/admin/systems",
        json={"name": "vxp-h17", "agencies": [H17]},
        headers=await gw.admin(),
    )
    system_id = r.json()["system"]["id"]
    cred = (
        await gw.http.post(
            f"/api/v1/admin/systems/{system_id}/vxp-secret", headers=await gw.admin()
        )
    ).json()
    body = (await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])).json()
    gw.app.state.clock = lambda: at("2026-11-19T17:20:00")  # after closing time
    client = SdkClient(
        gw.http, "/vxp", cred["vxp_system_id"], cred["secret"], clock=lambda: gw.app.state.clock()
    )
    got = await client.call("getEdoc", {"docId": body["deliveries"][0]["delivery_id"]})
    assert got.json()["status"] == "OK", got.text
    tl = (await gw.get(f"/api/v1/packages/{body['package_id']}/timeline", keys[A80])).json()
    [copy] = tl["recipients"]
    assert copy["entered_via"] == "vxp"
    assert copy["entered_at"] == "2026-11-19T17:20:00+07:00"
    assert copy["entered_legal_at"] == "2026-11-20T07:30:00+07:00"
