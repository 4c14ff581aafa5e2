"""The server's background chainer: links newly committed audit events into the hash chain
(gateway.audit.service.chain_pending) every `audit_chain_interval` seconds. Every server
process runs one; the chain lock makes the others skip a pass while one works."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from ..db import Database
from .checkpoints import Policy
from .service import chain_all

log = logging.getLogger(__name__)


async def _run(db: Database, interval: float, policy: Policy) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await chain_all(db, policy=policy)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database restarting, say: try again next pass
            log.warning("audit chaining pass failed: %s", exc)


@asynccontextmanager
async def background_chainer(db: Database, interval: float) -> AsyncIterator[None]:
    # the anchor key is read once; without one in production, no process starts a chainer
    policy = Policy.from_settings(db.settings)
    task = asyncio.create_task(_run(db, interval, policy), name="audit-chainer")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        # leave nothing unchained behind on a clean shutdown
        with suppress(Exception):
            await chain_all(db, policy=policy)
