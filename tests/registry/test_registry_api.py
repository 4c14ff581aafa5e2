"""The admin API and the agency directory (both backends)."""

from __future__ import annotations

import json

from gateway.registry.cli import example_registry


async def test_admin_agency_crud(gw):
    admin = await gw.admin()
    r = await gw.http.post(
        "/api/v1/admin/agencies",
        json={"code": "000.00.00.H99", "name": "Ủy ban nhân dân tỉnh Mẫu"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["level"] == 1
    r = await gw.http.post(
        "/api/v1/admin/agencies",
        json={"code": "000.00.11.H99", "name": "Sở Tài chính", "parent_code": "000.00.00.H99"},
        headers=admin,
    )
    assert r.json()["level"] == 2
    assert r.json()["created_at"].endswith("+07:00")
    dup = await gw.http.post(
        "/api/v1/admin/agencies", json={"code": "000.00.11.H99", "name": "x"}, headers=admin
    )
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "CONFLICT"
    bad = await gw.http.post(
        "/api/v1/admin/agencies",
        json={"code": "000.00.12.H99", "name": "x", "parent_code": "000.00.00.H00"},
        headers=admin,
    )
    assert bad.status_code == 422
    push_no_url = await gw.http.post(
        "/api/v1/admin/agencies",
        json={"code": "000.00.12.H99", "name": "x", "delivery_mode": "push"},
        headers=admin,
    )
    assert push_no_url.status_code == 422
    assert push_no_url.json()["error"]["code"] == "VALIDATION_FAILED"

    r = await gw.http.patch(
        "/api/v1/admin/agencies/000.00.11.H99",
        json={"name": "Sở Tài chính tỉnh Mẫu"},
        headers=admin,
    )
    assert r.status_code == 200 and r.json()["name"] == "Sở Tài chính tỉnh Mẫu"
    assert (
        await gw.http.patch("/api/v1/admin/agencies/nope", json={}, headers=admin)
    ).status_code == 404

    page = (await gw.http.get("/api/v1/agencies", params={"q": "Tài chính"}, headers=admin)).json()
    assert [a["code"] for a in page["items"]] == ["000.00.11.H99"]
    one = await gw.http.get("/api/v1/agencies/000.00.11.H99", headers=admin)
    assert one.json()["parent_code"] == "000.00.00.H99"
    assert (await gw.http.get("/api/v1/agencies/000.00.99.H99", headers=admin)).status_code == 404


async def test_admin_requires_operator_and_admin_role(gw):
    keys = await gw.setup("000.00.00.A80")
    system = keys["000.00.00.A80"]
    # a system key cannot use the admin API
    r = await gw.get("/api/v1/admin/systems", system)
    assert r.status_code == 403
    # no key at all
    assert (await gw.http.get("/api/v1/admin/systems")).status_code == 401
    # a plain operator may read but not write
    from gateway.registry.service import RegistryService

    async with gw.db.sessionmaker() as s:
        _, op_key = await RegistryService(s, "test").create_operator("viewer", "operator")
        await s.commit()
    assert (await gw.get("/api/v1/admin/systems", op_key)).status_code == 200
    r = await gw.post("/api/v1/admin/agencies", op_key, json={"code": "X1", "name": "x"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"


async def test_import_csv_and_json(gw):
    admin = await gw.admin()
    r = await gw.http.post(
        "/api/v1/admin/agencies/import",
        content=example_registry(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["created"] == result["total"] >= 40
    # levels inferred from the 2016 code form, hierarchy linked
    commune = (await gw.http.get("/api/v1/agencies/000.21.31.H99", headers=admin)).json()
    assert commune["level"] == 3 and commune["parent_code"] == "000.00.31.H99"
    assert commune["name"].startswith("Ủy ban nhân dân")
    merged = (await gw.http.get("/api/v1/agencies/000.22.33.H99", headers=admin)).json()
    assert merged["active"] is False and merged["superseded_by"] == "000.24.33.H99"
    # again: everything is an update
    again = await gw.http.post(
        "/api/v1/admin/agencies/import",
        content=example_registry(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert again.json()["created"] == 0 and again.json()["updated"] == result["total"]

    rows = [
        {
            "code": "000.00.40.H99",
            "name": "Ban Quản lý khu kinh tế",
            "parent_code": "000.00.00.H99",
        },
        {"code": "000.01.40.H99", "name": "Phòng Quản lý đầu tư", "parent_code": "000.00.40.H99"},
    ]
    r = await gw.http.post(
        "/api/v1/admin/agencies/import",
        content=json.dumps(rows[::-1]),  # children before parents is fine
        headers={**admin, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    child = (await gw.http.get("/api/v1/agencies/000.01.40.H99", headers=admin)).json()
    assert child["level"] == 3


async def test_import_reports_every_bad_row_and_writes_nothing(gw):
    admin = await gw.admin()
    csv = (
        "code,name,parent_code\n"
        "000.00.00.H98,Tỉnh thử,\n"
        "bad code!,Sai mã,\n"
        "000.00.01.H98,,000.00.00.H98\n"
        "000.00.02.H98,Thiếu cha,000.00.77.H98\n"
    ).encode()
    r = await gw.http.post(
        "/api/v1/admin/agencies/import", content=csv, headers={**admin, "Content-Type": "text/csv"}
    )
    assert r.status_code == 422
    findings = r.json()["error"]["findings"]
    assert len(findings) == 3
    assert await gw.count("agencies") == 0
    wrong_type = await gw.http.post(
        "/api/v1/admin/agencies/import",
        content=b"x",
        headers={**admin, "Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415


async def test_systems_and_keys(gw):
    await gw.add_agency("000.00.11.H99", "Sở Tài chính")
    await gw.add_agency("000.00.12.H99", "Sở Tài nguyên")
    admin = await gw.admin()
    r = await gw.http.post(
        "/api/v1/admin/systems",
        json={"name": "qlvb-stc", "agencies": ["000.00.11.H99", "000.00.12.H99"]},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["api_key"]
    assert key.startswith("gw_") and len(key) > 40
    assert created["system"]["keys"][0]["prefix"] == key[:12]
    me = (await gw.get("/api/v1/me", key)).json()
    assert me["kind"] == "system" and me["agencies"] == ["000.00.11.H99", "000.00.12.H99"]
    # bound to several agencies: the inbox needs ?agency=
    r = await gw.get("/api/v1/inbox", key)
    assert r.status_code == 422
    assert (
        await gw.get("/api/v1/inbox", key, params={"agency": "000.00.12.H99"})
    ).status_code == 200
    # the key itself is never stored
    from sqlalchemy import text

    async with gw.db.engine.connect() as conn:
        hashes = (await conn.execute(text("SELECT key_hash FROM api_keys"))).scalars().all()
    assert key not in hashes
    dup = await gw.http.post(
        "/api/v1/admin/systems",
        json={"name": "qlvb-stc", "agencies": ["000.00.11.H99"]},
        headers=admin,
    )
    assert dup.status_code == 409
    unknown = await gw.http.post(
        "/api/v1/admin/systems", json={"name": "x", "agencies": ["000.00.99.H99"]}, headers=admin
    )
    assert unknown.status_code == 422
    shown = await gw.http.get(f"/api/v1/admin/systems/{created['system']['id']}", headers=admin)
    assert shown.json()["name"] == "qlvb-stc"
