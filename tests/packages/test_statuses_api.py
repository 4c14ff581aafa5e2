"""Business statuses, revoke / update / replace, rerouting to successors (both backends)."""

from __future__ import annotations

import pytest

from conftest import SAMPLE_DOCUMENT_ID, original_from_g22, rewrite, sample_bytes

G22, H41, H14, G17 = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
A80, H17 = "000.00.00.A80", "28.22.H17"

STATUS_SAMPLES = {
    "01": "status_inbox_01.edxml",
    "02": "status_rejection_02.edxml",
    "03": "status_acceptance_03.edxml",
    "04": "status_assignment_04.edxml",
    "05": "status_processing_05.edxml",
    "06": "status_finish_06.edxml",
    "15": "status_change-acceptance_15.edxml",
    "16": "status_change-rejection_16.edxml",
}


@pytest.fixture
async def keys(gw):
    return await gw.setup(G22, H41, H14, G17)


@pytest.fixture
async def original(gw, keys):
    r = await gw.post_package(original_from_g22(), keys[G22])
    assert r.status_code == 202, r.text
    return r.json()


def delivery_to(result: dict, code: str) -> str:
    return next(d["delivery_id"] for d in result["deliveries"] if d["recipient"] == code)


async def test_statuses_route_to_sender_and_land_on_timeline(gw, keys, original):
    for code in ("01", "03", "04", "05", "06"):
        r = await gw.post_package(sample_bytes(STATUS_SAMPLES[code]), keys[H41])
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["kind"] == "status"
        assert body["linked"] is True
        assert body["original_package_id"] == original["package_id"]
        [d] = body["deliveries"]
        assert d["recipient"] == G22  # ResponseFor/OrganId

    # the original sender polls the statuses
    inbox = (await gw.get("/api/v1/inbox", keys[G22], params={"kind": "status"})).json()
    assert [i["status_code"] for i in inbox["items"]] == ["01", "03", "04", "05", "06"]

    timeline = (
        await gw.get(f"/api/v1/packages/{original['package_id']}/timeline", keys[G22])
    ).json()
    by_recipient = {r["recipient"]: r for r in timeline["recipients"]}
    h41 = by_recipient[H41]
    assert [s["code"] for s in h41["statuses"]] == ["01", "03", "04", "05", "06"]
    first = h41["statuses"][0]
    assert first["label"] == "Đã đến"
    assert first["description"].startswith("Văn thư")
    assert first["timestamp"] == "2015/09/20 11:08:36"
    assert first["status_at"] == "2015-09-20T11:08:36+07:00"
    assert first["delivery_id"] == delivery_to(original, H41)
    assert by_recipient[H14]["statuses"] == []
    assert len(timeline["statuses"]) == 5


async def test_status_13_goes_from_sender_to_recipient(gw, keys, original):
    r = await gw.post_package(sample_bytes("status_cancellation_13.edxml"), keys[G22])
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["deliveries"][0]["recipient"] == H41
    assert body["linked"] is True
    inbox = (await gw.get("/api/v1/inbox", keys[H41], params={"kind": "status"})).json()
    assert [i["status_code"] for i in inbox["items"]] == ["13"]
    timeline = (
        await gw.get(f"/api/v1/packages/{original['package_id']}/timeline", keys[G22])
    ).json()
    h41 = next(r for r in timeline["recipients"] if r["recipient"] == H41)
    assert [(s["code"], s["sender"]) for s in h41["statuses"]] == [("13", G22)]
    # the recipient answers 15 (agrees)
    r = await gw.post_package(sample_bytes(STATUS_SAMPLES["15"]), keys[H41])
    assert r.json()["linked"] is True


async def test_status_13_must_come_from_the_original_sender(gw, keys, original):
    # H41 may not send the sender-only code 13 as if it were G22
    r = await gw.post_package(sample_bytes("status_cancellation_13.edxml"), keys[H41])
    assert r.status_code == 403


async def test_status_for_unknown_original_is_routed_unlinked(gw, keys):
    r = await gw.post_package(sample_bytes("status_acceptance_03.edxml"), keys[H41])
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["linked"] is False and body["original_package_id"] is None
    assert body["deliveries"][0]["recipient"] == G22
    inbox = (await gw.get("/api/v1/inbox", keys[G22], params={"kind": "status"})).json()
    assert len(inbox["items"]) == 1


async def test_status_from_non_party_is_not_recorded(gw, keys):
    # an agency that did not receive the original cannot put statuses on its timeline
    r = await gw.post_package(original_from_g22(), keys[G22])
    original = r.json()
    await gw.add_agency("000.00.02.H99")
    outsider = await gw.add_system("qlvb-outsider", "000.00.02.H99")
    status = rewrite(
        sample_bytes("status_acceptance_03.edxml"),
        f"<edXML:OrganId>{H41}</edXML:OrganId>",
        "<edXML:OrganId>000.00.02.H99</edXML:OrganId>",
    )
    r = await gw.post_package(status, outsider)
    assert r.status_code == 403, r.text  # refused outright (gateway.packages.status_rules)
    assert r.json()["error"]["code"] == "STATUS_SENDER_NOT_PARTY"
    timeline = (
        await gw.get(f"/api/v1/packages/{original['package_id']}/timeline", keys[G22])
    ).json()
    assert timeline["statuses"] == []


async def test_status_duplicate_is_idempotent(gw, keys, original):
    raw = sample_bytes(STATUS_SAMPLES["03"])
    a = (await gw.post_package(raw, keys[H41])).json()
    b = (await gw.post_package(raw, keys[H41])).json()
    assert a["package_id"] == b["package_id"] and b["duplicate"] is True
    assert await gw.count("business_statuses") == 1


async def test_revoke_cancels_undelivered_copies_only(gw, keys, original):
    # H41 fetches its copy before the revoke arrives; H14 and G17 do not
    fetched = await gw.get(f"/api/v1/packages/{original['package_id']}", keys[H41])
    assert fetched.status_code == 200
    r = await gw.post_package(sample_bytes("edoc_revocation.edxml"), keys[G22])
    assert r.status_code == 202, r.text
    revoke = r.json()
    [ref] = revoke["references"]
    assert ref["document_id"] == SAMPLE_DOCUMENT_ID
    assert ref["original_package_id"] == original["package_id"]
    assert sorted(ref["cancelled_deliveries"]) == sorted(
        [delivery_to(original, H14), delivery_to(original, G17)]
    )

    timeline = (
        await gw.get(f"/api/v1/packages/{original['package_id']}/timeline", keys[G22])
    ).json()
    states = {r["recipient"]: r["state"] for r in timeline["recipients"]}
    assert states == {H41: "delivered", H14: "cancelled", G17: "cancelled"}
    assert all(r["cancelled_at"] for r in timeline["recipients"] if r["state"] == "cancelled")
    [related] = timeline["related"]
    assert related["package_id"] == revoke["package_id"]
    assert related["business_type"] == 1
    assert related["label"] == "Thu hồi văn bản điện tử"

    # H14's inbox now holds only the revoke; the cancelled copy is gone and not fetchable
    inbox = (await gw.get("/api/v1/inbox", keys[H14])).json()
    assert [i["package_id"] for i in inbox["items"]] == [revoke["package_id"]]
    gone = await gw.get(f"/api/v1/packages/{original['package_id']}", keys[H14])
    assert gone.status_code == 404
    ack = await gw.post(f"/api/v1/deliveries/{delivery_to(original, H14)}/ack", keys[H14])
    assert ack.status_code == 409

    # the revoke's own timeline names the original
    rt = (await gw.get(f"/api/v1/packages/{revoke['package_id']}/timeline", keys[G22])).json()
    assert rt["references"][0]["original_package_id"] == original["package_id"]


async def test_revoke_by_another_agency_does_not_touch_the_original(gw, keys, original):
    # H41 "revokes" G22's document: first To H41 → G22, then From (first G22) → H41
    forged = rewrite(
        sample_bytes("edoc_revocation.edxml"),
        f"<edXML:OrganId>{H41}</edXML:OrganId>",
        f"<edXML:OrganId>{G22}</edXML:OrganId>",
    )
    forged = rewrite(
        forged, f"<edXML:OrganId>{G22}</edXML:OrganId>", f"<edXML:OrganId>{H41}</edXML:OrganId>"
    )
    r = await gw.post_package(forged, keys[H41])
    assert r.status_code == 202, r.text
    assert r.json()["references"][0]["original_package_id"] is None
    timeline = (
        await gw.get(f"/api/v1/packages/{original['package_id']}/timeline", keys[G22])
    ).json()
    assert {r["state"] for r in timeline["recipients"]} == {"pending"}
    assert timeline["related"] == []


async def test_update_and_replace_show_on_the_original_timeline(gw, keys):
    update = sample_bytes("edoc_update.edxml")
    replace = sample_bytes("edoc_replacement.edxml")
    update_target = "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"
    replace_target = "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT"
    originals = {}
    for target in (update_target, replace_target):
        raw = rewrite(original_from_g22(), SAMPLE_DOCUMENT_ID, target)
        originals[target] = (await gw.post_package(raw, keys[G22])).json()["package_id"]
    u = await gw.post_package(update, keys[G22])
    assert u.status_code == 202, u.text
    assert u.json()["references"][0]["original_package_id"] == originals[update_target]
    assert u.json()["references"][0]["cancelled_deliveries"] == []
    rp = await gw.post_package(replace, keys[G22])
    assert rp.status_code == 202, rp.text
    assert rp.json()["references"][0]["original_package_id"] == originals[replace_target]
    for target, business_type in ((update_target, 2), (replace_target, 3)):
        timeline = (
            await gw.get(f"/api/v1/packages/{originals[target]}/timeline", keys[G22])
        ).json()
        assert [r["business_type"] for r in timeline["related"]] == [business_type]
        # update/replace do not cancel anything
        assert {r["state"] for r in timeline["recipients"]} == {"pending"}


async def test_revoke_of_unknown_original_is_accepted_unlinked(gw, keys):
    r = await gw.post_package(sample_bytes("edoc_revocation.edxml"), keys[G22])
    assert r.status_code == 202
    assert r.json()["references"] == [
        {"document_id": SAMPLE_DOCUMENT_ID, "original_package_id": None, "cancelled_deliveries": []}
    ]


# ------------------------------------------------------------------------ rerouting


async def test_superseded_recipient_is_rerouted(gw):
    keys = await gw.setup(A80)
    await gw.add_agency("000.24.33.H99", "UBND xã Thạnh Hưng (sáp nhập)")
    await gw.add_agency(H17, "UBND xã Hòa Sơn (cũ)", active=False, superseded_by="000.24.33.H99")
    successor = await gw.add_system("qlvb-thanh-hung", "000.24.33.H99")
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["rerouted"] == [{"from": H17, "to": "000.24.33.H99", "reason": "superseded"}]
    assert body["deliveries"] == [
        {
            "delivery_id": body["deliveries"][0]["delivery_id"],
            "recipient": "000.24.33.H99",
            "addressed_to": H17,
        }
    ]
    inbox = (await gw.get("/api/v1/inbox", successor)).json()
    assert inbox["items"][0]["addressed_to"] == H17
    # the audit log says so too
    async with gw.db.sessionmaker() as s:
        from gateway.audit.repository import AuditRepository

        events = await AuditRepository(s).for_subject(f"package:{body['package_id']}")
    assert "package.rerouted" in [e.action for e in events]


async def test_reroute_follows_chain_and_refuses_cycles(gw):
    keys = await gw.setup(A80)
    await gw.add_agency("000.00.03.H99", "Đơn vị cuối")
    await gw.add_agency("000.00.02.H99", "Đơn vị giữa", active=False, superseded_by="000.00.03.H99")
    await gw.add_agency(H17, "Đơn vị đầu", active=False, superseded_by="000.00.02.H99")
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])
    assert r.json()["deliveries"][0]["recipient"] == "000.00.03.H99"

    # make a cycle: 03 → H17 → 02 → 03
    admin = await gw.admin()
    p = await gw.http.patch(
        "/api/v1/admin/agencies/000.00.03.H99",
        json={"active": False, "superseded_by": H17},
        headers=admin,
    )
    assert p.status_code == 200
    other = rewrite(sample_bytes("edoc_new.edxml"), SAMPLE_DOCUMENT_ID, "000.00.00.A80,2026/1/1,1")
    r = await gw.post_package(other, keys[A80])
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "RECIPIENT_INACTIVE"


async def test_inactive_without_successor_is_refused(gw):
    keys = await gw.setup(A80)
    await gw.add_agency(H17, active=False)
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])
    assert r.status_code == 422
    assert r.json()["error"]["details"] == {"inactive": [H17]}
