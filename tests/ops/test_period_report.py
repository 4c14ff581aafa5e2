"""The period report (month / quarter / year) against seeded figures: documents sent through
intake at pinned times; one turned into a revocation and the processing statuses written
directly (their own routing is tested elsewhere), to check revocations apart, priorities,
copies, outcomes and the median time to done; CSV and XLSX with Vietnamese headings."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from ops_support import A80, H17, document
from sqlalchemy import update

from gateway.ops.period_report import BadPeriod, parse_period
from gateway.packages.models import BusinessStatus, Package
from outages.outage_support import vn


def test_parse_period() -> None:
    assert parse_period("2026-10")[1:] == (vn(2026, 10, 1).date(), vn(2026, 11, 1).date())
    assert parse_period("2026-12")[1:] == (vn(2026, 12, 1).date(), vn(2027, 1, 1).date())
    assert parse_period("2026-Q3")[1:] == (vn(2026, 7, 1).date(), vn(2026, 10, 1).date())
    assert parse_period("2026-q4")[0] == "2026-Q4"
    assert parse_period("2026")[1:] == (vn(2026, 1, 1).date(), vn(2027, 1, 1).date())
    for bad in ("2026-13", "2026-Q5", "26", "2026/10", ""):
        with pytest.raises(BadPeriod):
            parse_period(bad)


async def seed(gw) -> dict[str, str]:
    keys = await gw.setup(A80, H17)
    ids = {}
    moments = {
        "ordinary": (vn(2026, 7, 1, 0, 30), 0),  # first minutes of Q3 in Vietnam time
        "flash": (vn(2026, 8, 3, 9, 0), 3),
        "revoke": (vn(2026, 9, 30, 23, 59), 0),  # last minute of Q3
        "next_q": (vn(2026, 10, 1, 0, 0), 4),  # Q4
    }
    for n, (name, (at, priority)) in enumerate(moments.items()):
        gw.app.state.clock = lambda at=at: at
        r = await gw.post_package(document(n, priority=priority), keys[A80])
        assert r.status_code == 202, r.text
        ids[name] = r.json()["package_id"]
    async with gw.db.sessionmaker() as s:
        await s.execute(update(Package).where(Package.id == ids["revoke"]).values(business_type=1))
        for name, code, hours in (
            ("ordinary", "03", 2),
            ("ordinary", "06", 10),
            ("flash", "06", 4),
        ):
            arrived = moments[name][0]
            s.add(
                BusinessStatus(
                    status_package_id=ids["next_q"],
                    original_package_id=ids[name],
                    sender_code=H17,
                    agency_code=H17,
                    status_code=code,
                    timestamp="",
                    status_at=arrived + timedelta(hours=hours),
                    received_at=arrived + timedelta(hours=hours),
                )
            )
        await s.commit()
    # H17 fetches the flash document in August
    gw.app.state.clock = lambda: vn(2026, 8, 3, 10, 0)
    r = await gw.get(f"/api/v1/packages/{ids['flash']}", keys[H17])
    assert r.status_code == 200, r.text
    return ids


async def test_quarter_figures_csv_and_xlsx(gw) -> None:
    await seed(gw)
    admin = await gw.admin()
    gw.app.state.clock = lambda: vn(2026, 10, 5, 8, 0)
    r = await gw.http.get(
        "/api/v1/admin/reports/period", params={"period": "2026-Q3"}, headers=admin
    )
    assert r.status_code == 200, r.text
    body = r.json()
    rows = {row["agency_code"]: row for row in body["rows"]}
    a80, h17, total = rows[A80], rows[H17], body["total"]
    assert (a80["sent_new"], a80["revoked"], a80["sent_flash"], a80["sent_ordinary"]) == (
        2,
        1,
        1,
        1,
    )
    assert a80["sent_flash_scheduled"] == 0  # the Q4 document is not in Q3
    assert (h17["received"], h17["not_fetched"], h17["failed"]) == (1, 1, 0)
    assert (h17["accepted"], h17["done"], h17["refused"]) == (1, 2, 0)
    assert h17["median_hours_to_done"] == 7.0  # median of 10 h and 4 h
    # in working hours: Wednesday 00:30–10:30 is 07:30–10:30 (3 h); Monday 09:00–13:00 is
    # 09:00–11:30 (2.5 h, the afternoon starts at 13:30)
    assert h17["median_working_hours_to_done"] == 2.75
    assert total["sent_new"] == 2 and total["median_hours_to_done"] == 7.0
    assert total["median_working_hours_to_done"] == 2.75
    assert "giờ làm việc" in body["headings"]["median_working_hours_to_done"]

    r = await gw.http.get(
        "/api/v1/admin/reports/period", params={"period": "2026-Q3", "format": "csv"}, headers=admin
    )
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0] == ["Kỳ báo cáo", "2026-Q3"]
    assert lines[1][:3] == ["Mã định danh cơ quan", "Tên cơ quan", "Gửi: văn bản mới"]
    assert lines[-1][0] == "TỔNG"

    r = await gw.http.get(
        "/api/v1/admin/reports/period", params={"period": "2026", "format": "xlsx"}, headers=admin
    )
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet.cell(2, 6).value.startswith("Gửi: tổng")
    assert sheet.cell(2, 7).value == "Thu hồi văn bản"
    assert [c.value for c in sheet[sheet.max_row]][:3] == ["TỔNG", "Toàn tỉnh", 3]  # year: 3 new

    r = await gw.http.get(
        "/api/v1/admin/reports/period", params={"period": "2026-Q5"}, headers=admin
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_FAILED"


async def test_dashboard_period_page_with_charts(gw) -> None:
    from ops_support import logged_in

    await seed(gw)
    gw.app.state.clock = lambda: vn(2026, 10, 5, 8, 0)
    await logged_in(gw)
    page = await gw.http.get("/dashboard/reports/period")  # default: the current quarter
    assert page.status_code == 200, page.text
    assert "2026-Q4" in page.text
    page = await gw.http.get("/dashboard/reports/period?period=2026-Q3")
    assert page.status_code == 200, page.text
    assert page.text.count("<svg") == 3 and "Thu hồi văn bản" in page.text
    assert f'data-agency="{A80}"' in page.text
    page = await gw.http.get("/dashboard/reports/period?period=<script>")
    assert page.status_code == 200 and "<script>" not in page.text


def test_cli_writes_the_period_report(cli_env, tmp_path) -> None:
    from typer.testing import CliRunner

    from gateway.cli import app

    out = tmp_path / "q3.xlsx"
    r = CliRunner().invoke(app, ["report", "period", "2026-Q3", "--format", "xlsx", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert load_workbook(out).active.cell(2, 1).value == "Mã định danh cơ quan"
    r = CliRunner().invoke(app, ["report", "period", "2026-Q9"])
    assert r.exit_code != 0


async def test_monthly_report_no_longer_counts_revocations_as_sent(gw) -> None:
    await seed(gw)  # September 2026 holds only the revocation
    admin = await gw.admin()
    r = await gw.http.get(
        "/api/v1/admin/reports/monthly", params={"month": "2026-09"}, headers=admin
    )
    assert r.status_code == 200, r.text
    a80 = next(a for a in r.json()["rows"] if a["agency_code"] == A80)
    assert a80["sent"] == 0 and a80["revoked"] == 1
    r = await gw.http.get(
        "/api/v1/admin/reports/monthly", params={"month": "2026-08"}, headers=admin
    )
    a80 = next(a for a in r.json()["rows"] if a["agency_code"] == A80)
    assert a80["sent"] == 1


def test_formula_like_agency_names_are_text_in_csv_and_xlsx() -> None:
    """gateway.csv_out: a unit named like a formula is never a formula in either format."""
    import io
    from datetime import UTC, date, datetime

    from openpyxl import load_workbook

    from gateway.ops.period_report import AgencyPeriod, PeriodReport

    evil = '=HYPERLINK("http://evil.example","x")'
    report = PeriodReport(
        period="2026-Q3",
        first_day=date(2026, 7, 1),
        next_day=date(2026, 10, 1),
        rows=[AgencyPeriod("000.00.01.H98", evil, sent_new=2)],
        total=AgencyPeriod("TỔNG", "Toàn tỉnh", sent_new=2),
        generated_at=datetime(2026, 10, 1, tzinfo=UTC),
    )
    text = report.to_csv().decode("utf-8-sig")
    assert "'" + evil.replace('"', '""') in text
    sheet = load_workbook(io.BytesIO(report.to_xlsx())).active
    names = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert "'" + evil in names
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
