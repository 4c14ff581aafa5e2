"""The server's calendar: loaded from the database at start (production refuses one without
holidays for the current year), then refreshed in the background so that changes made with the
CLI or on another replica reach this process's requests within `REFRESH_SECONDS`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from .service import load_calendar, require_holidays

REFRESH_SECONDS = 60.0
log = logging.getLogger(__name__)


async def refresh_calendar(app: FastAPI) -> None:
    state = app.state
    async with state.db.read_session() as session:
        state.calendar = await load_calendar(session, state.settings)


async def load_app_calendar(app: FastAPI) -> None:
    """At start-up, before any background task reads `app.state.calendar`."""
    await refresh_calendar(app)
    require_holidays(app.state.calendar, app.state.settings, app.state.clock())


@contextlib.asynccontextmanager
async def calendar_refresher(app: FastAPI) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await refresh_calendar(app)
            except Exception:  # a database hiccup: keep the calendar we have, try again later
                log.warning("calendar refresh failed", exc_info=True)

    task = asyncio.create_task(loop(), name="calendar-refresher")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
