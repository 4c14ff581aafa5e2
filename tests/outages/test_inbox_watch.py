"""Poll-mode agencies that stop collecting their inbox are flagged after the configured working
hours (office calendar, Vietnamese holidays included); fetching the copy clears the flag."""

from __future__ import annotations

from outage_support import QUIET, Clock, vn

from ops.ops_support import A80, H17, document

URL = "/api/v1/admin/outages/stale-inboxes"


async def test_stale_inbox_is_flagged_and_cleared_by_fetching(make_gateway) -> None:
    gw = await make_gateway(**QUIET)
    clock = Clock(vn(2026, 11, 20, 16, 0))  # Friday 16:00
    gw.app.state.clock = clock
    keys = await gw.setup(A80, H17)  # both poll mode
    r = await gw.post_package(document(1), keys[A80])
    assert r.status_code == 202, r.text
    package_id = r.json()["package_id"]
    admin = await gw.admin()

    clock.set(2026, 11, 23, 16, 30)  # 1 h Friday + 7 h Monday: exactly 8 h, not more
    assert (await gw.http.get(URL, headers=admin)).json() == []
    clock.set(2026, 11, 23, 16, 31)
    [flag] = (await gw.http.get(URL, headers=admin)).json()
    assert flag["code"] == H17 and flag["waiting"] == 1
    assert flag["working_seconds"] == 8 * 3600 + 60
    clock.set(2026, 11, 24, 15, 0)  # Tuesday 24/11 is a public holiday: not counted
    [flag] = (await gw.http.get(URL, headers=admin)).json()
    assert flag["working_seconds"] == 8.5 * 3600

    r = await gw.get(f"/api/v1/packages/{package_id}", keys[H17])
    assert r.status_code == 200, r.text
    assert (await gw.http.get(URL, headers=admin)).json() == []


async def test_the_threshold_comes_from_the_settings(make_gateway) -> None:
    gw = await make_gateway(**QUIET, inbox_stale_working_hours=0.5)
    clock = Clock(vn(2026, 11, 20, 16, 0))
    gw.app.state.clock = clock
    keys = await gw.setup(A80, H17)
    assert (await gw.post_package(document(1), keys[A80])).status_code == 202
    clock.set(2026, 11, 20, 16, 31)
    assert len((await gw.http.get(URL, headers=await gw.admin())).json()) == 1


async def test_dashboard_flags_the_stale_inbox(make_gateway) -> None:
    from ops.ops_support import logged_in

    gw = await make_gateway(**QUIET, inbox_stale_working_hours=0.5)
    clock = Clock(vn(2026, 11, 20, 16, 0))
    gw.app.state.clock = clock
    keys = await gw.setup(A80, H17)
    assert (await gw.post_package(document(1), keys[A80])).status_code == 202
    clock.set(2026, 11, 20, 16, 31)
    await logged_in(gw)
    page = await gw.http.get("/dashboard/agencies")
    assert page.status_code == 200, page.text
    assert f'data-stale="{H17}"' in page.text and f'data-stale="{A80}"' not in page.text


OPERATORS = ["truc@stttt.example.gov.vn"]


async def test_a_flagged_inbox_is_an_incident_mailed_once_and_closed_by_collecting(
    make_gateway, tmp_path
) -> None:
    """The monitor opens an `inbox` incident for the flagged agency and mails the operators,
    the agency's contact and the sender's (SMTP with STARTTLS, a real aiosmtpd server); later
    steps of the same stretch add nothing; collecting closes it (mailed too); a new stretch
    is a new incident."""
    from smtp_support import start_server
    from sqlalchemy import select

    from gateway.outages.models import OutageEmail, OutageIncident
    from gateway.outages.monitor import OutageMonitor

    smtp = start_server(tmp_path)
    try:
        gw = await make_gateway(**QUIET, **smtp.settings(outage_notify_emails=OPERATORS))
        clock = Clock(vn(2026, 11, 20, 16, 0))  # Friday 16:00
        gw.app.state.clock = clock
        keys = await gw.setup(A80, H17)  # both poll mode
        admin = await gw.admin()
        for code in (A80, H17):
            r = await gw.http.patch(
                f"/api/v1/admin/agencies/{code}",
                json={"contact_email": f"qt.{code[-3:].lower()}@example.gov.vn"},
                headers=admin,
            )
            assert r.status_code == 200, r.text
        r = await gw.post_package(document(1), keys[A80])
        package_id = r.json()["package_id"]
        monitor = OutageMonitor(gw.db, gw.app.state.settings, clock=clock)

        clock.set(2026, 11, 23, 16, 30)  # exactly 8 working hours: not yet
        assert (await monitor.run_once()).opened == []
        clock.set(2026, 11, 23, 16, 31)
        [incident] = (await monitor.run_once()).opened
        assert (incident.kind, incident.target) == ("inbox", H17)
        assert incident.started_at == vn(2026, 11, 20, 16, 0) and incident.affected == 1
        [mail] = smtp.sink.messages
        assert smtp.sink.tls_seen == [True]
        assert sorted(mail.recipients) == sorted(
            [*OPERATORS, "qt.a80@example.gov.vn", "qt.h17@example.gov.vn"]
        )
        assert "không lấy văn bản về" in mail.message["Subject"]
        assert H17 in mail.message.get_content()

        clock.set(2026, 11, 24, 15, 0)  # still not collected: the same stretch
        run = await monitor.run_once()
        assert (run.opened, run.closed) == ([], [])
        assert len(smtp.sink.messages) == 1

        clock.set(2026, 11, 25, 8, 0)
        assert (await gw.get(f"/api/v1/packages/{package_id}", keys[H17])).status_code == 200
        clock.set(2026, 11, 25, 8, 5)
        [closed] = (await monitor.run_once()).closed
        assert closed.id == incident.id and closed.closed_at == vn(2026, 11, 25, 8, 0)
        # Friday 1 h, Monday 7.5 h, Tuesday 24/11 a holiday, Wednesday 07:30–08:00
        assert closed.working_seconds == 9 * 3600
        assert len(smtp.sink.messages) == 2
        assert "lấy văn bản về trở lại" in smtp.sink.messages[1].message["Subject"]
        assert (await monitor.run_once()).closed == []

        # a new document not collected again: a new stretch, a new incident
        await gw.post_package(document(2), keys[A80])
        clock.set(2026, 11, 26, 10, 0)
        [again] = (await monitor.run_once()).opened
        assert again.id != incident.id
        async with gw.db.sessionmaker() as s:
            incidents = list(await s.scalars(select(OutageIncident)))
            events = [(e.incident_id, e.event) for e in await s.scalars(select(OutageEmail))]
        assert len(incidents) == 2
        assert events == [(incident.id, "opened"), (incident.id, "closed"), (again.id, "opened")]
    finally:
        smtp.stop()
