"""Intake, inbox, fetch, acknowledge and timeline through the HTTP API (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from lxml import etree
from sqlalchemy import text

from conftest import SAMPLE_DOCUMENT_ID, rewrite, sample_bytes
from gateway.edxml import validate_package
from gateway.packages import intake_store
from gateway.packages.repository import PackageRepository

A80, H17 = "000.00.00.A80", "28.22.H17"
NS = {"e": "http://www.mic.gov.vn/TBT/QCVN_102_2016"}


@pytest.fixture
async def pair(gw):
    return await gw.setup(A80, H17)


async def test_send_poll_fetch_ack_timeline(gw, pair):
    raw = sample_bytes("edoc_new.edxml")
    r = await gw.post_package(raw, pair[A80])
    assert r.status_code == 202, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    package_id = body["package_id"]
    [delivery] = body["deliveries"]
    assert delivery["recipient"] == H17
    assert body["duplicate"] is False and body["rerouted"] == []

    # the recipient polls its inbox
    inbox = (await gw.get("/api/v1/inbox", pair[H17])).json()
    assert inbox["agency"] == H17
    [item] = inbox["items"]
    assert item["delivery_id"] == delivery["delivery_id"]
    assert item["package_id"] == package_id
    assert item["state"] == "pending"
    assert item["sender"] == A80
    assert item["document_id"] == SAMPLE_DOCUMENT_ID
    assert item["subject"] == "V/v kết nối, liên thông phần mềm quản lý văn bản"
    assert item["sha256"] == hashlib.sha256(raw).hexdigest()
    assert inbox["next_cursor"] is None

    # fetch: the original with the gateway's TraceHeader appended
    got = await gw.get(item["href"], pair[H17])
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/xml")
    assert got.headers["x-delivery-id"] == delivery["delivery_id"]
    tree = etree.fromstring(got.content)
    traces = tree.findall(".//e:TraceHeaderList/e:TraceHeader", NS)
    assert [t.findtext("e:OrganId", namespaces=NS) for t in traces] == [
        "000.00.00.G22",
        gw.app.state.settings.node_code,
    ]
    assert validate_package(got.content).ok
    # the stored bytes are untouched
    async with gw.db.sessionmaker() as s:
        stored = await PackageRepository(s).get(package_id, with_raw=True)
        assert stored.raw == raw

    # fetched → delivered, then acknowledged; a repeated ack is harmless
    ack = await gw.post(f"/api/v1/deliveries/{delivery['delivery_id']}/ack", pair[H17])
    assert ack.status_code == 200, ack.text
    assert ack.json()["already_acknowledged"] is False
    again = await gw.post(f"/api/v1/deliveries/{delivery['delivery_id']}/ack", pair[H17])
    assert again.status_code == 200
    assert again.json()["already_acknowledged"] is True
    assert again.json()["acknowledged_at"] == ack.json()["acknowledged_at"]

    # acknowledged copies leave the default inbox view
    assert (await gw.get("/api/v1/inbox", pair[H17])).json()["items"] == []
    done = await gw.get("/api/v1/inbox", pair[H17], params={"state": "acknowledged"})
    assert len(done.json()["items"]) == 1

    tl = await gw.get(f"/api/v1/packages/{package_id}/timeline", pair[A80])
    assert tl.status_code == 200, tl.text
    timeline = tl.json()
    [rec] = timeline["recipients"]
    assert rec["recipient"] == H17 and rec["state"] == "acknowledged"
    for field in ("queued_at", "sent_at", "delivered_at", "acknowledged_at", "legal_received_at"):
        assert rec[field] and rec[field].endswith("+07:00"), field
    assert rec["attempts"] == 1
    assert rec["last_error"] is None
    assert timeline["package"]["subject"] == item["subject"]
    assert timeline["package"]["size"] == len(raw)


async def test_one_transaction_writes_everything(gw, pair):
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), pair[A80])
    assert r.status_code == 202
    assert await gw.count("packages") == 1
    assert await gw.count("deliveries") == 1
    # a poll copy is in its recipient's inbox at once: no job for relay and worker (issue 14)
    assert await gw.count("outbox") == 0
    events_before = await gw.count("audit_events")
    assert events_before >= 1


async def test_only_push_copies_are_queued(gw, pair):
    await gw.add_agency(
        "000.00.02.H98", delivery_mode="push", endpoint_url="https://qlvb.example/push"
    )
    raw = rewrite(
        sample_bytes("edoc_new.edxml"),
        "<edXML:OrganId>28.22.H17</edXML:OrganId>",
        "<edXML:OrganId>000.00.02.H98</edXML:OrganId>",
    )
    r = await gw.post_package(raw, pair[A80])
    assert r.status_code == 202, r.text
    sent = {d["recipient"]: d["delivery_id"] for d in r.json()["deliveries"]}
    assert set(sent) == {"000.00.02.H98"}
    async with gw.db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT topic, payload FROM outbox"))).all()
        priority = (await conn.execute(text("SELECT priority FROM packages"))).scalar_one()
    assert [(t, json.loads(p) if isinstance(p, str) else p) for t, p in rows] == [
        (
            "delivery.ready",
            {
                "delivery_id": sent["000.00.02.H98"],
                "package_id": r.json()["package_id"],
                "recipient": "000.00.02.H98",
                "kind": "document",
                "priority": priority or 0,
                "request_id": r.headers["X-Request-Id"],
            },
        )
    ]


async def test_idempotent_resubmission(gw, pair):
    raw = sample_bytes("edoc_new.edxml")
    first = await gw.post_package(raw, pair[A80])
    second = await gw.post_package(raw, pair[A80])
    assert first.status_code == second.status_code == 202
    a, b = first.json(), second.json()
    assert b["duplicate"] is True and b["same_content"] is True
    assert a["package_id"] == b["package_id"]
    assert a["deliveries"] == b["deliveries"]
    assert await gw.count("packages") == 1
    assert await gw.count("deliveries") == 1
    assert await gw.count("outbox") == 0
    # same (From, DocumentId, BussinessDocType) with other bytes: still the first result
    changed = rewrite(
        raw, "<edXML:Priority>0</edXML:Priority>", "<edXML:Priority>1</edXML:Priority>"
    )
    third = (await gw.post_package(changed, pair[A80])).json()
    assert third["package_id"] == a["package_id"]
    assert third["same_content"] is False
    # another DocumentId is another package
    other = rewrite(raw, SAMPLE_DOCUMENT_ID, "000.00.00.A80,2026/11/20,15/UBND-VP")
    fourth = (await gw.post_package(other, pair[A80])).json()
    assert fourth["package_id"] != a["package_id"]


async def test_concurrent_duplicates_give_one_package(gw, pair):
    raw = sample_bytes("edoc_new.edxml")
    results = await asyncio.gather(*(gw.post_package(raw, pair[A80]) for _ in range(4)))
    assert {r.status_code for r in results} == {202}
    ids = {r.json()["package_id"] for r in results}
    assert len(ids) == 1
    assert sum(1 for r in results if not r.json()["duplicate"]) == 1
    assert await gw.count("packages") == 1
    assert await gw.count("deliveries") == 1


async def test_crash_after_first_insert_leaves_nothing(gw, pair, monkeypatch):
    tables = ("packages", "deliveries", "outbox", "business_statuses", "audit_events")
    before = {t: await gw.count(t) for t in tables}

    async def boom(session, rows):
        raise RuntimeError("simulated crash after the package insert")

    monkeypatch.setattr(intake_store, "insert_rows", boom)
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), pair[A80])
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "INTERNAL_ERROR"
    assert {t: await gw.count(t) for t in tables} == before
    monkeypatch.undo()
    # and the same package goes through afterwards (no stale idempotency record)
    ok = await gw.post_package(sample_bytes("edoc_new.edxml"), pair[A80])
    assert ok.status_code == 202 and ok.json()["duplicate"] is False


async def test_vietnamese_round_trip(gw, pair):
    subject = "Về việc tăng cường ứng dụng CNTT — Đắk Lắk, Thừa Thiên Huế, Bà Rịa-Vũng Tàu"
    raw = rewrite(
        sample_bytes("edoc_new.edxml"),
        "<edXML:Subject>V/v kết nối, liên thông phần mềm quản lý văn bản</edXML:Subject>",
        f"<edXML:Subject>{subject}</edXML:Subject>",
    )
    r = await gw.post_package(raw, pair[A80])
    assert r.status_code == 202, r.text
    inbox = await gw.get("/api/v1/inbox", pair[H17])
    # raw UTF-8 in the JSON, not \u escapes
    assert subject.encode("utf-8") in inbox.content
    assert inbox.json()["items"][0]["subject"] == subject
    got = await gw.get(f"/api/v1/packages/{r.json()['package_id']}", pair[H17])
    assert subject.encode("utf-8") in got.content
    tl = await gw.get(f"/api/v1/packages/{r.json()['package_id']}/timeline", pair[A80])
    assert tl.json()["package"]["subject"] == subject


async def test_inbox_pagination_oldest_first_and_kind_filter(gw, pair):
    ids = []
    for n in range(5):
        raw = rewrite(
            sample_bytes("edoc_new.edxml"), SAMPLE_DOCUMENT_ID, f"000.00.00.A80,2026/11/20,{n}/VP"
        )
        r = await gw.post_package(raw, pair[A80])
        ids.append(r.json()["package_id"])
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await gw.get("/api/v1/inbox", pair[H17], params=params)).json()
        seen += [i["package_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    docs = await gw.get("/api/v1/inbox", pair[H17], params={"kind": "document"})
    assert len(docs.json()["items"]) == 5
    statuses = await gw.get("/api/v1/inbox", pair[H17], params={"kind": "status"})
    assert statuses.json()["items"] == []
    bad = await gw.get("/api/v1/inbox", pair[H17], params={"cursor": "???"})
    assert bad.status_code == 400


# ------------------------------------------------------------------------------ rejections


async def test_unknown_recipient_rejected_whole(gw):
    keys = await gw.setup(A80)
    raw = sample_bytes("edoc_new.edxml")
    r = await gw.post_package(raw, keys[A80])
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "RECIPIENT_UNKNOWN"
    assert err["details"]["unknown"] == [H17]
    assert await gw.count("packages") == 0


async def test_validation_failure_lists_findings(gw, pair):
    raw = rewrite(
        sample_bytes("edoc_new.edxml"),
        "<edXML:PromulgationDate>2019/01/16</edXML:PromulgationDate>",
        "<edXML:PromulgationDate>2019/13/45</edXML:PromulgationDate>",
    )
    r = await gw.post_package(raw, pair[A80])
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "VALIDATION_FAILED"
    assert err["findings"], err
    assert {"code", "severity", "message", "path", "line"} <= set(err["findings"][0])
    assert await gw.count("packages") == 0


async def test_malformed_xml_is_400(gw, pair):
    r = await gw.post_package(b"<edXML><unclosed></edXML>", pair[A80])
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "MALFORMED_XML"
    assert r.json()["error"]["findings"]


async def test_wrong_media_type_is_415(gw, pair):
    r = await gw.http.post(
        "/api/v1/packages",
        content=sample_bytes("edoc_new.edxml"),
        headers={"Authorization": f"Bearer {pair[A80]}", "Content-Type": "application/json"},
    )
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_body_size_limit(make_gateway):
    gw = await make_gateway(max_body_bytes=10_000)
    keys = await gw.setup(A80, H17)
    raw = sample_bytes("edoc_new.edxml")
    r = await gw.post_package(raw, keys[A80])
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

    # no Content-Length: the limit is enforced while streaming
    async def chunks():
        for i in range(0, len(raw), 4096):
            yield raw[i : i + 4096]

    r = await gw.http.post(
        "/api/v1/packages",
        content=chunks(),
        headers={"Authorization": f"Bearer {keys[A80]}", "Content-Type": "application/xml"},
    )
    assert r.status_code == 413
    assert await gw.count("packages") == 0


# ------------------------------------------------------------------------------ auth


async def test_auth_failures(gw, pair):
    raw = sample_bytes("edoc_new.edxml")
    # no key, wrong key, revoked-looking garbage
    r = await gw.http.post(
        "/api/v1/packages", content=raw, headers={"Content-Type": "application/xml"}
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "UNAUTHENTICATED"
    assert r.headers["www-authenticate"] == "Bearer"
    assert (await gw.post_package(raw, "gw_" + "x" * 43)).status_code == 401
    assert (await gw.post_package(raw, "not-a-key")).status_code == 401
    # X-API-Key works as well as Bearer
    r = await gw.http.get("/api/v1/me", headers={"X-API-Key": pair[A80]})
    assert r.status_code == 200 and r.json()["agencies"] == [A80]

    # sending as another agency
    r = await gw.post_package(raw, pair[H17])
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"
    assert await gw.count("packages") == 0

    sent = (await gw.post_package(raw, pair[A80])).json()
    # reading another agency's inbox
    r = await gw.get("/api/v1/inbox", pair[A80], params={"agency": H17})
    assert r.status_code == 403
    # the timeline is the sender's only
    r = await gw.get(f"/api/v1/packages/{sent['package_id']}/timeline", pair[H17])
    assert r.status_code == 403
    # acknowledging someone else's copy
    r = await gw.post(f"/api/v1/deliveries/{sent['deliveries'][0]['delivery_id']}/ack", pair[A80])
    assert r.status_code == 403
    # a third agency may not fetch the package
    await gw.add_agency("000.00.01.H99")
    third = await gw.add_system("qlvb-third", "000.00.01.H99")
    r = await gw.get(f"/api/v1/packages/{sent['package_id']}", third)
    assert r.status_code == 403
    # unknown ids
    assert (await gw.get("/api/v1/packages/nope", pair[A80])).status_code == 404
    assert (await gw.post("/api/v1/deliveries/nope/ack", pair[H17])).status_code == 404
    # an operator key cannot send packages (not bound to an agency)
    r = await gw.post_package(raw, await gw.admin_key())
    assert r.status_code == 403


async def test_revoked_key_and_inactive_system(gw, pair):
    admin = await gw.admin()
    systems = (await gw.http.get("/api/v1/admin/systems", headers=admin)).json()
    sys_a = next(s for s in systems if s["agencies"] == [A80])
    key_id = sys_a["keys"][0]["id"]
    r = await gw.http.delete(f"/api/v1/admin/systems/{sys_a['id']}/keys/{key_id}", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert (await gw.get("/api/v1/me", pair[A80])).status_code == 401

    r = await gw.http.patch(
        f"/api/v1/admin/systems/{sys_a['id']}", json={"active": False}, headers=admin
    )
    assert r.status_code == 200
    new = await gw.http.post(f"/api/v1/admin/systems/{sys_a['id']}/keys", json={}, headers=admin)
    assert new.status_code == 201
    assert (await gw.get("/api/v1/me", new.json()["api_key"])).status_code == 401


async def test_client_certificate_identity(make_gateway):
    gw = await make_gateway(client_cert_header="X-SSL-Client-SHA256")
    keys = await gw.setup(A80, H17)
    admin = await gw.admin()
    systems = (await gw.http.get("/api/v1/admin/systems", headers=admin)).json()
    sys_a = next(s for s in systems if s["agencies"] == [A80])
    fingerprint = "AB:" * 31 + "CD"
    r = await gw.http.post(
        f"/api/v1/admin/systems/{sys_a['id']}/certificates",
        json={"identity": fingerprint},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    me = await gw.http.get(
        "/api/v1/me", headers={"X-SSL-Client-SHA256": fingerprint.replace(":", "").lower()}
    )
    assert me.status_code == 200 and me.json()["agencies"] == [A80]
    unknown = await gw.http.get("/api/v1/me", headers={"X-SSL-Client-SHA256": "ff" * 32})
    assert unknown.status_code == 401
    assert keys  # keys still work alongside


async def test_client_certificate_header_from_untrusted_peer(make_gateway):
    gw = await make_gateway(client_cert_header="X-SSL-Client-SHA256", trusted_proxies=["10.0.0.1"])
    r = await gw.http.get("/api/v1/me", headers={"X-SSL-Client-SHA256": "ab" * 32})
    assert r.status_code == 401
