"""Receipt time where the document arrives (both backends): the package keeps the gateway's
acceptance time; each copy adds when it entered the recipient's system (poll: the first fetch,
native or VXP getEdoc; acknowledging without a fetch counts too) and the legal receipt time
computed from that with the office calendar."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from conftest import sample_bytes

VN = ZoneInfo("Asia/Ho_Chi_Minh")
A80, H17 = "000.00.00.A80", "28.22.H17"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


async def copy_of(gw, key: str, package_id: str) -> dict:
    tl = (await gw.get(f"/api/v1/packages/{package_id}/timeline", key)).json()
    [copy] = tl["recipients"]
    return {"package": tl["package"], **copy}


async def test_poll_copy_is_received_at_the_first_fetch(make_gateway):
    gw = await make_gateway()
    gw.app.state.clock = lambda: at("2026-11-20T18:45:00")  # Friday evening
    keys = await gw.setup(A80, H17)
    body = (await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])).json()
    pid = body["package_id"]
    copy = await copy_of(gw, keys[A80], pid)
    # the gateway's acceptance and its legal time are kept
    assert copy["package"]["received_at"] == "2026-11-20T18:45:00+07:00"
    assert copy["package"]["legal_received_at"] == "2026-11-23T07:30:00+07:00"
    assert copy["entered_at"] is None and copy["entered_legal_at"] is None
    assert copy["entered_via"] is None
    # the sender's own fetch is not a receipt
    assert (await gw.get(f"/api/v1/packages/{pid}", keys[A80])).status_code == 200
    assert (await copy_of(gw, keys[A80], pid))["entered_at"] is None

    # the agency polls on Thursday during the lunch break (Tuesday 24/11 is Culture Day)
    gw.app.state.clock = lambda: at("2026-11-26T12:10:00")
    assert (await gw.get(f"/api/v1/packages/{pid}", keys[H17])).status_code == 200
    # a later fetch changes nothing
    gw.app.state.clock = lambda: at("2026-11-27T09:00:00")
    assert (await gw.get(f"/api/v1/packages/{pid}", keys[H17])).status_code == 200
    copy = await copy_of(gw, keys[A80], pid)
    assert copy["entered_at"] == "2026-11-26T12:10:00+07:00"
    assert copy["entered_via"] == "fetch"
    assert copy["entered_legal_at"] == "2026-11-26T13:30:00+07:00"
    assert copy["package"]["legal_received_at"] == "2026-11-23T07:30:00+07:00"


async def test_acknowledging_without_a_fetch_counts_as_receipt(make_gateway):
    gw = await make_gateway()
    gw.app.state.clock = lambda: at("2026-11-19T09:00:00")
    keys = await gw.setup(A80, H17)
    body = (await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])).json()
    gw.app.state.clock = lambda: at("2026-11-21T10:00:00")  # Saturday
    delivery = body["deliveries"][0]["delivery_id"]
    assert (await gw.post(f"/api/v1/deliveries/{delivery}/ack", keys[H17])).status_code == 200
    copy = await copy_of(gw, keys[A80], body["package_id"])
    assert copy["entered_via"] == "ack"
    assert copy["entered_at"] == "2026-11-21T10:00:00+07:00"
    assert copy["entered_legal_at"] == "2026-11-23T07:30:00+07:00"
