"""A CLI command's unit of work: one transaction, then the audit events it wrote are chained.

Kept out of `gateway.db` (which every capability imports) because it calls the audit log,
which is built on `gateway.db`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from .audit.service import chain_all
from .db import Database
from .settings import Settings

T = TypeVar("T")


def run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """For CLI commands: migrate (if enabled), run `work` in one transaction, commit, then
    chain the audit events it wrote (no server's chainer may be running)."""

    async def main() -> T:
        db = Database(settings)
        try:
            if settings.auto_migrate:
                await db.migrate()
            async with db.sessionmaker() as session:
                try:
                    result = await work(session)
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
            await chain_all(db)
            return result
        finally:
            await db.dispose()

    return asyncio.run(main())
