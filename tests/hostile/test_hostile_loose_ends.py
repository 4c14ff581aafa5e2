"""Issue 18 item 12: the loose ends. The SQLite database and backups are private (0600);
/metrics is closed in production until a token is set; agency codes differing only in case
cannot coexist (both backends). (The stalled body: test_hostile_body_policy.py.)"""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from gateway.db import Database
from gateway.ops.backup import backup
from gateway.settings import Settings

A80, H41 = "000.00.00.A80", "000.00.00.H41"


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)  # the usual default: files 0644 unless created otherwise
    yield
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_new_sqlite_database_and_backup_are_private(tmp_path, loose_umask) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/g.db")
    db = Database(settings)
    try:
        await db.migrate()
    finally:
        await db.dispose()
    assert mode(tmp_path / "g.db") == 0o600
    for side in ("g.db-wal", "g.db-shm"):
        if (tmp_path / side).exists():
            assert mode(tmp_path / side) == 0o600
    result = backup(settings, tmp_path / "backups" / "b.sqlite3")
    assert mode(result.path) == 0o600


async def test_postgres_backup_is_private(gateway_settings, backend, tmp_path, loose_umask):
    if backend != "postgres":
        pytest.skip("the SQLite backup is covered above")
    out = tmp_path / "pg.dump"
    backup(gateway_settings, out)
    assert mode(out) == 0o600


async def test_metrics_closed_in_production_until_a_token_is_set(gw) -> None:
    assert (await gw.http.get("/metrics")).status_code == 200  # development: open
    prod = gw.app.state.settings.model_copy(update={"environment": "production"})
    gw.app.state.settings = prod
    r = await gw.http.get("/metrics")
    assert r.status_code == 401 and "METRICS_TOKEN" in r.text
    gw.app.state.settings = prod.model_copy(update={"metrics_token": "t0ken-for-prometheus"})
    assert (await gw.http.get("/metrics")).status_code == 401
    r = await gw.http.get("/metrics", headers={"Authorization": "Bearer t0ken-for-prometheus"})
    assert r.status_code == 200


async def test_agency_codes_are_unique_whatever_their_case(gw) -> None:
    await gw.add_agency(H41)
    r = await gw.http.post(
        "/api/v1/admin/agencies",
        json={"code": H41.lower(), "name": "Bóng ma"},
        headers=await gw.admin(),
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"]["details"]["code"] == H41
    csv_text = f"code,name\n{H41.lower()},Bóng ma\n{A80},A80\n{A80.lower()},a80\n"
    r = await gw.http.post(
        "/api/v1/admin/agencies/import",
        content=csv_text.encode(),
        headers={**await gw.admin(), "Content-Type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    assert len(r.json()["error"]["findings"]) == 2
    assert await gw.count("agencies") == 1
    # and the database itself refuses, whatever path a row takes
    with pytest.raises(IntegrityError):
        async with gw.db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO agencies (code, name, level, active, delivery_mode, created_at,"
                    " updated_at) VALUES (:c, 'x', 1, true, 'poll', '2026-01-01', '2026-01-01')"
                ),
                {"c": H41.lower()},
            )
