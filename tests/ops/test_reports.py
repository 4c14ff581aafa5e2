"""The monthly report (the period report for a month) against a seeded month (October 2026,
Vietnam time) with known figures: every number of every agency, month boundaries in Vietnam
time, the on-time rule with a holiday, the CSV (Vietnamese headings) from the API, the dashboard
and `gateway report monthly`."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from ops_support import A80, H17, create_operator, document, logged_in
from sqlalchemy import update

from gateway.ops.period_report import COUNTS, HEADINGS
from gateway.packages.models import Package
from gateway.packages.service import SignatureVerdict

VN = ZoneInfo("Asia/Ho_Chi_Minh")
G01, Z99, Y98 = "000.00.00.G01", "000.00.00.Z99", "000.00.00.Y98"
SIGNED_MARK = "[ký số]"

TO_BLOCK = re.compile(rb"(\s*<edXML:To>.*?</edXML:To>)", re.S)


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN)


def build(
    n: int, sender: str, recipients: list[str], promulgation: str, *, signed: bool, paper: int
) -> bytes:
    raw = document(
        n,
        subject=f"Văn bản số {n} {SIGNED_MARK if signed else ''}".strip(),
        promulgation=promulgation,
        paper=paper,
    )
    raw = raw.replace(
        b"<edXML:OrganId>000.00.00.A80</edXML:OrganId>",
        f"<edXML:OrganId>{sender}</edXML:OrganId>".encode(),
        1,
    )
    block = TO_BLOCK.search(raw).group(1)  # type: ignore[union-attr]
    blocks = b"".join(block.replace(H17.encode(), r.encode()) for r in recipients)
    return raw.replace(block, blocks, 1)


async def fake_signature_check(package, raw: bytes, _tree=None):
    signed = SIGNED_MARK.encode() in raw
    cls = "signed-valid" if signed else "unsigned"
    return SignatureVerdict(cls, not signed, {"class": cls})


async def seed_month(gw) -> None:
    gw.app.state.signature_check = fake_signature_check
    keys = await gw.setup(A80, H17, G01, Z99)
    await gw.add_agency(Y98, active=False)
    clock = gw.app.state

    async def send(n, sender, recipients, at, promulgation, *, signed, paper) -> dict:
        clock.clock = lambda: at.astimezone(VN)
        raw = build(n, sender, recipients, promulgation, signed=signed, paper=paper)
        r = await gw.post_package(raw, keys[sender])
        assert r.status_code == 202, r.text
        return r.json()

    async def fetch(body: dict, recipient: str, at: datetime, *, ack: bool = False) -> None:
        clock.clock = lambda: at
        r = await gw.get(f"/api/v1/packages/{body['package_id']}", keys[recipient])
        assert r.status_code == 200, r.text
        if ack:
            delivery = next(d for d in body["deliveries"] if d["recipient"] == recipient)
            r = await gw.post(f"/api/v1/deliveries/{delivery['delivery_id']}/ack", keys[recipient])
            assert r.status_code == 200, r.text

    d1 = await send(1, A80, [H17], vn(2026, 10, 5, 9), "2026/10/02", signed=True, paper=0)
    d2 = await send(2, A80, [H17, G01], vn(2026, 10, 6, 14), "2026/10/02", signed=False, paper=1)
    d3 = await send(3, A80, [G01], vn(2026, 10, 8, 11, 30), "2026/10/07", signed=True, paper=1)
    d4 = await send(4, G01, [A80], vn(2026, 10, 9, 8), "2026/10/08", signed=False, paper=0)
    d5 = await send(5, A80, [H17], vn(2026, 9, 30, 23), "2026/09/30", signed=False, paper=0)
    await send(6, A80, [H17], vn(2026, 10, 31, 23, 30), "2026/10/30", signed=False, paper=0)
    await send(7, A80, [H17], vn(2026, 11, 1, 0, 10), "2026/10/30", signed=True, paper=1)
    d8 = await send(8, A80, [G01], vn(2026, 10, 13, 10), "2026/10/09", signed=True, paper=0)

    await fetch(d1, H17, vn(2026, 10, 5, 15))
    await fetch(d2, H17, vn(2026, 10, 7, 9))
    await fetch(d2, G01, vn(2026, 11, 2, 8))  # received in November
    await fetch(d3, G01, vn(2026, 10, 8, 14), ack=True)
    await fetch(d4, A80, vn(2026, 10, 9, 10))
    await fetch(d5, H17, vn(2026, 10, 1, 8))  # sent in September, received in October
    async with gw.db.sessionmaker() as s:
        # doc 4: an old row without the paper flag and without a readable promulgation date
        await s.execute(
            update(Package)
            .where(Package.id == d4["package_id"])
            .values(paper=None, promulgation_date=None)
        )
        await s.commit()
    # doc 8's copy to G01 failed: not received
    from gateway.packages.models import Delivery

    async with gw.db.sessionmaker() as s:
        await s.execute(
            update(Delivery)
            .where(Delivery.id == d8["deliveries"][0]["delivery_id"])
            .values(state="failed")
        )
        await s.commit()
    from gateway.db import utcnow

    clock.clock = utcnow


ZERO = dict.fromkeys(COUNTS, 0)
EXPECTED = {
    A80: {
        **ZERO,
        "sent_new": 5,
        "sent": 5,
        "sent_signed": 3,
        "sent_unsigned": 2,
        "sent_on_time": 4,
        "sent_late": 1,
        "sent_with_paper": 2,
        "sent_ordinary": 5,
        "received": 1,
        "received_unsigned": 1,
    },
    H17: {
        **ZERO,
        "received": 3,
        "received_signed": 1,
        "received_unsigned": 2,
        "received_with_paper": 1,
        "not_fetched": 1,  # document 6, sent on 31 October late evening
    },
    G01: {
        **ZERO,
        "sent_new": 1,
        "sent": 1,
        "sent_unsigned": 1,
        "sent_timing_unknown": 1,
        "sent_paper_unknown": 1,
        "sent_ordinary": 1,
        "received": 1,
        "received_signed": 1,
        "received_with_paper": 1,
        "acknowledged": 1,
        "failed": 1,  # document 8's copy
    },
    Z99: dict(ZERO),
}
KEY_OF = {heading: key for key, heading in HEADINGS}


def rows_of_csv(data: bytes) -> dict[str, dict[str, str]]:
    """The CSV's rows by agency code, keyed by the report's keys (the headings are Vietnamese)."""
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read the Vietnamese names
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0][0] == "Kỳ báo cáo"
    keys = [KEY_OF[heading] for heading in lines[1]]
    return {line[0]: dict(zip(keys, line, strict=True)) for line in lines[2:]}


async def test_seeded_month_figures(make_gateway):
    gw = await make_gateway(office_holidays="2026-10-12")
    await seed_month(gw)
    admin = {"Authorization": f"Bearer {await create_operator(gw, 'root', 'admin')}"}
    r = await gw.http.get(
        "/api/v1/admin/reports/monthly", params={"month": "2026-10"}, headers=admin
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["month"] == body["period"] == "2026-10"
    got = {row["agency_code"]: {k: row[k] for k in COUNTS} for row in body["rows"]}
    assert got == EXPECTED  # Y98 is inactive with no activity: not listed
    assert body["total"]["sent"] == 6 and body["total"]["received"] == 5
    assert body["total"]["agency_code"] == "TỔNG"

    # the same figures as CSV, from the API and from the dashboard (byte for byte)
    r = await gw.http.get(
        "/api/v1/admin/reports/monthly",
        params={"month": "2026-10", "format": "csv"},
        headers=admin,
    )
    assert r.headers["content-type"].startswith("text/csv")
    rows = rows_of_csv(r.content)
    assert set(rows) == {*EXPECTED, "TỔNG"}
    for code, expected in EXPECTED.items():
        assert {k: int(rows[code][k]) for k in expected} == expected, code
    assert rows[A80]["agency_name"] == f"Cơ quan {A80}"
    assert r.content.decode("utf-8-sig").startswith("Kỳ báo cáo,2026-10")

    await logged_in(gw, "lan")
    dash = await gw.http.get("/dashboard/reports/monthly.csv", params={"month": "2026-10"})
    assert dash.content == r.content
    page = await gw.http.get("/dashboard/reports", params={"month": "2026-10"})
    assert page.status_code == 200
    assert 'href="/dashboard/reports/monthly.csv?month=2026-10"' in page.text
    assert "@media print" in (await gw.http.get("/dashboard/static/dashboard.css")).text

    # September and November see the boundary documents
    sep = (
        await gw.http.get(
            "/api/v1/admin/reports/monthly", params={"month": "2026-09"}, headers=admin
        )
    ).json()
    assert next(a for a in sep["rows"] if a["agency_code"] == A80)["sent"] == 1
    nov = (
        await gw.http.get(
            "/api/v1/admin/reports/monthly", params={"month": "2026-11"}, headers=admin
        )
    ).json()
    nov_rows = {a["agency_code"]: a for a in nov["rows"]}
    assert nov_rows[A80]["sent"] == 1 and nov_rows[A80]["sent_signed"] == 1
    assert nov_rows[G01]["received"] == 1

    bad = await gw.http.get(
        "/api/v1/admin/reports/monthly", params={"month": "2026-13"}, headers=admin
    )
    assert bad.status_code == 422


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_cli_writes_the_same_csv(make_gateway, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from gateway.cli import app as cli
    from gateway.settings import get_settings

    gw = await make_gateway(office_holidays="2026-10-12")
    await seed_month(gw)
    admin = {"Authorization": f"Bearer {await create_operator(gw, 'root', 'admin')}"}
    api = await gw.http.get(
        "/api/v1/admin/reports/monthly",
        params={"month": "2026-10", "format": "csv"},
        headers=admin,
    )
    settings = gw.app.state.settings
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_OFFICE_HOLIDAYS", "2026-10-12")
    monkeypatch.setenv("GATEWAY_AUTO_MIGRATE", "false")
    get_settings.cache_clear()
    out = tmp_path / "bao-cao.csv"
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            ["report", "monthly", "--month", "2026-10", "--output", str(out)],
        )
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == api.content
        stdout = await asyncio.to_thread(
            CliRunner().invoke, cli, ["report", "monthly", "--month", "2026-10"]
        )
        assert stdout.exit_code == 0
        assert stdout.stdout_bytes == api.content
        bad = await asyncio.to_thread(
            CliRunner().invoke, cli, ["report", "monthly", "--month", "10/2026"]
        )
        assert bad.exit_code != 0
    finally:
        get_settings.cache_clear()


def test_on_time_rule_uses_the_end_of_the_next_working_morning():
    from gateway.calendar import OfficeCalendar
    from gateway.ops.reports import parse_month, timeliness

    cal = OfficeCalendar.from_config(holidays="2026-10-12")
    # promulgated Friday 9 Oct; Monday 12 is a holiday: the deadline is Tuesday 13, 11:30
    assert timeliness(cal, "2026/10/09", vn(2026, 10, 13, 11, 30)) == "on_time"
    assert timeliness(cal, "2026/10/09", vn(2026, 10, 13, 11, 30, 1)) == "late"
    assert timeliness(cal, "2026-10-09", vn(2026, 10, 9, 16)) == "on_time"  # same day
    assert timeliness(cal, None, vn(2026, 10, 9)) == "unknown"
    assert timeliness(cal, "không rõ", vn(2026, 10, 9)) == "unknown"
    assert parse_month("2026-12")[1].isoformat() == "2027-01-01"
