"""Reports and the dashboard say which moment they count by: the gateway's acceptance for what
is sent, the arrival in the recipient's system (and the legal receipt time there) for what is
received (both backends)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ops_support import A80, H17, create_operator, document, logged_in
from sqlalchemy import update

from gateway.packages.models import Delivery

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN)


async def test_received_counts_by_arrival_and_pages_say_so(gw):
    keys = await gw.setup(A80, H17)
    gw.app.state.clock = lambda: vn(2026, 10, 30, 16)
    body = (await gw.post_package(document(1), keys[A80])).json()
    # H17 takes it on Saturday 31 October, late evening: received in October, legally on
    # Monday 2 November
    gw.app.state.clock = lambda: vn(2026, 10, 31, 22, 15)
    assert (await gw.get(f"/api/v1/packages/{body['package_id']}", keys[H17])).status_code == 200
    copy = body["deliveries"][0]["delivery_id"]
    # an old row's delivered_at (here: moved to November) no longer decides the month
    async with gw.db.sessionmaker() as s:
        await s.execute(
            update(Delivery).where(Delivery.id == copy).values(delivered_at=vn(2026, 11, 3, 9))
        )
        await s.commit()

    admin = {"Authorization": f"Bearer {await create_operator(gw, 'root', 'admin')}"}
    report = (
        await gw.http.get(
            "/api/v1/admin/reports/monthly", params={"month": "2026-10"}, headers=admin
        )
    ).json()
    row = next(a for a in report["rows"] if a["agency_code"] == H17)
    assert row["received"] == 1
    assert report["basis"]["received"].startswith("entered_at")
    assert report["basis"]["sent"].startswith("received_at")

    await logged_in(gw, "lan")
    page = await gw.http.get("/dashboard/reports", params={"month": "2026-10"})
    assert "vào hệ thống của cơ quan nhận" in page.text
    tl = await gw.http.get(f"/dashboard/packages/{body['package_id']}")
    assert "Vào hệ thống nơi nhận" in tl.text and "Nhận hợp lệ tại nơi nhận" in tl.text
    assert "31/10/2026 22:15:00" in tl.text and "tải lần đầu" in tl.text
    assert "02/11/2026 07:30:00" in tl.text  # the legal receipt time at the recipient
    assert "tính từ lúc trục tiếp nhận" in tl.text
