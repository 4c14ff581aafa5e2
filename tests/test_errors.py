"""The error envelope for a database that is gone for a moment: 503 with Retry-After and a
stable code, nothing stored — and the same request succeeds once the database is back."""

from __future__ import annotations

import httpx
from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from conftest import SAMPLE_DOCUMENT_ID, rewrite, sample_bytes
from gateway.errors import is_unavailable
from gateway.packages.models import Package

A80, H17 = "000.00.00.A80", "28.22.H17"


def refuse_connections(*_args, **_kwargs):
    raise ConnectionRefusedError(111, "Connection refused (test: the database is restarting)")


async def test_intake_answers_503_while_the_database_is_down(gw):
    keys = await gw.setup(A80, H17)
    raw = rewrite(sample_bytes("edoc_new.edxml"), SAMPLE_DOCUMENT_ID, f"{A80},2026/11/21,1/VP")
    engine = gw.db.engine.sync_engine
    event.listen(engine, "do_connect", refuse_connections)
    await gw.db.engine.dispose()  # pooled connections go too, as in a restart
    # a transport that raises what the app re-raises: the 503 must be answered inside the app
    # (Starlette's outermost error middleware would answer *and* re-raise, making uvicorn log a
    # traceback and drop the connection)
    strict = httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app), base_url="http://t")
    try:
        async with strict:
            r = await strict.post(
                "/api/v1/packages",
                content=raw,
                headers={"Content-Type": "application/xml", "Authorization": f"Bearer {keys[A80]}"},
            )
    finally:
        event.remove(engine, "do_connect", refuse_connections)
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5"
    error = r.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert "vui lòng gửi lại sau" in error["message"]

    again = await gw.post_package(raw, keys[A80])
    assert again.status_code == 202, again.text
    assert again.json()["duplicate"] is False  # the refused attempt stored nothing
    async with gw.db.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Package)) == 1


class PgError(Exception):
    """What SQLAlchemy's asyncpg adapter wraps: the server's SQLSTATE on `sqlstate`."""

    def __init__(self, sqlstate: str):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_what_counts_as_unavailable():
    assert is_unavailable(ConnectionRefusedError())
    assert is_unavailable(OperationalError("SELECT 1", {}, Exception("server closed")))
    # PostgreSQL shutting down or starting up arrives as a plain DBAPIError with its SQLSTATE
    assert is_unavailable(DBAPIError("SELECT 1", {}, PgError("57P01")))  # admin shutdown
    assert is_unavailable(DBAPIError("SELECT 1", {}, PgError("57P03")))  # cannot connect now
    assert is_unavailable(DBAPIError("SELECT 1", {}, PgError("08006")))  # connection failure
    assert is_unavailable(DBAPIError("SELECT 1", {}, ConnectionResetError()))
    assert not is_unavailable(DBAPIError("SELECT 1", {}, PgError("42P01")))  # no such table
    assert not is_unavailable(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_unavailable(ValueError("a bug"))
