"""Agency administrator contacts (API, CSV import/export) and https-only push endpoints in
production (registration and delivery)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from gateway.audit.models import AuditEvent
from gateway.delivery.backoff import RetryPolicy
from gateway.delivery.breaker import EndpointGuard
from gateway.delivery.push import PushClient
from gateway.delivery.service import DeliveryHandler
from ops.ops_support import A80, H17
from outages.outage_support import Clock, FakeEndpoint, Harness

ADMIN = "/api/v1/admin/agencies"
CONTACT = {
    "contact_name": "Nguyễn Thị Hoa",
    "contact_position": "Chuyên viên quản trị hệ thống",
    "contact_email": "hoa.nt@stttt.example.gov.vn",
    "contact_phone": "0912 345 678",
}


async def test_contacts_through_the_admin_api(gw) -> None:
    created = await gw.add_agency("000.00.01.H99", **CONTACT)
    assert created["contact_name"] == "Nguyễn Thị Hoa"
    assert created["contact_phone"] == "+84912345678"  # stored in E.164
    r = await gw.http.patch(
        f"{ADMIN}/000.00.01.H99",
        json={"contact_phone": "+84 24 3823 4567", "contact_position": "Trưởng phòng"},
        headers=await gw.admin(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["contact_phone"] == "+842438234567"
    assert r.json()["contact_email"] == CONTACT["contact_email"]


async def test_bad_contacts_are_refused(gw) -> None:
    admin = await gw.admin()
    for bad in ({"contact_email": "hoa@"}, {"contact_phone": "123"}):
        r = await gw.http.post(
            ADMIN, json={"code": "000.00.02.H99", "name": "Sở X", **bad}, headers=admin
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "VALIDATION_FAILED"
    assert await gw.count("agencies") == 0


async def test_csv_export_round_trips_and_old_files_keep_contacts(gw) -> None:
    admin = await gw.admin()
    await gw.add_agency("000.00.01.H99", "Sở Thông tin và Truyền thông", **CONTACT)
    r = await gw.http.get(f"{ADMIN}/export.csv", headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    text = r.text
    header = text.splitlines()[0].split(",")
    assert header[-5:] == [
        "test_endpoint",
        "contact_name",
        "contact_position",
        "contact_email",
        "contact_phone",
    ]
    assert "Nguyễn Thị Hoa" in text  # UTF-8 kept
    # edit the export and import it back
    edited = text.replace("Nguyễn Thị Hoa", "Trần Văn Nam")
    r = await gw.http.post(
        f"{ADMIN}/import",
        content=edited.encode(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 1
    # an import file of the older format (no contact columns) leaves the contacts alone
    old = "code,name\n000.00.01.H99,Sở TT&TT\n"
    r = await gw.http.post(
        f"{ADMIN}/import", content=old.encode(), headers={**admin, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    agency = (await gw.http.get("/api/v1/agencies/000.00.01.H99", headers=admin)).json()
    assert agency["name"] == "Sở TT&TT"
    assert agency["contact_name"] == "Trần Văn Nam"
    assert agency["contact_phone"] == "+84912345678"


def production(gw) -> None:
    """The registry rules read the app's settings; production-only files are not needed."""
    state = gw.app.state
    state.settings = state.settings.model_copy(update={"environment": "production"})


async def test_production_refuses_plain_http_push_endpoints(gw) -> None:
    admin = await gw.admin()
    production(gw)
    plain = {
        "code": "000.00.03.H99",
        "name": "Sở Y tế",
        "delivery_mode": "push",
        "endpoint_url": "http://syt.example/edxml",
    }
    r = await gw.http.post(ADMIN, json=plain, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "PUSH_ENDPOINT_NOT_HTTPS"
    assert "https" in r.json()["error"]["message"]
    assert await gw.count("agencies") == 0

    r = await gw.http.post(
        ADMIN, json={**plain, "endpoint_url": "https://syt.example/edxml"}, headers=admin
    )
    assert r.status_code == 201, r.text
    r = await gw.http.patch(
        f"{ADMIN}/000.00.03.H99", json={"endpoint_url": "HTTP://syt.example/x"}, headers=admin
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "PUSH_ENDPOINT_NOT_HTTPS"
    # an operator marks it as a test endpoint: plain http allowed, and audited
    r = await gw.http.patch(
        f"{ADMIN}/000.00.03.H99",
        json={"endpoint_url": "http://syt.example/x", "test_endpoint": True},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["test_endpoint"] is True
    async with gw.db.sessionmaker() as s:
        data = await s.scalar(
            select(AuditEvent.data)
            .where(AuditEvent.action == "agency.updated")
            .order_by(AuditEvent.seq.desc())
        )
    assert data["test_endpoint"] is True

    csv = "code,name,delivery_mode,endpoint_url\n000.00.04.H99,Sở GD,push,http://sgd.example/\n"
    r = await gw.http.post(
        f"{ADMIN}/import", content=csv.encode(), headers={**admin, "Content-Type": "text/csv"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["findings"][0]["path"] == "1/endpoint_url"
    assert await gw.count("agencies") == 1


async def test_development_still_accepts_plain_http(gw) -> None:
    created = await gw.add_agency(
        "000.00.05.H99", delivery_mode="push", endpoint_url="http://localhost:9000/edxml"
    )
    assert created["test_endpoint"] is False


async def _harness(gw, settings) -> Harness:
    clock = Clock(datetime(2026, 11, 19, 3, 0, tzinfo=UTC))
    gw.app.state.clock = clock
    keys = await gw.setup(A80)
    await gw.add_agency(H17, delivery_mode="push", endpoint_url="http://h17.example/edxml")
    endpoint = FakeEndpoint(status=200)
    handler = DeliveryHandler(
        gw.db,
        settings,
        client=PushClient(transport=httpx.MockTransport(endpoint)),
        guard=EndpointGuard(failure_threshold=1000),
        policy=RetryPolicy(tiers=(timedelta(seconds=30),)),
        clock=clock,
    )
    return Harness(gw, clock, endpoint, handler, keys[A80])


async def test_production_does_not_push_to_plain_http_registered_earlier(make_gateway) -> None:
    gw = await make_gateway(relay_in_process=False, worker_in_process=False)
    prod = gw.app.state.settings.model_copy(update={"environment": "production"})
    h = await _harness(gw, prod)
    delivery_id = await h.send(1)
    [(_, result)] = await h.deliver()
    assert result.kind == "dead"
    assert h.endpoint.pushed == []  # nothing crossed the network in clear
    copy = await h.delivery(delivery_id)
    assert copy.state == "failed" and "https" in (copy.last_error or "")


async def test_test_endpoint_is_pushed_over_http_in_production(make_gateway) -> None:
    gw = await make_gateway(relay_in_process=False, worker_in_process=False)
    prod = gw.app.state.settings.model_copy(update={"environment": "production"})
    h = await _harness(gw, prod)
    r = await gw.http.patch(
        f"{ADMIN}/{H17}", json={"test_endpoint": True}, headers=await gw.admin()
    )
    assert r.status_code == 200, r.text
    delivery_id = await h.send(1)
    await h.deliver()
    assert len(h.endpoint.pushed) == 1
    assert (await h.delivery(delivery_id)).state == "delivered"


async def test_export_neutralises_formulas_and_import_reads_them_back(gw) -> None:
    """An agency name registered as a formula (e.g. over VXP) is exported as text a spreadsheet
    will not run, and the same file imported back keeps the name exactly."""
    admin = await gw.admin()
    await gw.add_agency("000.00.01.H98", '=HYPERLINK("http://evil.example","Sở")')
    text = (await gw.http.get(f"{ADMIN}/export.csv", headers=admin)).text
    assert "'=HYPERLINK" in text
    assert not any(cell.startswith("=") for line in text.splitlines() for cell in line.split(","))
    r = await gw.http.post(
        f"{ADMIN}/import", content=text.encode(), headers={**admin, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    agency = (await gw.http.get("/api/v1/agencies/000.00.01.H98", headers=admin)).json()
    assert agency["name"] == '=HYPERLINK("http://evil.example","Sở")'
