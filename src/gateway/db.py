"""Database plumbing shared by every capability: the declarative base, portable column types,
engines for SQLite (embedded default) and PostgreSQL, sessions and migrations.

SQLite is tuned the way Prefect runs it: WAL journal, a busy timeout, foreign keys on, and every
transaction opened with `BEGIN IMMEDIATE` so writers queue for the lock instead of failing
half-way when a read transaction tries to upgrade. Only one process should write at a time there
(the embedded default is a single-node setup); PostgreSQL is for everything else.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from pydantic import PlainSerializer
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, TypeDecorator, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from .edxml.timefmt import VIETNAM
from .settings import Settings
from .shipped import shipped

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """Opaque, stable identifier for packages, deliveries, systems, keys…"""
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """`timestamptz` on PostgreSQL; on SQLite (which drops tzinfo) stored as naive UTC.

    Always takes aware datetimes and always gives back aware UTC datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime given to a UTC column: {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# 64-bit counters (outbox, queue, event ids); SQLite autoincrements only INTEGER PRIMARY KEY
BigId = BigInteger().with_variant(Integer, "sqlite")


def show_time(value: datetime) -> str:
    """How the API shows a stored UTC moment: ISO 8601 in Vietnam time, with its offset."""
    return value.astimezone(VIETNAM).isoformat()


ShownDateTime = Annotated[datetime, PlainSerializer(show_time, return_type=str, when_used="json")]
"""A datetime field of an API schema: stored UTC, shown as e.g. 2026-11-21T08:30:00+07:00."""


# --------------------------------------------------------------------------- engines


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            create_private(Path(url.database))  # SQLite gives -wal/-shm the same mode
        engine = create_async_engine(
            url,
            echo=settings.db_echo,
            connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000},
        )
        _tune_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    # No pre-ping (a round trip on every checkout): connections are recycled by age, and a
    # connection found dead mid-request makes SQLAlchemy invalidate the whole pool (every
    # older connection is replaced on its next checkout) while that one request is answered
    # 503 with Retry-After (gateway.errors.is_unavailable) — nothing of it was committed.
    return create_async_engine(
        url,
        echo=settings.db_echo,
        pool_size=settings.effective_db_pool_size,
        max_overflow=settings.db_pool_overflow,
        pool_recycle=settings.db_pool_recycle_seconds,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_use_lifo=True,  # idle extras time out at the back; hot connections stay warm
    )


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 (owner only) unless it exists: the database and its
    backups hold sealed secrets and personal data, never for other local users to read."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return
    os.chmod(path, 0o600)  # whatever the umask


def _tune_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # writers take the lock up front; read-only sessions (see Database.read_session) do
        # not, so in WAL mode they never wait for or block a writer
        if conn.get_execution_options().get("gateway_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine and its session factory; created in the app lifespan or by a CLI command."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.engine = create_engine(settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        # SQLite has one writer at a time. Queueing writers of this process on an asyncio lock
        # (taken by begin_write, released when the unit of work ends) replaces SQLite's
        # sleep-and-retry busy handler, which gives long tail latencies under concurrency.
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None

    async def begin_write(self, session: AsyncSession) -> None:
        if self._write_lock is not None and not session.info.get("write_locked"):
            await self._write_lock.acquire()
            session.info["write_locked"] = True

    def end_write(self, session: AsyncSession) -> None:
        if self._write_lock is not None and session.info.pop("write_locked", False):
            self._write_lock.release()

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A short read-only session (SQLite: a deferred transaction, no write lock)."""
        async with self.sessionmaker() as session:
            await session.connection(execution_options={"gateway_readonly": True})
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self) -> None:
        await upgrade(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def begin_write(session: AsyncSession) -> None:
    """Call before the first statement of a unit of work that will write (see Database)."""
    db: Database | None = session.info.get("db")
    if db is not None:
        await db.begin_write(session)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Request-scoped unit of work: commits before the response is sent, or rolls back."""
    db: Database = request.app.state.db
    async with db.sessionmaker() as session:
        session.info["db"] = db
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            db.end_write(session)


# scope="function": the commit happens when the endpoint returns, *before* the response is
# sent, so nothing is acknowledged to a caller before it is durably stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


# --------------------------------------------------------------------------- migrations


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configured in code: works from an installed wheel, no alembic.ini needed; the
    scripts are the top-level migrations/ folder, shipped in the wheel (gateway.shipped)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(shipped("migrations")))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade_sync(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on `engine` (SQLite or PostgreSQL)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_sync, revision)


def upgrade_blocking(settings: Settings, revision: str = "head") -> None:
    async def run() -> None:
        db = Database(settings)
        try:
            await upgrade(db.engine, revision)
        finally:
            await db.dispose()

    asyncio.run(run())
