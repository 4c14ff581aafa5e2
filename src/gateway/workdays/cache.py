"""The effective office calendar for long-running code that is not a request (the delivery
worker, the outage monitor): loaded from the database — public holidays, settings and the
operators' changes — and reloaded at most every `ttl` seconds, so a change made with the API,
the dashboard or the CLI reaches every process within that time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..calendar import OfficeCalendar
from ..db import Database
from ..settings import Settings
from .service import load_calendar

log = logging.getLogger(__name__)
TTL_SECONDS = 60.0


class CalendarCache:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        ttl: float = TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.settings = settings
        self.ttl = ttl
        self.monotonic = monotonic
        self.calendar = settings.office_calendar()  # until the first load
        self._loaded_at: float | None = None

    async def get(self) -> OfficeCalendar:
        now = self.monotonic()
        if self._loaded_at is None or now - self._loaded_at >= self.ttl:
            try:
                async with self.db.read_session() as session:
                    self.calendar = await load_calendar(session, self.settings)
            except Exception:  # the database may be away: keep the calendar we have
                log.warning("loading the office calendar failed", exc_info=True)
            self._loaded_at = now
        return self.calendar
