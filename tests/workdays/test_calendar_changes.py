"""Operators' calendar changes: admin API, audit, effect on legal receipt time, production
start-up refusal without holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from gateway.app import create_app
from gateway.audit.models import AuditEvent
from gateway.calendar import VIETNAM
from gateway.workdays.service import CalendarChanges, CalendarWithoutHolidays

PINNED = datetime(2026, 8, 3, 2, 0, tzinfo=UTC)  # Monday 3 August 2026, 09:00 in Vietnam
URL = "/api/v1/admin/calendar"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=VIETNAM)


async def test_year_view_lists_public_holidays_and_package_swaps(gw) -> None:
    gw.app.state.clock = lambda: PINNED
    r = await gw.http.get(URL, headers=await gw.admin())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["year"] == 2026
    off = {d["day"]: d for d in body["days_off"]}
    assert off["2026-09-02"]["name"] == "Quốc khánh"
    assert off["2026-09-02"]["source"] == "public"
    assert "2026-02-17" in off  # Tết (lunar)
    assert [d["day"] for d in body["working_days"]] == ["2026-08-22"]
    assert (await gw.http.get(URL, params={"year": 2027}, headers=await gw.admin())).json()[
        "year"
    ] == 2027


async def test_added_day_off_changes_the_legal_receipt_time_and_is_audited(gw) -> None:
    gw.app.state.clock = lambda: PINNED
    cal = gw.app.state.calendar
    friday = local(2026, 10, 9, 18, 0)  # after hours: normally Monday 12 October 07:30
    assert cal.legal_receipt_time(friday) == local(2026, 10, 12, 7, 30).astimezone(UTC)
    r = await gw.http.post(
        f"{URL}/changes",
        json={"kind": "day_off", "day": "2026-10-12", "note": "Ngày thành lập tỉnh"},
        headers=await gw.admin(),
    )
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["note"] == "Ngày thành lập tỉnh" and change["created_by"]
    received = gw.app.state.calendar.legal_receipt_time(friday)
    assert received == local(2026, 10, 13, 7, 30).astimezone(UTC)
    view = (await gw.http.get(URL, headers=await gw.admin())).json()
    mine = next(d for d in view["days_off"] if d["day"] == "2026-10-12")
    assert mine == {"day": "2026-10-12", "name": "Ngày thành lập tỉnh", "source": "operator"}

    r = await gw.http.delete(f"{URL}/changes/{change['id']}", headers=await gw.admin())
    assert r.status_code == 200, r.text
    assert gw.app.state.calendar.legal_receipt_time(friday) == local(
        2026, 10, 12, 7, 30
    ).astimezone(UTC)
    async with gw.db.sessionmaker() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.subject == f"calendar:{change['id']}")
            )
        )
    assert sorted(actions) == ["calendar.change_added", "calendar.change_removed"]


async def test_working_saturday_and_summer_hours(gw) -> None:
    gw.app.state.clock = lambda: PINNED
    admin = await gw.admin()
    r = await gw.http.post(
        f"{URL}/changes", json={"kind": "working_day", "day": "2026-10-10"}, headers=admin
    )
    assert r.status_code == 201, r.text
    r = await gw.http.post(
        f"{URL}/changes",
        json={
            "kind": "office_hours",
            "first_day": "04-15",
            "last_day": "10-14",
            "periods": "07:00-11:30,13:00-16:30",
            "note": "Giờ làm việc mùa hè",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    cal = gw.app.state.calendar
    # Friday 9 October 16:45 is after summer hours: the working Saturday, 07:00
    assert cal.legal_receipt_time(local(2026, 10, 9, 16, 45)) == local(2026, 10, 10, 7).astimezone(
        UTC
    )
    # the calendar survives a restart of the process: it is loaded from the database
    again = create_app(gw.app.state.settings)
    async with again.router.lifespan_context(again):
        assert again.state.calendar.is_working_day(date(2026, 10, 10))
        assert again.state.calendar.is_office_time(local(2026, 6, 1, 7, 10))


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {
                "kind": "office_hours",
                "first_day": "13-01",
                "last_day": "04-01",
                "periods": "07:00-11:00",
            },
            422,
            "CALENDAR_CHANGE_INVALID",
        ),
        (
            {
                "kind": "office_hours",
                "first_day": "01-01",
                "last_day": "04-01",
                "periods": "11:00-07:00",
            },
            422,
            "CALENDAR_CHANGE_INVALID",
        ),
        ({"kind": "day_off"}, 422, "VALIDATION_FAILED"),
        ({"kind": "holiday", "day": "2026-10-12"}, 422, "VALIDATION_FAILED"),
    ],
)
async def test_bad_changes_are_refused_and_nothing_is_written(gw, body, status, code) -> None:
    r = await gw.http.post(f"{URL}/changes", json=body, headers=await gw.admin())
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert await gw.count("calendar_changes") == 0


async def test_one_decision_per_day(gw) -> None:
    admin = await gw.admin()
    body = {"kind": "day_off", "day": "2026-10-12"}
    assert (await gw.http.post(f"{URL}/changes", json=body, headers=admin)).status_code == 201
    body["kind"] = "working_day"
    r = await gw.http.post(f"{URL}/changes", json=body, headers=admin)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CALENDAR_DAY_TAKEN"
    assert await gw.count("calendar_changes") == 1


async def test_changes_need_an_admin(gw) -> None:
    keys = await gw.setup("000.00.00.H53")
    r = await gw.post(
        f"{URL}/changes", keys["000.00.00.H53"], json={"kind": "day_off", "day": "2026-10-12"}
    )
    assert r.status_code == 403


async def _start_production(gateway_settings, **overrides):
    app = create_app(gateway_settings)
    # the start-up check reads the app's settings; production-only files are not needed here
    app.state.settings = gateway_settings.model_copy(
        update={"environment": "production", **overrides}
    )
    app.state.clock = lambda: PINNED
    async with app.router.lifespan_context(app):
        return app


async def test_production_refuses_a_calendar_without_holidays_this_year(gateway_settings) -> None:
    with pytest.raises(CalendarWithoutHolidays, match="2026"):
        await _start_production(gateway_settings, office_public_holidays="")
    # holidays of another year do not count
    with pytest.raises(CalendarWithoutHolidays):
        await _start_production(
            gateway_settings, office_public_holidays="", office_holidays="2025-09-02"
        )
    # Vietnam's public holidays (the default) are enough
    await _start_production(gateway_settings)


async def test_production_accepts_operator_days_off(gateway_settings) -> None:
    app = create_app(gateway_settings)
    async with app.router.lifespan_context(app), app.state.db.sessionmaker() as session:
        await CalendarChanges(session, "test").add_day(
            "day_off", date(2026, 9, 2), "Quốc khánh"
        )
        await session.commit()
    await _start_production(gateway_settings, office_public_holidays="")
