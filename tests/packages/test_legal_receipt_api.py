"""Legal receipt time through the API: outside office hours a package counts as received at the
start of the next office period (Vietnam time, working days, holidays from settings)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import sample_bytes

VN = ZoneInfo("Asia/Ho_Chi_Minh")
A80, H17 = "000.00.00.A80", "28.22.H17"
HOLIDAYS = "2026-04-30,2026-05-01,2026-09-02"


@pytest.mark.parametrize(
    ("arrived", "legal"),
    [
        # Friday evening → Monday morning
        ("2026-11-20T18:45:00", "2026-11-23T07:30:00+07:00"),
        # Friday exactly at closing time (periods are half-open) → Monday
        ("2026-11-20T17:00:00", "2026-11-23T07:30:00+07:00"),
        # Saturday → Monday
        ("2026-11-21T09:00:00", "2026-11-23T07:30:00+07:00"),
        # lunch break → afternoon period
        ("2026-11-19T12:10:00", "2026-11-19T13:30:00+07:00"),
        # inside office hours: unchanged
        ("2026-11-19T09:15:30", "2026-11-19T09:15:30+07:00"),
        # holiday eve (Wed 29/4 evening; 30/4 and 1/5 holidays, then the weekend) → Mon 4/5
        ("2026-04-29T17:30:00", "2026-05-04T07:30:00+07:00"),
        # early morning before opening → same day
        ("2026-11-19T06:00:00", "2026-11-19T07:30:00+07:00"),
    ],
)
async def test_legal_receipt_time(make_gateway, arrived, legal):
    gw = await make_gateway(office_holidays=HOLIDAYS)
    moment = datetime.fromisoformat(arrived).replace(tzinfo=VN)
    gw.app.state.clock = lambda: moment
    keys = await gw.setup(A80, H17)
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])
    assert r.status_code == 202, r.text
    body = r.json()
    # received_at is exact; shown in Vietnam time with its zone
    assert body["received_at"] == moment.isoformat()
    assert body["legal_received_at"] == legal
    item = (await gw.get("/api/v1/inbox", keys[H17])).json()["items"][0]
    assert item["legal_received_at"] == legal
    tl = (await gw.get(f"/api/v1/packages/{body['package_id']}/timeline", keys[A80])).json()
    assert tl["recipients"][0]["legal_received_at"] == legal
    assert tl["package"]["legal_received_at"] == legal


async def test_times_are_stored_in_utc(make_gateway):
    gw = await make_gateway()
    moment = datetime(2026, 11, 19, 9, 0, tzinfo=VN)
    gw.app.state.clock = lambda: moment
    keys = await gw.setup(A80, H17)
    body = (await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])).json()
    from gateway.packages.repository import PackageRepository

    async with gw.db.sessionmaker() as s:
        row = await PackageRepository(s).get(body["package_id"])
    assert row.received_at.utcoffset().total_seconds() == 0
    assert row.received_at == moment
    assert row.received_at.hour == 2  # 09:00 in Vietnam is 02:00 UTC
