"""Operators' calendar changes reach the delivery worker and the outage monitor (which are
not requests) through CalendarCache: loaded from the database, reloaded after its TTL."""

from __future__ import annotations

from datetime import date

from gateway.workdays.cache import CalendarCache
from gateway.workdays.service import CalendarChanges


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_cache_picks_up_changes_after_its_ttl(gw) -> None:
    ticks = Ticks()
    cache = CalendarCache(gw.db, gw.app.state.settings, ttl=60, monotonic=ticks)
    day = date(2026, 10, 12)
    assert (await cache.get()).is_working_day(day)
    async with gw.db.sessionmaker() as s:
        await CalendarChanges(s, "test").add_day("day_off", day, "Ngày tỉnh")
        await s.commit()
    ticks.now = 59
    assert (await cache.get()).is_working_day(day)  # not reloaded yet
    ticks.now = 60
    assert not (await cache.get()).is_working_day(day)


async def test_the_monitor_uses_the_databases_calendar(gw) -> None:
    from gateway.outages.monitor import OutageMonitor

    async with gw.db.sessionmaker() as s:
        await CalendarChanges(s, "test").add_day("day_off", date(2026, 10, 12), "")
        await s.commit()
    monitor = OutageMonitor(gw.db, gw.app.state.settings, clock=gw.app.state.clock)
    await monitor.run_once()
    assert not monitor.calendar.is_working_day(date(2026, 10, 12))
