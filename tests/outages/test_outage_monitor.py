"""When the monitor opens an incident (both backends): only after the endpoint has been failing
for MORE than 4 working hours by the office calendar — a failure from Friday 16:00 (Vietnam
time) is 1 working hour old all weekend and becomes an incident on Monday after 10:30 — at
most one per agency, audited; holidays and the threshold come from the settings; an agency
no longer pushed to gets none."""

from __future__ import annotations

from outage_support import HOUR, start, vn

from gateway.outages.models import OutageIncident
from ops.ops_support import H17

FRIDAY_1600 = vn(2026, 11, 20, 16, 0)


async def failing_since_friday(make_gateway):
    h = await start(make_gateway, at=FRIDAY_1600)
    await h.send(1)
    h.endpoint.status = None
    await h.deliver()
    return h


async def test_incident_opens_after_more_than_four_working_hours(make_gateway):
    h = await failing_since_friday(make_gateway)
    monitor = h.monitor()
    not_yet = [
        vn(2026, 11, 20, 16, 59),  # Friday: 59 min
        vn(2026, 11, 21, 12, 0),  # Saturday: still 1 working hour
        vn(2026, 11, 22, 23, 0),  # Sunday night
        vn(2026, 11, 23, 9, 0),  # Monday 09:00: 2.5 h
        vn(2026, 11, 23, 10, 30),  # Monday 10:30: exactly 4 h, not more
    ]
    for moment in not_yet:
        h.clock.now = moment
        run = await monitor.run_once()
        assert run.opened == [], moment
    assert await h.incidents() == []

    h.clock.set(2026, 11, 23, 10, 31)
    run = await monitor.run_once()
    [incident] = run.opened
    assert (incident.kind, incident.target, incident.agency_code) == ("agency", H17, H17)
    assert incident.started_at == FRIDAY_1600
    assert incident.opened_at == vn(2026, 11, 23, 10, 31)
    assert incident.closed_at is None and incident.affected == 1
    assert "ConnectError" in incident.last_error

    # still failing: still one incident
    h.clock.set(2026, 11, 24, 9, 0)
    assert (await monitor.run_once()).opened == []
    assert [i.id for i in await h.incidents()] == [incident.id]
    [event] = await h.audit("outage.opened")
    assert event.subject == f"outage:{incident.id}"
    assert event.data["target"] == H17 and event.data["affected"] == 1
    assert event.data["working_seconds"] == 4 * HOUR + 60


async def test_holidays_come_from_the_settings(make_gateway):
    h = await failing_since_friday(make_gateway)
    h.clock.set(2026, 11, 23, 11, 0)  # Monday 11:00: 4.5 working hours…
    holiday = h.monitor(office_holidays="2026-11-23")  # …unless Monday is a holiday
    assert (await holiday.run_once()).opened == []
    h.clock.set(2026, 11, 24, 10, 31)  # Tuesday is Vietnam Culture Day (public holiday)
    assert (await holiday.run_once()).opened == []
    h.clock.set(2026, 11, 25, 10, 31)  # Wednesday: 1 h + 3 h 1 min
    assert len((await holiday.run_once()).opened) == 1


async def test_the_threshold_comes_from_the_settings(make_gateway):
    h = await failing_since_friday(make_gateway)
    h.clock.set(2026, 11, 20, 16, 31)
    assert (await h.monitor().run_once()).opened == []
    assert len((await h.monitor(outage_threshold_working_hours=0.5).run_once()).opened) == 1


async def test_no_incident_for_an_agency_no_longer_pushed_to(make_gateway):
    h = await failing_since_friday(make_gateway)
    r = await h.gw.http.patch(
        f"/api/v1/admin/agencies/{H17}", json={"delivery_mode": "poll"}, headers=await h.gw.admin()
    )
    assert r.status_code == 200, r.text
    h.clock.set(2026, 11, 24, 9, 0)
    assert (await h.monitor().run_once()).opened == []
    assert await h.incidents() == []


async def test_one_open_incident_per_agency_even_with_two_monitors(make_gateway):
    """Two replicas' monitors at the same moment: the health row's lock lets one open it."""
    import asyncio

    h = await failing_since_friday(make_gateway)
    h.clock.set(2026, 11, 23, 11, 0)
    runs = await asyncio.gather(h.monitor().run_once(), h.monitor().run_once())
    assert sum(len(r.opened) for r in runs) == 1
    incidents: list[OutageIncident] = await h.incidents()
    assert len(incidents) == 1
