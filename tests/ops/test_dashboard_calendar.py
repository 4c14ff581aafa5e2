"""Dashboard: the office calendar page (admins change it, audited) and the agencies page with
administrator contacts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from gateway.audit.models import AuditEvent
from ops.ops_support import csrf_of, logged_in

PINNED = datetime(2026, 8, 3, 2, 0, tzinfo=UTC)


async def test_calendar_page_shows_holidays_and_admin_changes_it(gw) -> None:
    gw.app.state.clock = lambda: PINNED
    await logged_in(gw, "boss", "admin")
    page = await gw.http.get("/dashboard/calendar")
    assert page.status_code == 200, page.text
    assert 'data-day="2026-09-02"' in page.text and "Quốc khánh" in page.text
    assert 'data-day="2026-08-22"' in page.text  # working Saturday
    csrf = csrf_of(page.text)

    r = await gw.http.post(
        "/dashboard/calendar/changes",
        data={"csrf_token": csrf, "kind": "day_off", "day": "2026-10-12", "note": "Ngày tỉnh"},
    )
    assert r.status_code == 303 and "calendar_added" in r.headers["location"]
    assert not gw.app.state.calendar.is_working_day(datetime(2026, 10, 12).date())
    r = await gw.http.post(
        "/dashboard/calendar/changes",
        data={
            "csrf_token": csrf,
            "kind": "office_hours",
            "first_day": "04-15",
            "last_day": "10-14",
            "periods": "17:00-07:00",
        },
    )
    assert "calendar_invalid" in r.headers["location"]
    page = await gw.http.get("/dashboard/calendar")
    assert "Ngày tỉnh" in page.text
    async with gw.db.sessionmaker() as s:
        [event] = list(
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "calendar.change_added"))
        )
    assert event.actor == "operator:boss"
    # without the CSRF token: refused
    r = await gw.http.post(
        "/dashboard/calendar/changes", data={"kind": "day_off", "day": "2026-10-13"}
    )
    assert r.status_code == 403
    assert await gw.count("calendar_changes") == 1


async def test_operators_see_the_calendar_but_cannot_change_it(gw) -> None:
    await logged_in(gw, "op", "operator")
    page = await gw.http.get("/dashboard/calendar")
    assert page.status_code == 200 and 'id="add-day"' not in page.text
    r = await gw.http.post(
        "/dashboard/calendar/changes",
        data={"csrf_token": csrf_of(page.text), "kind": "day_off", "day": "2026-10-12"},
    )
    assert r.status_code == 403
    assert await gw.count("calendar_changes") == 0


async def test_agencies_page_lists_contacts(gw) -> None:
    await gw.add_agency(
        "000.00.01.H99",
        "Sở <b>TT</b>",
        contact_name="Nguyễn Thị Hoa",
        contact_email="hoa@stttt.example.gov.vn",
        contact_phone="0912345678",
    )
    await logged_in(gw)
    page = await gw.http.get("/dashboard/agencies")
    assert page.status_code == 200, page.text
    assert "Nguyễn Thị Hoa" in page.text and "+84912345678" in page.text
    assert "Sở &lt;b&gt;TT&lt;/b&gt;" in page.text  # escaped
    csv = await gw.http.get("/dashboard/agencies.csv")
    assert csv.status_code == 200 and "hoa@stttt.example.gov.vn" in csv.text
