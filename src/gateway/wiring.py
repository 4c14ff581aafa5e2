"""The process wiring: hooks by which a capability reaches one above it without importing it.
Run at start-up by every process that handles deliveries: the server (gateway.app.create_app)
and the CLI (gateway.cli, before any command, e.g. `gateway worker`).

- gateway.delivery.recovery → gateway.outages.service.close_on_recovery: a push that ended a
  target's failure closes its outage incident and drains its backlog.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .delivery.recovery import on_recovery

if TYPE_CHECKING:
    from .calendar import OfficeCalendar
    from .db import Database


async def close_outage_on_recovery(
    db: Database, calendar: OfficeCalendar, target: str, *, at: datetime
) -> None:
    # imported on first use: CLI commands that never push do not load the outages code
    from .outages.service import close_on_recovery

    await close_on_recovery(db, calendar, target, at=at)


def wire() -> None:
    on_recovery(close_outage_on_recovery)
