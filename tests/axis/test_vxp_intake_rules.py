"""Status rules and exclusions (gateway.packages) hold on the VXP sendEdoc route too."""

from __future__ import annotations

from sdk_client import SdkClient

from conftest import original_from_g22, rewrite, sample_bytes

G22, H41, H14, G17 = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
H99 = "000.00.02.H99"


async def test_same_rules_on_the_vxp_route(gw):
    keys = await gw.setup(G22, H41, H14, G17)
    assert (await gw.post_package(original_from_g22(), keys[G22])).status_code == 202
    await gw.add_agency(H99)
    r = await gw.http.post(
        "/api/v1/admin/systems",
        json={"name": "vxp-h99", "agencies": [H99]},
        headers=await gw.admin(),
    )
    system_id = r.json()["system"]["id"]
    r = await gw.http.post(
        f"/api/v1/admin/systems/{system_id}/vxp-secret", headers=await gw.admin()
    )
    cred = r.json()
    client = SdkClient(gw.http, "/vxp", cred["vxp_system_id"], cred["secret"])
    header = {"from": H99, "servicetype": "eDoc", "messagetype": "status"}
    answer = await client.send_edoc(
        header,
        rewrite(
            sample_bytes("status_acceptance_03.edxml"),
            f"<edXML:OrganId>{H41}</edXML:OrganId>",
            f"<edXML:OrganId>{H99}</edXML:OrganId>",
        ),
    )
    assert (answer["status"], answer["ErrorCode"]) == ("FAIL", "STATUS_SENDER_NOT_PARTY")
    assert await gw.count("packages") == 1


async def test_secret_document_is_refused_over_vxp(gw):
    await gw.add_agency(G22)
    for code in (H41, H14, G17):
        await gw.add_agency(code)
    r = await gw.http.post(
        "/api/v1/admin/systems",
        json={"name": "vxp-g22", "agencies": [G22]},
        headers=await gw.admin(),
    )
    system_id = r.json()["system"]["id"]
    r = await gw.http.post(
        f"/api/v1/admin/systems/{system_id}/vxp-secret", headers=await gw.admin()
    )
    cred = r.json()
    client = SdkClient(gw.http, "/vxp", cred["vxp_system_id"], cred["secret"])
    secret = rewrite(
        original_from_g22(),
        "<edXML:SphereOfPromulgation>Liên thông văn bản quốc gia</edXML:SphereOfPromulgation>",
        "<edXML:SphereOfPromulgation>Tuyệt mật</edXML:SphereOfPromulgation>",
    )
    header = {"from": G22, "servicetype": "eDoc", "messagetype": "edoc"}
    answer = await client.send_edoc(header, secret)
    assert (answer["status"], answer["ErrorCode"]) == ("FAIL", "DOCUMENT_EXCLUDED")
    assert "SphereOfPromulgation" in answer["ErrorDesc"]
    assert await gw.count("packages") == 0
