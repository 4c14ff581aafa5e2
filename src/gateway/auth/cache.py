"""Resolved credentials, kept in process for a short time (issue 14: resolving an API key cost
6–8 ms of CPU per request — an ORM read session and two queries — and a package takes ~4
authenticated requests end to end).

Keyed by the SHA-256 of the API key (or the forwarded certificate identity); only successes
are cached, so an unknown or revoked key always reaches the database. A cached principal
stops being used:

- **at once in the process that changed it**: a transaction that adds, changes or deletes an
  API key, client certificate, system (incl. its agencies), operator or VXP credential marks
  its session, and its commit clears every cache of this process;
- **within `auth_cache_check_seconds` (default 1 s) in every other process** (other server
  workers, the CLI revoking a key): the same transaction bumps the one-row `auth_generation`
  counter, which each process reads at most that often, clearing its cache when it moved;
- **after `auth_cache_seconds` (default 60 s) in any case**, for changes made behind the ORM's
  back (SQL by hand, a restored backup).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from . import generation
from .models import AuthGeneration
from .service import Principal

MAX_ENTRIES = 10_000  # a bound on memory; far more keys than a province has systems

# ----------------------------------------------------------------------------- the cache


class PrincipalCache:
    """Principals by credential hash; see the module's docstring for when entries end."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ttl: float,
        check_every: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.engine = engine
        self.ttl = ttl
        self.check_every = check_every
        self.clock = clock
        self._entries: dict[str, tuple[Principal, float, int]] = {}
        self._generation: int | None = None
        self._checked_at = float("-inf")
        self._check_lock = asyncio.Lock()

    async def principal(
        self, credential_hash: str, load: Callable[[], Awaitable[Principal]]
    ) -> Principal:
        """The cached principal for `credential_hash`, else `load()` (and remember it)."""
        if self.ttl <= 0:
            return await load()
        await self._follow_generation()
        epoch, now = generation.epoch(), self.clock()
        hit = self._entries.get(credential_hash)
        if hit is not None and hit[2] == epoch and hit[1] > now:
            return hit[0]
        principal = await load()
        if generation.epoch() == epoch:  # nothing changed while it loaded: safe to keep
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[credential_hash] = (principal, now + self.ttl, epoch)
        return principal

    async def _follow_generation(self) -> None:
        """Read the generation counter if the last reading is older than `check_every`."""
        if self.clock() - self._checked_at < self.check_every:
            return
        async with self._check_lock:  # one reading for all the requests that need it
            if self.clock() - self._checked_at < self.check_every:
                return
            started = self.clock()
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(gateway_readonly=True)
                value = await conn.scalar(
                    select(AuthGeneration.value).where(AuthGeneration.id == 1)
                )
            if self._generation is not None and value != self._generation:
                generation.invalidate_process()
            self._generation = value
            self._checked_at = started
