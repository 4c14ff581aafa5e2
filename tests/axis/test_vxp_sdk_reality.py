"""The gateway as agencies really run the official SDK (issue 12, issue 18 item 7).

The SDK stand-in (sdk_client.py) stamps its timestamp once per object in the JVM's local time,
reads reply fields unchecked (a missing field -> every field None) and decodes replies as
US-ASCII. Through it: one client object used across a simulated day, JVMs on other zones,
every refusal as the SDK user sees it, and what protects the protocol against replay instead
of a freshness window (idempotent sendEdoc, the hash-file, admin systems, opt-in checks).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
from sdk_client import READS, SdkClient, sdk_read, sdk_timestamp
from sqlalchemy import select

from conftest import original_from_g22, rewrite

G22, H41, H14, G17 = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
SUB = "000.00.01.H41"
EDOC = {"servicetype": "eDoc", "messagetype": "edoc"}
# 08:00 in Hà Nội; the gateway's clock is pinned, the SDK object is built at this instant
T0 = datetime(2026, 12, 1, 1, 0, 0, 250000, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def vxp_system(gw, name: str, *agencies: str) -> dict:
    r = await gw.http.post(
        "/api/v1/admin/systems",
        json={"name": name, "agencies": list(agencies)},
        headers=await gw.admin(),
    )
    assert r.status_code == 201, r.text
    system_id = r.json()["system"]["id"]
    r = await gw.http.post(
        f"/api/v1/admin/systems/{system_id}/vxp-secret", headers=await gw.admin()
    )
    assert r.status_code == 201, r.text
    return r.json()


async def set_policy(gw, cred: dict, **policy) -> dict:
    r = await gw.http.patch(
        f"/api/v1/admin/systems/{cred['system_id']}/vxp-policy",
        json=policy,
        headers=await gw.admin(),
    )
    assert r.status_code == 200, r.text
    return r.json()


async def setup(gw) -> dict:
    for code in (G22, H41, H14, G17):
        await gw.add_agency(code)
    return {G22: await vxp_system(gw, "qlvb-g22", G22), H41: await vxp_system(gw, "qlvb-h41", H41)}


@pytest.fixture
async def clock(gw) -> Clock:
    clock = Clock(T0)
    gw.app.state.clock = clock
    return clock


@pytest.fixture
async def parties(gw, clock) -> dict:
    return await setup(gw)


def sdk(gw, cred: dict, **kw) -> SdkClient:
    kw.setdefault("clock", lambda: T0)
    return SdkClient(gw.http, "/vxp", cred["vxp_system_id"], cred["secret"], **kw)


# ------------------------------------------------------------------- the stand-in itself


def test_stand_in_reads_like_the_sdk() -> None:
    ok = (
        '{"status":"OK","ErrorCode":"0","ErrorDesc":"G\\u1eedi th\\u00e0nh c\\u00f4ng","DocId":"d"}'
    )
    assert sdk_read("sendEdoc", ok.encode()) == {
        "status": "OK",
        "ErrorCode": "0",
        "ErrorDesc": "Gửi thành công",
        "DocId": "d",
    }
    # raw UTF-8 is garbled by the SDK's US-ASCII decoding, one U+FFFD per byte
    raw = '{"status":"OK","ErrorCode":"0","ErrorDesc":"Gửi thành công","DocId":"d"}'
    garbled = "G\ufffd\ufffd\ufffdi th\ufffd\ufffdnh c\ufffd\ufffdng"
    assert sdk_read("sendEdoc", raw.encode())["ErrorDesc"] == garbled
    # a field the method reads is missing: the caller gets nothing at all
    fail = b'{"status":"FAIL","ErrorCode":"FORBIDDEN","ErrorDesc":"x"}'
    nothing = dict.fromkeys(("status", "ErrorCode", "ErrorDesc", "DocId"))
    assert sdk_read("sendEdoc", fail) == nothing
    assert sdk_read("updateStatus", fail)["ErrorCode"] == "FORBIDDEN"
    assert sdk_read("countReceiveEdoc", b'{"status":"OK","ErrorCode":"0","ErrorDesc":"",'
                    b'"count":"1"}')["status"] is None  # fmt: skip


def test_stand_in_stamps_once_in_the_jvm_zone() -> None:
    ticks = iter([T0, T0 + timedelta(days=3)])
    client = SdkClient(None, "/vxp", G22, "s", clock=lambda: next(ticks), zone=UTC)  # type: ignore[arg-type]
    first = dict(client.headers({}, "application/json"))["XroadVnpt-timestamp"]
    later = dict(client.headers({}, "application/json"))["XroadVnpt-timestamp"]
    assert first == later == "01122026T010000+0250"  # UTC wall clock, no zone
    assert sdk_timestamp(T0) == "01122026T080000+0250"
    assert sdk_timestamp(T0, timezone(timedelta(hours=6))) == "01122026T070000+0250"


# ------------------------------------------------- one client object across a simulated day


async def test_one_client_object_works_for_days(gw, parties, clock) -> None:
    g22, h41 = sdk(gw, parties[G22]), sdk(gw, parties[H41])  # built once, at T0
    for hours in (0.5, 9, 26, 24 * 3 + 5):
        clock.at = T0 + timedelta(hours=hours)
        subject = f"Báo cáo sau {hours} giờ"
        data = rewrite(original_from_g22(), "<edXML:Subject>", f"<edXML:Subject>{subject} ")
        data = rewrite(data, "<edXML:DocumentId>", f"<edXML:DocumentId>{hours}.")
        sent = await g22.send_edoc({**EDOC, "from": G22}, data)
        assert (sent["status"], sent["ErrorDesc"]) == ("OK", "Gửi thành công"), sent
        count = await h41.count_receive_edoc(EDOC)
        assert count["status"] == "OK" and count["count"] == 1, count
        [item] = (await h41.get_received_edoc_list(EDOC))["data"]
        got = await h41.get_edoc({"docId": item["docId"], "filePath": "/tmp/edoc"})
        assert got["status"] == "OK" and got["data"], got
        done = await h41.update_status({"docid": item["docId"], "status": "done"})
        assert done["status"] == "OK", done
        assert (await g22.get_sent_edoc_list(EDOC))["status"] == "OK"
        assert (await h41.count_receive_status({**EDOC, "messagetype": "status"}))["count"] == 0
        assert (await h41.download_edoc({"docId": item["docId"]})).status_code == 200
        agencies = await g22.get_agencies_list()
        assert agencies["status"] == "OK"
        assert {a["name"] for a in agencies["data"]} >= {f"Cơ quan {G22}"}  # readable
        assert (await g22.get_agencies_list_qd20("1"))["status"] == "OK"
        assert (await g22.get_synchronize_unit())["status"] == "OK"
    # every call of each object carried the timestamp stamped when it was built
    assert g22.last_request.headers["XroadVnpt-timestamp"] == "01122026T080000+0250"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "zone",
    [UTC, timezone(timedelta(hours=6)), ZoneInfo("Asia/Ho_Chi_Minh")],
    ids=["UTC", "UTC+6", "Asia/Ho_Chi_Minh"],
)
async def test_jvm_on_any_zone(gw, parties, zone) -> None:
    g22, h41 = sdk(gw, parties[G22], zone=zone), sdk(gw, parties[H41], zone=zone)
    sent = await g22.send_edoc({**EDOC, "from": G22}, original_from_g22())
    assert sent["status"] == "OK", sent
    assert g22.last_request.headers["XroadVnpt-timestamp"] == sdk_timestamp(T0, zone)  # type: ignore[union-attr]
    [item] = (await h41.get_received_edoc_list(EDOC))["data"]
    assert (await h41.update_status({"docid": item["docId"], "status": "done"}))["status"] == "OK"


# ------------------------------------------------------------- refusals as the SDK user sees


def refused(result: dict, code: str, desc: str | None = None) -> None:
    assert result["status"] == "FAIL", result
    assert result["ErrorCode"] == code, result
    assert result["ErrorDesc"] and "\ufffd" not in result["ErrorDesc"], result
    if desc is not None:
        assert result["ErrorDesc"].startswith(desc), result


async def test_send_refusals_reach_sdk_code(gw, parties) -> None:
    g22, h41 = sdk(gw, parties[G22]), sdk(gw, parties[H41])
    # refused sender
    r = await h41.send_edoc({**EDOC, "from": G22}, original_from_g22())
    refused(r, "FORBIDDEN", f"Hệ thống không được gửi thay cơ quan {G22}")
    assert r["DocId"] == ""
    # validation failure, every finding readable
    broken = rewrite(original_from_g22(), "<edXML:Subject>", "<edXML:Subjec>")
    broken = rewrite(broken, "</edXML:Subject>", "</edXML:Subjec>")
    r = await g22.send_edoc({**EDOC, "from": G22}, broken)
    refused(r, "VALIDATION_FAILED")
    assert "\n- [" in r["ErrorDesc"]
    # unknown recipient
    r = await g22.send_edoc(
        {**EDOC, "from": G22}, rewrite(original_from_g22(), H14, "000.00.00.H55", 1)
    )
    refused(r, "RECIPIENT_UNKNOWN")
    assert "000.00.00.H55" in r["ErrorDesc"]
    # auth failure
    wrong = SdkClient(gw.http, "/vxp", parties[G22]["vxp_system_id"], "not-the-secret")
    refused(
        await wrong.send_edoc({**EDOC, "from": G22}, original_from_g22()),
        "AUTH_BAD_SIGNATURE",
        "Chữ ký yêu cầu không hợp lệ",
    )
    assert await gw.count("packages") == 0


@pytest.mark.parametrize("operation", sorted(READS))
async def test_auth_failure_of_every_operation_reaches_sdk_code(gw, parties, operation) -> None:
    wrong = SdkClient(gw.http, "/vxp", parties[H41]["vxp_system_id"], "not-the-secret")
    kw = {"method": "GET"} if operation.startswith("count") else {"body": b"{}"}
    r = await wrong.read(operation, {**EDOC, "docId": "x", "docid": "x", "status": "done"}, **kw)
    refused(r, "AUTH_BAD_SIGNATURE", "Chữ ký yêu cầu không hợp lệ")
    assert wrong.last_response is not None and wrong.last_response.status_code == 401
    assert wrong.last_response.content.isascii()  # \u-escaped for the SDK's ASCII decoding


async def test_other_failures_of_each_operation_reach_sdk_code(gw, parties) -> None:
    h41 = sdk(gw, parties[H41])
    refused(await h41.get_edoc({"docId": "no-such-doc"}), "NOT_FOUND", "Không có văn bản")
    refused(await h41.update_status({"docid": "no-such", "status": "done"}), "NOT_FOUND")
    refused(await h41.get_received_edoc_list({**EDOC, "messagetype": "x"}), "BAD_REQUEST")
    refused(await h41.get_sent_edoc_list({**EDOC, "messagetype": "x"}), "BAD_REQUEST")
    refused(await h41.count_receive_edoc({**EDOC, "messagetype": "x"}), "BAD_REQUEST")
    refused(await h41.delete_agency(G22), "VXP_ADMIN_REQUIRED")


async def test_oversize_reaches_sdk_code(make_gateway) -> None:
    gw = await make_gateway(max_body_bytes=2000)
    gw.app.state.clock = Clock(T0)
    parties = await setup(gw)
    r = await sdk(gw, parties[G22]).send_edoc({**EDOC, "from": G22}, original_from_g22())
    refused(r, "PAYLOAD_TOO_LARGE", "Gói tin")
    assert r["DocId"] == ""


async def test_database_unavailable_reaches_sdk_code(gw, parties) -> None:
    from sqlalchemy import event

    def refuse(*_args, **_kwargs):
        raise ConnectionRefusedError(111, "Connection refused (test)")

    g22 = sdk(gw, parties[G22])
    engine = gw.db.engine.sync_engine
    event.listen(engine, "do_connect", refuse)
    await gw.db.engine.dispose()
    try:
        sent = await g22.send_edoc({**EDOC, "from": G22}, original_from_g22())
        listed = await g22.get_received_edoc_list(EDOC)
        count = await g22.count_receive_edoc(EDOC)
    finally:
        event.remove(engine, "do_connect", refuse)
    for result in (sent, listed, count):
        refused(result, "SERVICE_UNAVAILABLE")
    assert g22.last_response is not None and g22.last_response.headers["Retry-After"]
    assert (await g22.send_edoc({**EDOC, "from": G22}, original_from_g22()))["status"] == "OK"


# ------------------------------------------------------------------------------ replay


def replay(gw, request, *, content: bytes | None = None):
    """Send a captured request again, byte for byte (optionally with another body)."""
    return gw.http.request(
        request.method,
        request.url,
        headers=request.headers.raw,
        content=request.content if content is None else content,
    )


async def test_replayed_send_stores_nothing_new(gw, parties) -> None:
    g22 = sdk(gw, parties[G22])
    sent = await g22.send_edoc({**EDOC, "from": G22}, original_from_g22())
    assert sent["status"] == "OK"
    captured = g22.last_request
    counts = [await gw.count(t) for t in ("packages", "deliveries")]
    again = await replay(gw, captured)
    assert sdk_read("sendEdoc", again.content)["DocId"] == sent["DocId"]
    assert [await gw.count(t) for t in ("packages", "deliveries")] == counts


async def test_replayed_send_with_another_body_is_refused(gw, parties) -> None:
    g22 = sdk(gw, parties[G22])
    assert (await g22.send_edoc({**EDOC, "from": G22}, original_from_g22()))["status"] == "OK"
    other = rewrite(original_from_g22(), "<edXML:DocumentId>", "<edXML:DocumentId>9.")
    r = await replay(gw, g22.last_request, content=other + b"\r\n")
    assert r.status_code == 400
    refused(sdk_read("sendEdoc", r.content), "HASH_FILE_MISMATCH")
    assert await gw.count("packages") == 1


def unit(code: str = SUB, parent: str = H41, name: str = "Văn phòng UBND tỉnh Nghệ An") -> dict:
    return {"id": "", "pcode": parent, "code": code, "name": name, "mail": "vp@nghean.gov.vn"}


async def test_replayed_register_agency_from_a_non_admin_system_is_refused(gw, parties) -> None:
    h41 = sdk(gw, parties[H41])
    r = await h41.register_agency(unit())
    refused(r, "VXP_ADMIN_REQUIRED")
    # a captured request replayed with a different body changes nothing either
    forged = unit("000.00.02.H41", name="=HYPERLINK(1)")
    r = await replay(gw, h41.last_request, content=json_bytes(forged))
    assert r.status_code == 403
    refused(sdk_read("registerAgency", r.content), "VXP_ADMIN_REQUIRED")
    refused(await h41.delete_agency(H41), "VXP_ADMIN_REQUIRED")
    agency = (await gw.get(f"/api/v1/agencies/{H41}", await gw.admin_key())).json()
    assert agency["active"] is True
    assert await count_agencies(gw) == 4


async def test_admin_system_registers_and_is_audited(gw, parties) -> None:
    await set_policy(gw, parties[H41], admin=True)
    h41 = sdk(gw, parties[H41])
    r = await h41.register_agency(unit())
    assert (r["status"], r["ErrorDesc"]) == ("OK", "Đăng ký thành công"), r
    assert (await h41.delete_agency(SUB))["status"] == "OK"
    from gateway.audit.models import AuditEvent

    async with gw.db.sessionmaker() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "vxp.admin_operation")
            )
        ).all()
    assert [e.data["operation"] for e in events] == ["registerAgency", "deleteAgency"]
    first = events[0]
    assert first.actor == "system:qlvb-h41"
    assert first.data["system_id"] == parties[H41]["system_id"]
    assert first.data["vxp_system_id"] == H41 and first.data["source"] == "127.0.0.1"
    assert first.data["signed_timestamp"] == "01122026T080000+0250"
    assert first.data["agency"] == SUB and len(first.data["body_sha256"]) == 64


async def test_opt_in_freshness_for_clients_that_restamp(gw, parties, clock) -> None:
    await set_policy(gw, parties[G22], max_skew_seconds=600)
    g22 = sdk(gw, parties[G22])
    assert (await g22.count_receive_edoc(EDOC))["status"] == "OK"
    clock.at = T0 + timedelta(minutes=11)
    refused(await g22.count_receive_edoc(EDOC), "AUTH_STALE_TIMESTAMP")
    # a client built now (re-stamping) passes; other systems are not affected
    fresh = sdk(gw, parties[G22], clock=lambda: clock.at)
    assert (await fresh.count_receive_edoc(EDOC))["status"] == "OK"
    assert (await sdk(gw, parties[H41]).count_receive_edoc(EDOC))["status"] == "OK"


async def test_opt_in_freshness_setting_for_every_system(make_gateway) -> None:
    gw = await make_gateway(vxp_max_skew_seconds=900)
    gw.app.state.clock = Clock(T0 + timedelta(hours=1))
    parties = await setup(gw)
    refused(await sdk(gw, parties[G22]).count_receive_edoc(EDOC), "AUTH_STALE_TIMESTAMP")


async def test_source_address_allow_list(gw, parties) -> None:
    g22 = sdk(gw, parties[G22])
    policy = await set_policy(gw, parties[G22], allowed_sources=["10.1.0.0/16"])
    assert policy["allowed_sources"] == ["10.1.0.0/16"]
    r = await g22.send_edoc({**EDOC, "from": G22}, original_from_g22())
    refused(r, "AUTH_SOURCE_NOT_ALLOWED")
    assert await gw.count("packages") == 0
    await set_policy(gw, parties[G22], allowed_sources=["10.1.0.0/16", "127.0.0.1"])
    assert (await g22.send_edoc({**EDOC, "from": G22}, original_from_g22()))["status"] == "OK"
    # behind a trusted proxy (GATEWAY_TRUSTED_PROXIES, here 127.0.0.1) the address it saw
    captured = g22.last_request
    forwarded = [*captured.headers.raw, (b"X-Forwarded-For", b"10.1.2.3")]
    r = await gw.http.post(captured.url, headers=forwarded, content=captured.content)
    assert sdk_read("sendEdoc", r.content)["status"] == "OK"
    await set_policy(gw, parties[G22], allowed_sources=["10.1.0.0/16"])
    r = await gw.http.post(captured.url, headers=forwarded, content=captured.content)
    assert sdk_read("sendEdoc", r.content)["status"] == "OK"
    # ...but not the X-Forwarded-For of a peer that is not a trusted proxy
    outsider = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gw.app, client=("192.0.2.7", 40000)),
        base_url="http://gateway.test",
    )
    async with outsider:
        r = await outsider.post(captured.url.path, headers=forwarded, content=captured.content)
    assert sdk_read("sendEdoc", r.content)["ErrorCode"] == "AUTH_SOURCE_NOT_ALLOWED"
    assert await gw.count("packages") == 1
    r = await gw.http.patch(
        f"/api/v1/admin/systems/{parties[G22]['system_id']}/vxp-policy",
        json={"allowed_sources": ["not-an-address"]},
        headers=await gw.admin(),
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "VALIDATION_FAILED")
    for skew in (0, 1e308):  # a window that would overflow at authentication is refused
        r = await gw.http.patch(
            f"/api/v1/admin/systems/{parties[G22]['system_id']}/vxp-policy",
            json={"max_skew_seconds": skew},
            headers=await gw.admin(),
        )
        assert r.status_code == 422, r.text


def json_bytes(doc: dict) -> bytes:
    import json

    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


async def count_agencies(gw) -> int:
    return await gw.count("agencies")
