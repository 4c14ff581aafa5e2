"""The real Alembic migrations, on both backends: from nothing to head, the schema equals the
models (autogenerate finds no difference), and back down to nothing."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from gateway.all_models import load_models
from gateway.db import Database, alembic_config
from gateway.settings import Settings


async def test_migrations_match_models_and_downgrade(empty_database):
    db = Database(empty_database)
    try:
        await db.migrate()
        await db.migrate()  # idempotent
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), load_models()
                )
            )
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert diff == []
        assert set(load_models().tables) <= tables
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
        async with db.engine.connect() as conn:
            left = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert left <= {"alembic_version"}
    finally:
        await db.dispose()


async def test_sqlite_pragmas(tmp_path):
    db = Database(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}"))
    try:
        async with db.engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            fks = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
            busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
        assert (mode, fks) == ("wal", 1)
        assert busy >= 1000
    finally:
        await db.dispose()
