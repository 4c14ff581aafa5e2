"""SQL and HTML injection in every text field an operator sees (Subject, OrganName,
Description, CodeNotation, AttachmentName, StaffInfo): the packages are legitimate edXML, so
they are accepted — and stored verbatim (parameterised SQL, no table dropped, nothing
truncated or "sanitised"), returned verbatim by the API, and rendered escaped by the dashboard
when there is one."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import text

from conftest import rewrite, sample_bytes
from gateway.audit.service import chain_and_verify

# imported at collection time: later, the name `conftest` may point at tests/trust/conftest.py
from ops.ops_support import logged_in

A80, H17 = "000.00.00.A80", "28.22.H17"
SQL = "'); DROP TABLE packages;--"
HTML = "<script>alert(1)</script>"
BOTH = f"{SQL} {HTML}"


def x(value: str) -> str:
    """As it must be written inside XML text."""
    return html.escape(value, quote=False)


def injected_document() -> bytes:
    data = sample_bytes("edoc_new.edxml")
    data = rewrite(
        data,
        "<edXML:Subject>V/v kết nối, liên thông phần mềm quản lý văn bản</edXML:Subject>",
        f"<edXML:Subject>{x(BOTH)}</edXML:Subject>",
    )
    data = rewrite(
        data,
        "<edXML:OrganName>UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng",
        f"<edXML:OrganName>{x(BOTH)}",
    )
    data = rewrite(data, "<edXML:CodeNotation>VPCP-TTĐT", f"<edXML:CodeNotation>{x(SQL)}")
    data = rewrite(data, "<edXML:Department>Văn thư văn phòng", f"<edXML:Department>{x(HTML)}")
    data = rewrite(data, "<edXML:Staff>Nguyễn Thị Ngọc Trâm", f"<edXML:Staff>{x(SQL)}")
    name = "1896_QD-TTg_m_294779.doc"
    # markup without "/": a name with a path separator is refused (ATTACHMENT_NAME_UNSAFE)
    evil = f"{x(SQL)}{x('<img src=x onerror=alert(1)>')}.doc"
    return rewrite(rewrite(data, name, evil, 2), f"<AttachmentName>{name}", "<AttachmentName>x")


def injected_status() -> bytes:
    data = sample_bytes("status.edxml")
    data = rewrite(
        data,
        "<edXML:OrganId>000.00.00.H41</edXML:OrganId>",
        f"<edXML:OrganId>{H17}</edXML:OrganId>",
    )
    data = rewrite(
        data,
        "<edXML:OrganId>000.00.00.G22</edXML:OrganId>",
        f"<edXML:OrganId>{A80}</edXML:OrganId>",
    )
    data = rewrite(data, "<edXML:Description>Văn thư", f"<edXML:Description>{x(BOTH)}")
    return rewrite(data, "<edXML:Department>Văn thư văn phòng", f"<edXML:Department>{x(HTML)}")


async def test_injection_is_stored_and_returned_verbatim(gw) -> None:
    keys = await gw.setup(A80, H17)
    document = injected_document()
    r = await gw.post_package(document, keys[A80])
    assert r.status_code == 202, r.text
    package_id = r.json()["package_id"]
    status = injected_status()
    r = await gw.post_package(status, keys[H17])
    assert r.status_code == 202, r.text
    status_id = r.json()["package_id"]

    # every table is still there and the rows hold the text exactly
    assert await gw.count("packages") == 2
    async with gw.db.engine.connect() as conn:
        result = await conn.execute(text("SELECT id, subject FROM packages"))
        rows = {row[0]: row[1] for row in result}
        raw = (
            await conn.execute(text("SELECT raw FROM packages WHERE id = :id"), {"id": package_id})
        ).scalar_one()
    assert rows[package_id] == BOTH
    assert rows[status_id].startswith(BOTH)
    assert bytes(raw) == document

    timeline = (await gw.get(f"/api/v1/packages/{package_id}/timeline", keys[A80])).json()
    assert timeline["package"]["subject"] == BOTH
    assert SQL in timeline["package"]["code"]
    inbox = (await gw.get("/api/v1/inbox", keys[H17])).json()
    assert inbox["items"][0]["subject"] == BOTH
    fetched = await gw.get(f"/api/v1/packages/{package_id}", keys[H17])
    assert fetched.status_code == 200
    assert x(HTML).encode() in fetched.content  # still XML-escaped in the bytes handed on

    # the audit chain still verifies
    chain = await chain_and_verify(gw.db)
    assert chain.ok and chain.checked >= 2, chain


async def test_dashboard_renders_injected_text_escaped(gw) -> None:
    paths = {getattr(route, "path", "") for route in gw.app.routes}
    if not any(p.startswith("/dashboard") for p in paths):
        pytest.skip("no /dashboard routes in this build (gateway.ops dashboard not present)")

    keys = await gw.setup(A80, H17)
    r = await gw.post_package(injected_document(), keys[A80])
    assert r.status_code == 202, r.text
    package_id = r.json()["package_id"]
    r = await gw.post_package(injected_status(), keys[H17])
    assert r.status_code == 202, r.text
    await logged_in(gw, "hostile-op")
    escaped = html.escape(HTML)  # &lt;script&gt;alert(1)&lt;/script&gt;
    for page in ("/dashboard/", "/dashboard/packages", f"/dashboard/packages/{package_id}"):
        r = await gw.http.get(page)
        assert r.status_code == 200, (page, r.status_code)
        assert HTML not in r.text, page  # never rendered as markup
        if page != "/dashboard/":
            assert escaped in r.text, page  # but shown, escaped
            assert "DROP TABLE packages;--" in r.text, page  # and the SQL text verbatim
    assert await gw.count("packages") == 2
