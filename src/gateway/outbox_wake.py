"""Waking the relay when outbox rows commit, instead of it polling every few milliseconds.

PostgreSQL: a statement-level trigger on `outbox` (migration 2026_12_02_hot_delivery) issues
`NOTIFY gateway_outbox` inside the writing transaction, so it is delivered on commit and only
on commit, by whatever code wrote the rows. `OutboxListener` is the relay's side: one
dedicated connection doing LISTEN, reconnecting when it is lost; while it is down the relay
falls back to polling.

Both databases: `notify_outbox(session)`, called by code that writes outbox rows (before its
commit, no round trip), wakes the relays of THIS process right after that session commits —
the only wake-up on SQLite, where the relay runs inside the server. On PostgreSQL the trigger
already covers every process; the call is harmless there.

The outbox poll stays in the relay as a slow sweeper (a lost notification, a listener being
reconnected): nothing depends on a wake-up arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

log = logging.getLogger(__name__)

CHANNEL = "gateway_outbox"
_local: set[Callable[[], None]] = set()  # wake functions of the relays in this process
_ARMED = "gateway_outbox_written"


def on_outbox_commit(wake: Callable[[], None]) -> Callable[[], None]:
    """Register a relay's wake function; returns the function that unregisters it."""
    _local.add(wake)
    return lambda: _local.discard(wake)


def wake_local() -> None:
    for wake in list(_local):
        wake()


def notify_outbox(session: AsyncSession) -> None:
    """Call after adding outbox rows to `session`: this process's relays wake when it commits
    (not if it rolls back). Costs no round trip; idempotent within a transaction."""
    sync = session.sync_session
    if sync.info.get(_ARMED) is None:
        event.listen(sync, "after_commit", _committed)
        event.listen(sync, "after_rollback", _rolled_back)
    sync.info[_ARMED] = True


def _committed(sync: Any) -> None:
    if sync.info.get(_ARMED):
        sync.info[_ARMED] = False
        wake_local()


def _rolled_back(sync: Any) -> None:
    if sync.info.get(_ARMED):
        sync.info[_ARMED] = False


class OutboxListener:
    """LISTEN gateway_outbox on its own PostgreSQL connection; `listening` while it works."""

    def __init__(self, engine: AsyncEngine, wake: Callable[[], None]) -> None:
        self.engine = engine
        self.wake = wake
        self.listening = False
        self._lost = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        import asyncpg

        _, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        kwargs = {k: v for k, v in kwargs.items() if k not in ("prepared_statement_cache_size",)}
        pause = 0.5
        while not stop.is_set():
            conn = None
            try:
                conn = await asyncpg.connect(**kwargs)
                self._lost.clear()
                conn.add_termination_listener(lambda _c: self._lost.set())
                await conn.add_listener(CHANNEL, self._heard)
                self.listening, pause = True, 0.5
                self.wake()  # rows committed while nobody listened are swept now
                await _first(stop, self._lost)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox listener: %s: %s; polling meanwhile", type(exc).__name__, exc)
            finally:
                self.listening = False
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 5)
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
                pause = min(pause * 2, 10.0)

    def _heard(self, *_args: Any) -> None:
        self.wake()


async def _first(a: asyncio.Event, b: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
