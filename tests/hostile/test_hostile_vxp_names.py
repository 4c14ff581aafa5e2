"""Issue 18 items 4 and 11 over the VXP face: a unit registered with a NUL in its name is a 4xx
(not a 500 on PostgreSQL), and one named `=HYPERLINK(…)` is text in the monthly report CSV."""

from __future__ import annotations

import csv
import io

from axis.sdk_client import SdkClient

H41, SUB, SUB2 = "000.00.00.H41", "000.01.00.H41", "000.02.00.H41"
FORMULA = '=HYPERLINK("http://attacker.example/","Bấm vào đây")'


async def h41_client(gw) -> SdkClient:
    await gw.add_agency(H41)
    admin = await gw.admin()
    r = await gw.http.post(
        "/api/v1/admin/systems", json={"name": "qlvb-h41", "agencies": [H41]}, headers=admin
    )
    assert r.status_code == 201, r.text
    system_id = r.json()["system"]["id"]
    r = await gw.http.post(f"/api/v1/admin/systems/{system_id}/vxp-secret", headers=admin)
    assert r.status_code == 201, r.text
    cred = r.json()
    # registering units is an administrative VXP operation (issue 18 item 7)
    r = await gw.http.patch(
        f"/api/v1/admin/systems/{system_id}/vxp-policy", json={"admin": True}, headers=admin
    )
    assert r.status_code == 200, r.text
    return SdkClient(gw.http, "/vxp", cred["vxp_system_id"], cred["secret"])


def unit(code: str, name: str) -> dict[str, str]:
    return {
        "id": "",
        "pcode": H41,
        "code": code,
        "name": name,
        "mail": "vp@h41.gov.vn",
        "mobile": "",
        "fax": "",
    }


async def test_vxp_unit_names(gw) -> None:
    h41 = await h41_client(gw)
    r = await h41.call("registerAgency", {}, body=_json(unit(SUB2, "Văn phòng\x00")))
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["ErrorCode"] == "BAD_REQUEST"
    assert await gw.count("agencies") == 1
    r = await h41.register_agency(unit(SUB, FORMULA))
    assert r["status"] == "OK", r
    r = await gw.http.get(
        "/api/v1/admin/reports/monthly",
        params={"month": "2026-10", "format": "csv"},
        headers=await gw.admin(),
    )
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    names = [row[rows[1].index("Tên cơ quan")] for row in rows[2:]]  # after the period line
    assert "'" + FORMULA in names


def _json(value: dict) -> bytes:
    import json

    return json.dumps(value, ensure_ascii=False).encode("utf-8")
