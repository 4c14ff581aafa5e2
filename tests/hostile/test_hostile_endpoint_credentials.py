"""Issue 18 item 12: credentials embedded in a push endpoint_url are sealed like the push secret
and redacted everywhere else (API, database column, audit trail), on both backends; the worker
still pushes to the complete URL."""

from __future__ import annotations

from sqlalchemy import select, text

from gateway.registry.endpoint_secret import push_url, redact
from gateway.registry.models import Agency

A80, H41 = "000.00.00.A80", "000.00.00.H41"
PASSWORD = "mật-khẩu-p4ss"
URL = f"https://qlvb:{PASSWORD}@h41.example.gov.vn:8443/nhan?x=1"
URL_QUOTED = "https://qlvb:m%E1%BA%ADt-kh%E1%BA%A9u-p4ss@h41.example.gov.vn:8443/nhan?x=1"
SHOWN = "https://***@h41.example.gov.vn:8443/nhan?x=1"


def test_redact() -> None:
    assert redact(URL) == SHOWN
    assert redact("https://token@host/") == "https://***@host/"
    assert redact("https://host/p?q=1") == "https://host/p?q=1"
    assert redact(None) is None


async def audit_text(gw) -> str:
    async with gw.db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM audit_events"))).all()
    return repr(rows)


async def stored(gw, code: str) -> Agency:
    async with gw.db.sessionmaker() as session:
        return (await session.scalars(select(Agency).where(Agency.code == code))).one()


async def test_credentials_in_endpoint_url_are_sealed(gw) -> None:
    admin = await gw.admin()
    box = gw.app.state.settings.secret_box()
    for url in (URL, URL_QUOTED):
        code = H41 if url == URL else A80
        r = await gw.http.post(
            "/api/v1/admin/agencies",
            json={"code": code, "name": "x", "delivery_mode": "push", "endpoint_url": url},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        assert r.json()["endpoint_url"].startswith("https://***@h41.example.gov.vn:8443/")
        assert "p4ss" not in r.text
        agency = await stored(gw, code)
        assert "p4ss" not in agency.endpoint_url
        assert agency.endpoint_url_sealed and "p4ss" not in agency.endpoint_url_sealed
        assert push_url(agency.endpoint_url, agency.endpoint_url_sealed, box) == url
    # changed by PATCH, and by import: sealed again; to a plain URL: the seal goes
    r = await gw.http.patch(
        f"/api/v1/admin/agencies/{H41}",
        json={"endpoint_url": URL.replace("nhan", "moi")},
        headers=admin,
    )
    assert r.status_code == 200 and "p4ss" not in r.text
    agency = await stored(gw, H41)
    assert push_url(agency.endpoint_url, agency.endpoint_url_sealed, box).endswith("/moi?x=1")
    csv_text = f"code,name,delivery_mode,endpoint_url\n{A80},x,push,{URL}\n"
    r = await gw.http.post(
        "/api/v1/admin/agencies/import",
        content=csv_text.encode(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    agency = await stored(gw, A80)
    assert "p4ss" not in agency.endpoint_url
    assert push_url(agency.endpoint_url, agency.endpoint_url_sealed, box) == URL
    r = await gw.http.patch(
        f"/api/v1/admin/agencies/{H41}",
        json={"endpoint_url": "https://h41.example.gov.vn/nhan"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    agency = await stored(gw, H41)
    assert agency.endpoint_url_sealed is None
    assert push_url(agency.endpoint_url, None, box) == "https://h41.example.gov.vn/nhan"
    # the audit trail never saw the password
    trail = await audit_text(gw)
    assert "agency.created" in trail and "***@h41" in trail
    assert "p4ss" not in trail and "m%E1%BA%ADt" not in trail
    # the directory shows the redacted form too
    r = await gw.http.get(f"/api/v1/agencies/{A80}", headers=admin)
    assert "p4ss" not in r.text
