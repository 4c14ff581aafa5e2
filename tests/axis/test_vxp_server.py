"""The VXP face of the gateway, driven by a byte-faithful double of the official Java SDK
(tests/axis/sdk_client.py), on both backends: a full exchange, interop with the native API,
and every refusal with its stable ErrorCode and Vietnamese ErrorDesc."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from sdk_client import JavaHashMap, SdkClient, sdk_hash_file

from conftest import original_from_g22, rewrite, sample_bytes

G22, H41, H14, G17 = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
SUB = "000.00.01.H41"


# ----------------------------------------------------------------------------- fixtures


async def vxp_system(gw, name: str, *agencies: str, vxp_id: str | None = None) -> dict:
    """A registered system with a VXP credential: {"system_id", "vxp_system_id", "secret"}."""
    r = await gw.http.post(
        "/api/v1/admin/systems",
        json={"name": name, "agencies": list(agencies)},
        headers=await gw.admin(),
    )
    assert r.status_code == 201, r.text
    system_id = r.json()["system"]["id"]
    r = await gw.http.post(
        f"/api/v1/admin/systems/{system_id}/vxp-secret",
        json={"vxp_system_id": vxp_id} if vxp_id else None,
        headers=await gw.admin(),
    )
    assert r.status_code == 201, r.text
    return {**r.json(), "api_key": None}


@pytest.fixture
async def parties(gw):
    for code in (G22, H41, H14, G17):
        await gw.add_agency(code)
    keys = {code: await gw.add_system(f"native-{code}", code) for code in (H14,)}
    g22 = await vxp_system(gw, "qlvb-g22", G22)
    h41 = await vxp_system(gw, "qlvb-h41", H41)
    return {"keys": keys, G22: g22, H41: h41}


def sdk(gw, cred: dict, **kw) -> SdkClient:
    return SdkClient(gw.http, "/vxp", cred["vxp_system_id"], cred["secret"], **kw)


def status_03() -> bytes:
    return sample_bytes("status_acceptance_03.edxml")


# ------------------------------------------------------------------- the SDK's wire format


def test_sdk_double_matches_the_recorded_wire_format() -> None:
    # header order recorded from the SDK: Java HashMap iteration order
    m = JavaHashMap()
    for key in ("systemid", "timestamp", "Content-Type", "servicetype", "messagetype"):
        m.put(key, "x")
    for key in ("hash-file", "from"):
        m.put(key, "x")
    assert ";".join(k for k, _ in m.items()) == (
        "systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type"
    )
    # the verified HMAC example of the spec
    sign = (
        '{"XroadVnpt-systemid":"000.00.00.G22","XroadVnpt-timestamp":"21112026T134449+0393",'
        '"XroadVnpt-Content-Type":"application/json"}'
    )
    digest = hmac.new(b"secretA", sign.encode(), hashlib.sha256).hexdigest()
    assert digest == "30b851bca6de22fe40d2d737e75da84d1809a753a6aa7d4a8148d7f0e2398514"
    client = SdkClient(None, "/vxp", G22, "secretA", clock=lambda: _moment())  # type: ignore[arg-type]
    headers = dict(client.headers({}, "application/json"))
    assert headers["XroadVnpt-sign-header"] == sign
    assert headers["XroadVnpt-hash-header"] == digest
    assert sdk_hash_file(sample_bytes("edoc_new.edxml")) == (
        "12467915191b87937dfe1b66e2da34b0434ea379f81f7a0edfad021da13cd5"
    )


def _moment() -> datetime:
    return datetime(2026, 11, 21, 6, 44, 49, 393000, tzinfo=UTC)


# ---------------------------------------------------------------------- the full exchange


async def make_admin(gw, cred: dict) -> None:
    r = await gw.http.patch(
        f"/api/v1/admin/systems/{cred['system_id']}/vxp-policy",
        json={"admin": True},
        headers=await gw.admin(),
    )
    assert r.status_code == 200 and r.json()["admin"] is True, r.text


async def test_full_exchange_through_the_sdk(gw, parties) -> None:
    g22, h41 = sdk(gw, parties[G22]), sdk(gw, parties[H41])
    await make_admin(gw, parties[H41])  # registerAgency / deleteAgency

    # register: a unit under H41, bound to H41's system
    r = await h41.register_agency(
        {
            "id": "",
            "pcode": H41,
            "code": SUB,
            "name": "Văn phòng UBND tỉnh Nghệ An",
            "mail": "vp@nghean.gov.vn",
            "mobile": "",
            "fax": "",
        }
    )
    assert r["status"] == "OK", r
    agencies = await g22.get_agencies_list()
    assert agencies["status"] == "OK"
    by_code = {a["code"]: a for a in agencies["data"]}
    assert by_code[SUB]["name"] == "Văn phòng UBND tỉnh Nghệ An"
    assert by_code[SUB]["pid"] == H41
    units = await g22.get_synchronize_unit()
    assert {u["code"] for u in units["data"]} >= {G22, H41, SUB}

    # send
    original = original_from_g22()
    sent = await g22.send_edoc(
        {"from": G22, "servicetype": "eDoc", "messagetype": "edoc"}, original
    )
    assert sent["status"] == "OK" and sent["ErrorCode"] == "0", sent
    package_id = sent["DocId"]
    request = g22.last_request
    assert request is not None and request.content == original + b"\r\n"
    assert request.headers["XroadVnpt-hash-file"] == sdk_hash_file(original)
    assert request.headers["User-Agent"] == "JAVASDKAgent/1.0.0 XRoad/VPCP"

    # a repeated send (the SDK retrying) gets the same DocId
    again = await g22.send_edoc(
        {"from": G22, "servicetype": "eDoc", "messagetype": "edoc"}, original
    )
    assert again["status"] == "OK" and again["DocId"] == package_id

    # list, count, get, download
    count = await h41.count_receive_edoc({"servicetype": "eDoc", "messagetype": "edoc"})
    assert count == {"status": "OK", "ErrorCode": "0", "ErrorDesc": "Thành công", "count": 1}
    assert h41.last_request is not None and h41.last_request.method == "GET"
    listed = await h41.get_received_edoc_list({"servicetype": "eDoc", "messagetype": "edoc"})
    [item] = listed["data"]
    doc_id = item["docId"]
    assert item["from"] == G22 and item["to"] == H41 and item["messageType"] == "edoc"
    assert doc_id != package_id  # one docId per recipient copy
    got = await h41.get_edoc({"docId": doc_id, "filePath": "/tmp/edoc"})
    assert got["status"] == "OK"
    data = base64.b64decode(got["data"])
    assert data.startswith(original[: original.index(b"</edXML:TraceHeaderList>")][:200])
    assert b"<edXML:OrganId>00.99.W00</edXML:OrganId>" in data  # this gateway's TraceHeader
    assert "Cổng thông tin điện tử".encode() in data or "VPCP-TTĐT".encode() in data
    downloaded = await h41.download_edoc({"docId": doc_id, "filePath": "/tmp/edoc"})
    assert downloaded.status_code == 200 and downloaded.content.startswith(b"<?xml")

    # updateStatus: fail is recorded for operators, the copy stays listed
    failed = await h41.update_status({"docid": doc_id, "status": "fail"})
    assert failed["status"] == "OK", failed
    still = await h41.get_received_edoc_list({"servicetype": "eDoc", "messagetype": "edoc"})
    assert [i["docId"] for i in still["data"]] == [doc_id]
    done = await h41.update_status({"docid": doc_id, "status": "done"})
    assert done["status"] == "OK", done
    # the SDK map now holds docId (getEdoc) and docid (updateStatus): two header lines
    assert h41.last_request is not None
    assert len(h41.last_request.headers.get_list("XroadVnpt-docid")) == 2
    empty = await h41.get_received_edoc_list({"servicetype": "eDoc", "messagetype": "edoc"})
    assert empty["data"] == []

    # send a status (the map still leaks docId, docid, status, filePath from earlier calls)
    st = await h41.send_edoc(
        {"from": H41, "servicetype": "eDoc", "messagetype": "status"}, status_03()
    )
    assert st["status"] == "OK", st
    leaked = h41.last_request.headers["XroadVnpt-sign-header-key"].split(";")  # type: ignore[union-attr]
    assert {"docId", "docid", "status", "filePath"} <= set(leaked)

    # list statuses on the sender's side, get, acknowledge with the other spelling
    statuses = await g22.get_received_edoc_list({"servicetype": "eDoc", "messagetype": "status"})
    [status_item] = statuses["data"]
    assert status_item["from"] == H41 and status_item["statusCode"] == "03"
    assert (await g22.count_receive_status({"servicetype": "eDoc", "messagetype": "status"}))[
        "count"
    ] == 1
    got_status = await g22.get_edoc({"docId": status_item["docId"]})
    assert b"<edXML:StatusCode>03</edXML:StatusCode>" in base64.b64decode(got_status["data"])
    assert (await g22.update_status({"docId": status_item["docId"], "status": "done"}))[
        "status"
    ] == "OK"

    # getSentEdocList: one row per recipient copy, H41's acknowledged
    sent_list = await g22.get_sent_edoc_list({"servicetype": "eDoc", "messagetype": "edoc"})
    rows = {row["toCode"]: row for row in sent_list["data"]}
    assert set(rows) == {H41, H14, G17}
    assert rows[H41]["receiveStatus"] == "acknowledged"
    assert rows[H41]["senderDocId"] == package_id and rows[H41]["receiverDocId"] == doc_id
    assert rows[H14]["receiveStatus"] == "pending"
    assert rows[H41]["title"]
    one = await g22.get_sent_edoc_list(
        {"servicetype": "eDoc", "messagetype": "edoc", "docId": package_id}
    )
    assert len(one["data"]) == 3

    # the same core: H14 polls the VXP-sent package through the native API
    key = parties["keys"][H14]
    inbox = (await gw.get("/api/v1/inbox", key)).json()
    assert [i["package_id"] for i in inbox["items"]] == [package_id]
    timeline = (
        await gw.get(f"/api/v1/packages/{package_id}/timeline", await gw.admin_key())
    ).json()
    h41_copy = next(r for r in timeline["recipients"] if r["recipient"] == H41)
    assert h41_copy["state"] == "acknowledged"
    assert h41_copy["last_error"] and "fail" in h41_copy["last_error"]
    assert [s["code"] for s in h41_copy["statuses"]] == ["03"]

    # deleteAgency deactivates, never deletes
    gone = await h41.delete_agency(SUB)
    assert gone["status"] == "OK", gone
    agency = (await gw.get(f"/api/v1/agencies/{SUB}", await gw.admin_key())).json()
    assert agency["active"] is False


async def test_native_package_is_polled_through_vxp(gw, parties) -> None:
    h41 = sdk(gw, parties[H41])
    key = await gw.add_system("native-g22", G22)
    r = await gw.post_package(original_from_g22(), key)
    assert r.status_code == 202
    copy = next(d for d in r.json()["deliveries"] if d["recipient"] == H41)
    listed = await h41.get_received_edoc_list({"servicetype": "eDoc", "messagetype": "edoc"})
    assert [i["docId"] for i in listed["data"]] == [copy["delivery_id"]]
    assert (await h41.update_status({"docid": copy["delivery_id"], "status": "done"}))[
        "status"
    ] == "OK"
    timeline = (await gw.get(f"/api/v1/packages/{r.json()['package_id']}/timeline", key)).json()
    assert next(x for x in timeline["recipients"] if x["recipient"] == H41)["state"] == (
        "acknowledged"
    )


async def test_send_with_zero_dropped_hash_file(gw) -> None:
    a80, h17 = "000.00.00.A80", "28.22.H17"
    await gw.add_agency(a80)
    await gw.add_agency(h17)
    client = sdk(gw, await vxp_system(gw, "qlvb-a80", a80))
    data = sample_bytes("edoc_new.edxml")
    sent = await client.send_edoc({"from": a80, "servicetype": "eDoc", "messagetype": "edoc"}, data)
    assert sent["status"] == "OK", sent
    assert len(client.last_request.headers["XroadVnpt-hash-file"]) == 62  # type: ignore[union-attr]
    # the exact file is stored: without the CRLF the SDK appended
    timeline = (
        await gw.get(f"/api/v1/packages/{sent['DocId']}/timeline", await gw.admin_key())
    ).json()
    assert timeline["package"]["sha256"] == hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------- refusals


async def test_authentication_refusals(gw, parties) -> None:
    cred = parties[G22]
    header = {"servicetype": "eDoc", "messagetype": "edoc"}

    wrong = SdkClient(gw.http, "/vxp", cred["vxp_system_id"], "not-the-secret")
    r = await wrong.call("getReceivedEdocList", header)
    assert r.status_code == 401
    assert r.json()["status"] == "FAIL" and r.json()["ErrorCode"] == "AUTH_BAD_SIGNATURE"
    assert r.json()["ErrorDesc"] == "Chữ ký yêu cầu không hợp lệ"

    # an SDK object built two hours ago still works: the timestamp is not checked by default
    old = sdk(gw, cred, clock=lambda: gw.app.state.clock() - timedelta(hours=2))
    r = await old.call("getReceivedEdocList", header)
    assert (r.status_code, r.json()["status"]) == (200, "OK")

    unknown = SdkClient(gw.http, "/vxp", "000.00.00.H99", cred["secret"])
    r = await unknown.call("getReceivedEdocList", header)
    assert r.json()["ErrorCode"] == "AUTH_UNKNOWN_SYSTEM"
    assert "000.00.00.H99" in r.json()["ErrorDesc"]

    # signs one `from`, sends another
    client = sdk(gw, cred)
    headers = client.headers({**header, "from": G22}, "application/json")
    tampered = [(k, H41 if k == "XroadVnpt-from" else v) for k, v in headers]
    r = await gw.http.post("/vxp/getReceivedEdocList", headers=tampered, content=b"")
    assert (r.status_code, r.json()["ErrorCode"]) == (401, "AUTH_HEADER_MISMATCH")

    r = await gw.http.post("/vxp/getReceivedEdocList", content=b"")
    assert r.json()["ErrorCode"] == "AUTH_MISSING_HEADERS"

    # a revoked credential
    r = await gw.http.delete(
        f"/api/v1/admin/systems/{cred['system_id']}/vxp-secret", headers=await gw.admin()
    )
    assert r.status_code == 200 and r.json()["active"] is False
    r = await client.call("getReceivedEdocList", header)
    assert r.json()["ErrorCode"] == "AUTH_UNKNOWN_SYSTEM"


async def test_send_refusals(gw, parties) -> None:
    g22, h41 = sdk(gw, parties[G22]), sdk(gw, parties[H41])
    edoc = {"servicetype": "eDoc", "messagetype": "edoc"}

    # sending as an agency the system is not bound to
    r = await h41.send_edoc({**edoc, "from": G22}, original_from_g22())
    assert (r["status"], r["ErrorCode"]) == ("FAIL", "FORBIDDEN")
    # `from` is the system's, the package's From is not
    r = await h41.send_edoc({**edoc, "from": H41}, original_from_g22())
    assert r["ErrorCode"] == "FORBIDDEN"
    # not well-formed, invalid, wrong messagetype, unknown recipient
    r = await g22.send_edoc({**edoc, "from": G22}, b"<edXML><unclosed></edXML>")
    assert r["ErrorCode"] == "MALFORMED_XML"
    broken = rewrite(original_from_g22(), "<edXML:Subject>", "<edXML:Subjec>")
    broken = rewrite(broken, "</edXML:Subject>", "</edXML:Subjec>")
    r = await g22.send_edoc({**edoc, "from": G22}, broken)
    assert r["ErrorCode"] == "VALIDATION_FAILED"
    assert r["ErrorDesc"].count("\n- [") >= 1  # every finding, in Vietnamese
    r = await g22.send_edoc(
        {"servicetype": "eDoc", "messagetype": "status", "from": G22}, original_from_g22()
    )
    assert r["ErrorCode"] == "MESSAGE_TYPE_MISMATCH"
    unknown_to = rewrite(original_from_g22(), H14, "000.00.00.H55", 1)
    r = await g22.send_edoc({**edoc, "from": G22}, unknown_to)
    assert r["ErrorCode"] == "RECIPIENT_UNKNOWN" and "000.00.00.H55" in r["ErrorDesc"]
    # `to` must agree with the package
    r = await g22.send_edoc({**edoc, "from": G22, "to": f'["{H41}","000.00.00.G01"]'}, b"x")
    assert r["ErrorCode"] in ("MALFORMED_XML", "VALIDATION_FAILED")
    r = await g22.send_edoc({**edoc, "from": G22, "to": '["000.00.00.G01"]'}, original_from_g22())
    assert r["ErrorCode"] == "VALIDATION_FAILED" and "000.00.00.G01" in r["ErrorDesc"]
    # nothing above was stored
    assert await gw.count("packages") == 0

    # a body that is not what hash-file says
    headers = g22.headers({**edoc, "from": G22, "hash-file": "00"}, "application/octet-stream")
    r = await gw.http.post("/vxp/sendEdoc", headers=headers, content=original_from_g22())
    assert (r.status_code, r.json()["ErrorCode"]) == (400, "HASH_FILE_MISMATCH")

    # other docId errors and unknown operations
    r = await h41.call("getEdoc", {"docId": "no-such-doc"})
    assert (r.status_code, r.json()["ErrorCode"]) == (404, "NOT_FOUND")
    r = await h41.call("SendKnobstick", {})
    assert (r.status_code, r.json()["ErrorCode"]) == (404, "UNKNOWN_OPERATION")
    r = await h41.call("updateStatus", {"docid": "x", "status": "maybe"}, body=b"{}")
    assert r.json()["ErrorCode"] == "BAD_REQUEST"


async def test_copies_are_private_to_their_recipient(gw, parties) -> None:
    g22, h41 = sdk(gw, parties[G22]), sdk(gw, parties[H41])
    sent = await g22.send_edoc(
        {"from": G22, "servicetype": "eDoc", "messagetype": "edoc"}, original_from_g22()
    )
    assert sent["status"] == "OK"
    [item] = (await h41.get_received_edoc_list({"servicetype": "eDoc", "messagetype": "edoc"}))[
        "data"
    ]
    # the sender cannot fetch or acknowledge the recipient's copy
    r = await g22.call("getEdoc", {"docId": item["docId"]})
    assert r.json()["ErrorCode"] == "NOT_FOUND"
    r = await g22.call("updateStatus", {"docid": item["docId"], "status": "done"}, body=b"{}")
    assert r.json()["ErrorCode"] == "NOT_FOUND"
    # registering under someone else's agency, even as an admin system
    await make_admin(gw, parties[G22])
    r = await g22.register_agency({"pcode": H41, "code": SUB, "name": "x", "mail": "a@b.vn"})
    assert r["ErrorCode"] == "FORBIDDEN"


async def test_send_while_the_database_is_down_answers_503(gw, parties) -> None:
    """The SDK's envelope with SERVICE_UNAVAILABLE and Retry-After; the same send then works."""
    from sqlalchemy import event

    def refuse(*_args, **_kwargs):
        raise ConnectionRefusedError(111, "Connection refused (test)")

    g22 = sdk(gw, parties[G22])
    edoc = {"servicetype": "eDoc", "messagetype": "edoc", "from": G22}
    engine = gw.db.engine.sync_engine
    event.listen(engine, "do_connect", refuse)
    await gw.db.engine.dispose()
    try:
        headers = g22.headers({**edoc, "hash-file": sdk_hash_file(original_from_g22())},
                              "application/octet-stream")  # fmt: skip
        r = await gw.http.post("/vxp/sendEdoc", headers=headers, content=original_from_g22())
    finally:
        event.remove(engine, "do_connect", refuse)
    assert (r.status_code, r.json()["ErrorCode"]) == (503, "SERVICE_UNAVAILABLE")
    assert r.headers["Retry-After"] == "5" and r.json()["status"] == "FAIL"
    assert (await g22.send_edoc(edoc, original_from_g22()))["status"] == "OK"
    assert await gw.count("packages") == 1
