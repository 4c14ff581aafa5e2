"""Outage notices: e-mail over SMTP with STARTTLS (a real local aiosmtpd server) to the operators
and the contacts of the agencies involved, and a notice in the affected senders' lists."""

from __future__ import annotations

import pytest
from outage_support import start, vn
from smtp_support import start_server
from sqlalchemy import select

from gateway.outages.models import OutageEmail
from ops.ops_support import A80, H17

OPERATORS = ["truc@stttt.example.gov.vn"]


@pytest.fixture
def smtp(tmp_path):
    server = start_server(tmp_path)
    yield server
    server.stop()


async def _contacts(h) -> None:
    admin = await h.gw.admin()
    for code, email in ((H17, "qt.h17@example.gov.vn"), (A80, "qt.a80@example.gov.vn")):
        r = await h.gw.http.patch(
            f"/api/v1/admin/agencies/{code}",
            json={"contact_name": "Quản trị", "contact_email": email},
            headers=admin,
        )
        assert r.status_code == 200, r.text


async def _emails(h) -> list[OutageEmail]:
    async with h.db.sessionmaker() as s:
        return list(await s.scalars(select(OutageEmail).order_by(OutageEmail.id)))


async def test_open_and_close_are_mailed_and_noticed(make_gateway, smtp) -> None:
    h = await start(
        make_gateway, at=vn(2026, 11, 20, 16, 0), **smtp.settings(outage_notify_emails=OPERATORS)
    )
    await _contacts(h)
    delivery_id = await h.send(1)
    h.endpoint.status = None
    await h.deliver()

    h.clock.set(2026, 11, 23, 10, 31)
    run = await h.monitor().run_once()
    assert len(run.opened) == 1
    [mail] = smtp.sink.messages
    assert smtp.sink.tls_seen == [True]  # sent after STARTTLS
    assert sorted(mail.recipients) == sorted(
        [*OPERATORS, "qt.h17@example.gov.vn", "qt.a80@example.gov.vn"]
    )
    assert mail.message["Subject"].startswith("[00.99.W00] Sự cố:")
    body = mail.message.get_content()
    assert "000.00.00.A80,2026/10/01,1/OPS" in body and "bản giấy" in body
    [email] = await _emails(h)
    assert email.state == "sent" and email.event == "opened"

    # the sender's notice list has the outage, for the held-up document
    await h.deliver(notices=True)
    r = await h.gw.get("/api/v1/notices", h.sender_key)
    assert r.status_code == 200, r.text
    items = r.json()["items"] if isinstance(r.json(), dict) else r.json()
    outage = [n for n in items if n["type"] == "outage.opened"]
    assert len(outage) == 1 and outage[0]["payload"]["delivery_id"] == delivery_id

    # recovery: the close is mailed at the next monitor step
    h.endpoint.status = 200
    h.clock.set(2026, 11, 23, 14, 0)
    await h.send(2)
    await h.deliver()  # its success closes the incident
    assert len(smtp.sink.messages) == 1
    await h.monitor().run_once()
    assert len(smtp.sink.messages) == 2
    assert smtp.sink.messages[1].message["Subject"].startswith("[00.99.W00] Đã khắc phục")


async def test_mail_waits_while_the_smtp_server_is_away(make_gateway, smtp) -> None:
    h = await start(
        make_gateway,
        at=vn(2026, 11, 20, 16, 0),
        **smtp.settings(outage_notify_emails=OPERATORS),
    )
    await h.send(1)
    h.endpoint.status = None
    await h.deliver()
    smtp.stop()
    h.clock.set(2026, 11, 23, 10, 31)
    assert len((await h.monitor().run_once()).opened) == 1
    [email] = await _emails(h)
    assert email.state == "pending" and email.attempts == 1 and email.last_error
    smtp.start()
    await h.monitor().run_once()
    [email] = await _emails(h)
    assert email.state == "sent" and len(smtp.sink.messages) == 1


async def test_urgent_documents_escalate_after_the_shorter_wait(make_gateway) -> None:
    h = await start(make_gateway, at=vn(2026, 11, 20, 16, 0))
    await h.send(1)  # ordinary
    h.endpoint.status = None
    await h.deliver()
    monitor = h.monitor()  # 4 working hours, 1 for hỏa tốc
    h.clock.set(2026, 11, 23, 7, 31)  # Friday 16:00–17:00 + Monday 07:30–07:31
    assert (await monitor.run_once()).opened == []  # ordinary documents wait 4 h
    h.clock.set(2026, 11, 23, 7, 32)
    await h.send(2, priority=3)  # hỏa tốc
    await h.deliver()
    [incident] = (await monitor.run_once()).opened
    [event] = await h.audit("outage.opened")
    assert event.data["escalated"] is True and incident.affected == 2


async def test_urgent_wait_comes_from_the_settings(make_gateway) -> None:
    h = await start(make_gateway, at=vn(2026, 11, 20, 16, 0))
    await h.send(1, priority=4)  # hỏa tốc hẹn giờ
    h.endpoint.status = None
    await h.deliver()
    h.clock.set(2026, 11, 23, 8, 31)  # 2 h 01 working
    assert (await h.monitor(outage_urgent_threshold_working_hours=2.5).run_once()).opened == []
    assert len((await h.monitor(outage_urgent_threshold_working_hours=2).run_once()).opened) == 1
