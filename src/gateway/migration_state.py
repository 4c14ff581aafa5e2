"""Is the database at this version's schema? Long-running processes that do not migrate
(`gateway worker`, `relay`, `connector`; `serve` with GATEWAY_AUTO_MIGRATE=false) check once at
start and exit with one clear line, instead of failing on a missing table every poll, forever."""

from __future__ import annotations

import logging

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from .db import alembic_config


class NotMigrated(RuntimeError):
    def __init__(self, current: tuple[str, ...], expected: tuple[str, ...]):
        self.current = current
        self.expected = expected
        super().__init__(
            f"database schema at {', '.join(current) or 'nothing (no tables)'}, "
            f"this version needs {', '.join(expected)}"
        )


def _current(connection: Connection) -> tuple[str, ...]:
    chatty = logging.getLogger("alembic.runtime.migration")  # "Context impl …" at INFO
    level = chatty.level
    chatty.setLevel(logging.WARNING)
    try:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    finally:
        chatty.setLevel(level)


async def require_migrated(engine: AsyncEngine) -> None:
    """Raise NotMigrated unless the database is at the migrations' head."""
    expected = tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))
    async with engine.connect() as conn:
        current = await conn.run_sync(_current)
    if current != expected:
        raise NotMigrated(current, expected)
