"""What follows a committed push that ended its target's failure (gateway.delivery.health):
closing the target's open outage incident and draining its backlog. That is the outages
capability's rule (gateway.outages.service.close_on_recovery), and outages sit above delivery
(they requeue its copies), so delivery does not import it: the process wiring
(gateway.wiring, run by the server's create_app and by the CLI before any command) registers it
here at start-up, and the delivery handler calls `recovered` after its commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..calendar import OfficeCalendar
    from ..db import Database

RecoveryListener = Callable[..., Awaitable[object]]
"""`await listener(db, calendar, target, at=when)`; it handles its own errors."""

_listeners: list[RecoveryListener] = []


def on_recovery(listener: RecoveryListener) -> None:
    """Register `listener` (once: wiring twice in one process changes nothing)."""
    if listener not in _listeners:
        _listeners.append(listener)


def listeners() -> tuple[RecoveryListener, ...]:
    return tuple(_listeners)


async def recovered(db: Database, calendar: OfficeCalendar, target: str, *, at: datetime) -> None:
    """A success that ended `target`'s failure is committed: tell every listener, in order."""
    for listener in tuple(_listeners):
        await listener(db, calendar, target, at=at)
