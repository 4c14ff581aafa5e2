"""The gateway's own downtime: recorded at start-up from the newest heartbeat of any process,
only when the gap is longer than the setting, as a closed outage incident of kind `gateway`;
audited; working time from the calendar; announced (notices, e-mail) and listed where the
other incidents are (admin API, outage report, period report, dashboard)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from outage_support import QUIET, vn
from sqlalchemy import select

from conftest import GatewayClient
from gateway.app import create_app
from gateway.audit.models import AuditEvent
from gateway.outages.models import GatewayHeartbeat, OutageEmail, OutageIncident
from gateway.packages.models import Notice
from ops.ops_support import A80, H17, create_operator, document, logged_in


async def _run_once(settings, at):
    app = create_app(settings)
    app.state.clock = lambda: at
    async with app.router.lifespan_context(app):
        pass
    return app


async def test_downtime_is_recorded_on_restart(gateway_settings) -> None:
    settings = gateway_settings.model_copy(update={"outage_monitor_interval": 0})
    await _run_once(settings, vn(2026, 11, 20, 16, 0))  # Friday 16:00: last sign of life
    await _run_once(settings, vn(2026, 11, 20, 16, 4))  # a restart 4 minutes later: nothing
    app = await _run_once(settings, vn(2026, 11, 23, 9, 0))  # back on Monday 09:00
    async with app.state.db.sessionmaker() as s:
        [down] = list(await s.scalars(select(OutageIncident)))
        [event] = list(
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "gateway.downtime"))
        )
        beats = list(await s.scalars(select(GatewayHeartbeat)))
    assert (down.kind, down.target) == ("gateway", "gateway")
    assert down.started_at == vn(2026, 11, 20, 16, 4) and down.closed_at == vn(2026, 11, 23, 9, 0)
    assert down.duration_seconds == int(timedelta(hours=64, minutes=56).total_seconds())
    # Friday 16:04–17:00 and Monday 07:30–09:00
    assert down.working_seconds == (56 + 90) * 60
    assert event.data["duration_seconds"] == down.duration_seconds
    assert max(b.beat_at for b in beats) == vn(2026, 11, 23, 9, 0)


async def test_the_minimum_gap_comes_from_the_settings(gateway_settings) -> None:
    settings = gateway_settings.model_copy(
        update={"outage_monitor_interval": 0, "gateway_downtime_min_seconds": 60}
    )
    await _run_once(settings, vn(2026, 11, 20, 16, 0))
    app = await _run_once(settings, vn(2026, 11, 20, 16, 2))
    async with app.state.db.sessionmaker() as s:
        assert len(list(await s.scalars(select(OutageIncident)))) == 1


@contextlib.asynccontextmanager
async def _serving(settings, at) -> AsyncIterator[GatewayClient]:
    """A gateway started at `at` (its heartbeat then), with an HTTP client."""
    app = create_app(settings)
    app.state.clock = lambda: at
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http,
    ):
        yield GatewayClient(app, http)


async def test_downtime_is_an_incident_announced_and_listed(gateway_settings) -> None:
    """A copy waiting in H17's inbox while the gateway was down: its sender gets a notice, an
    e-mail is queued, and the admin API, the outage report and the dashboard show it."""
    settings = gateway_settings.model_copy(update=QUIET)
    async with _serving(settings, vn(2026, 11, 20, 15, 0)) as gw:
        keys = await gw.setup(A80, H17)
        r = await gw.post_package(document(1), keys[A80])
        assert r.status_code == 202, r.text
        delivery_id = r.json()["deliveries"][0]["delivery_id"]
        gw.app.state.clock = lambda: vn(2026, 11, 20, 16, 0)
    # the last heartbeat was at the start (15:00): down from then to Monday 09:00
    async with _serving(settings, vn(2026, 11, 23, 9, 0)) as gw:
        async with gw.db.sessionmaker() as s:
            [down] = list(await s.scalars(select(OutageIncident)))
            [email] = list(await s.scalars(select(OutageEmail)))
        assert down.kind == "gateway" and down.affected == 1
        assert (email.incident_id, email.event, email.state) == (down.id, "closed", "pending")

        admin = {"Authorization": f"Bearer {await create_operator(gw, 'root', 'admin')}"}
        [listed] = (await gw.http.get("/api/v1/admin/outages/downtimes", headers=admin)).json()
        assert listed["id"] == down.id and listed["working_seconds"] == (120 + 90) * 60
        report = await gw.http.get(
            "/api/v1/admin/reports/outages",
            params={"from": "2026-11-20", "to": "2026-11-23", "agency": "gateway"},
            headers=admin,
        )
        [entry] = report.json()["incidents"]
        assert entry["kind"] == "gateway" and entry["state"] == "closed"
        assert [c["delivery_id"] for c in entry["affected"]] == [delivery_id]
        async with gw.db.sessionmaker() as s:  # handed to the worker like every notice
            [notice] = list(await s.scalars(select(Notice)))
        assert (notice.agency_code, notice.type) == (A80, "outage.closed")
        assert notice.payload["incident_id"] == down.id
        period = await gw.http.get(
            "/api/v1/admin/reports/period", params={"period": "2026-11"}, headers=admin
        )
        [line] = period.json()["incidents"]
        assert (line["id"], line["kind"], line["working_hours"]) == (down.id, "gateway", 3.5)
        assert line["kind_name"] == "Trục liên thông ngừng hoạt động" and line["affected"] == 1
        await logged_in(gw, "lan")
        page = await gw.http.get("/dashboard/outages")
        assert f'data-incident="{down.id}"' in page.text
        assert "Trục liên thông ngừng hoạt động" in page.text
        page = await gw.http.get("/dashboard/reports/period", params={"period": "2026-Q4"})
        assert f'data-incident="{down.id}" data-kind="gateway"' in page.text
