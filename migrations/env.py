"""Alembic environment. Configured in code (gateway.db.alembic_config): the caller passes an
open connection in `config.attributes["connection"]`; without one (the `alembic` command line
for developers) the URL comes from the gateway settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from gateway.all_models import load_models
from gateway.db import create_engine
from gateway.settings import Settings

target_metadata = load_models()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=False,
    )


def run_with_connection(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_engine(Settings())
    async with engine.begin() as conn:
        await conn.run_sync(run_with_connection)
    await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=Settings().effective_database_url,
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (connection := context.config.attributes.get("connection")) is not None:
    run_with_connection(connection)
else:
    asyncio.run(run_online())
