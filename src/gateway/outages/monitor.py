"""The outage monitor: one step, run every `outage_monitor_interval` seconds in the server
process (`run_outage_monitor`, in the app lifespan), or called directly with an injected clock.

A step reads every target's health and the open incidents, then:

- opens an incident for each target failing for longer than the threshold of working time
  (gateway.outages.service decides, under the target's health row lock, so several replicas
  running the monitor open it once);
- closes, as of the success that ended it, each open incident whose target is healthy again
  (normally the success's own unit of work closes it: this covers a crash or an error there);
- refreshes the affected count and last error of the incidents still open;
- opens and closes the `inbox` incidents of poll-mode agencies that stopped collecting their
  inbox for `GATEWAY_INBOX_STALE_WORKING_HOURS` (gateway.outages.inbox_watch);
- sends the outage e-mails these (and the gateway's downtime, recorded at start-up) queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import FastAPI

from ..calendar import OfficeCalendar
from ..db import Database, utcnow
from ..settings import Settings
from ..uow import write_session
from ..workdays.cache import CalendarCache
from .inbox_watch import watch_inboxes
from .mailer import send_pending
from .models import PUSH_KINDS, OutageIncident
from .repository import OutageRepository
from .service import OutageService, is_due

log = logging.getLogger(__name__)


@dataclass
class MonitorRun:
    opened: list[OutageIncident] = field(default_factory=list)
    closed: list[OutageIncident] = field(default_factory=list)


class OutageMonitor:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        calendar: OfficeCalendar | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.calendar = calendar or settings.office_calendar()
        # without an injected calendar: the database's, operators' changes included
        self._calendars = None if calendar is not None else CalendarCache(db, settings)
        self.threshold = timedelta(hours=settings.outage_threshold_working_hours)
        self.urgent_threshold = min(
            self.threshold, timedelta(hours=settings.outage_urgent_threshold_working_hours)
        )
        self.inbox_threshold = timedelta(hours=settings.inbox_stale_working_hours)
        self.clock = clock

    async def run_once(self) -> MonitorRun:
        if self._calendars is not None:
            self.calendar = await self._calendars.get()
        now = self.clock()
        run = MonitorRun()
        async with self.db.read_session() as session:
            repo = OutageRepository(session)
            health = {h.target: h for h in await repo.health_rows()}
            incidents = await repo.open_incidents(PUSH_KINDS)
        still_open = set()
        for incident in incidents:
            h = health.get(incident.target)
            failing = h is not None and h.failing_since == incident.started_at
            async with write_session(self.db) as session:
                service = OutageService(session, self.calendar)
                if failing:
                    await service.refresh(incident.id, now=now)
                    still_open.add(incident.target)
                    continue
                # healthy again (or failing anew since): the close after its success did not
                # happen, so close it as of that success
                recovered_at = (h.recovered_at if h is not None else None) or now
                closed = await service.close(incident.target, recovered_at=recovered_at, now=now)
            if closed is not None:
                run.closed.append(closed)
        for target, h in sorted(health.items()):
            if h.failing_since is None or target in still_open:
                continue
            if not is_due(self.calendar, h.failing_since, now, self.urgent_threshold):
                continue
            async with write_session(self.db) as session:
                opened = await OutageService(session, self.calendar).open_if_due(
                    target,
                    now=now,
                    threshold=self.threshold,
                    urgent_threshold=self.urgent_threshold,
                )
            if opened is not None:
                run.opened.append(opened)
                log.warning(
                    "outage incident %s: %s failing since %s (%s)",
                    opened.id,
                    target,
                    opened.started_at.isoformat(),
                    opened.last_error,
                    extra={"recipient": target, "outcome": "outage.opened"},
                )
        opened, closed = await watch_inboxes(
            self.db, self.calendar, now=now, threshold=self.inbox_threshold
        )
        run.opened += opened
        run.closed += closed
        for incident in opened:
            log.warning(
                "outage incident %s: %s has not collected its inbox since %s",
                incident.id,
                incident.target,
                incident.started_at.isoformat(),
                extra={"recipient": incident.target, "outcome": "outage.opened"},
            )
        await send_pending(self.db, self.settings, now=now)  # e-mails of this and earlier steps
        return run

    async def run(self, stop: asyncio.Event) -> None:
        interval = self.settings.outage_monitor_interval
        log.info("outage monitor started (every %gs)", interval)
        while not stop.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away for a while: try again next time
                log.exception("outage monitor step failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


@contextlib.asynccontextmanager
async def run_outage_monitor(app: FastAPI) -> AsyncIterator[OutageMonitor | None]:
    """For the server lifespan: the monitor as a background task (unless the interval is 0)."""
    state = app.state
    settings: Settings = state.settings
    if not settings.outage_monitor_interval:
        yield None
        return
    monitor = OutageMonitor(state.db, settings, clock=lambda: state.clock())
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop), name="outage-monitor")
    try:
        yield monitor
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 10)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
