"""The gateway's own downtime: recorded at start-up from the newest heartbeat of any process,
only when the gap is longer than the setting; audited; working time from the calendar."""

from __future__ import annotations

from datetime import timedelta

from outage_support import vn
from sqlalchemy import select

from gateway.app import create_app
from gateway.audit.models import AuditEvent
from gateway.outages.models import GatewayDowntime, GatewayHeartbeat


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
        [down] = list(await s.scalars(select(GatewayDowntime)))
        [event] = list(
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "gateway.downtime"))
        )
        beats = list(await s.scalars(select(GatewayHeartbeat)))
    assert down.started_at == vn(2026, 11, 20, 16, 4) and down.ended_at == vn(2026, 11, 23, 9, 0)
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
        assert len(list(await s.scalars(select(GatewayDowntime)))) == 1
