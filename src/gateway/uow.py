"""Units of work for background tasks (relay, workers, CLI), outside any HTTP request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from .db import Database


@asynccontextmanager
async def write_session(db: Database) -> AsyncIterator[AsyncSession]:
    """One transaction that will write: takes this process's SQLite write turn up front,
    commits on success, rolls back on error (like the request-scoped session)."""
    async with db.sessionmaker() as session:
        session.info["db"] = db
        try:
            await db.begin_write(session)
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            db.end_write(session)
