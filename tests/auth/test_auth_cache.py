"""The in-process cache of resolved API keys (gateway.auth.cache): a hit reads no credential
table; a change committed by this process ends it at once; a change committed by another
process ends it within `auth_cache_check_seconds`; a change behind the ORM's back within
`auth_cache_seconds`."""

from __future__ import annotations

import asyncio
import sys
import textwrap

import pytest
from sqlalchemy import event, text

A80, H17 = "000.00.00.A80", "28.22.H17"
CHECK, TTL = 5.0, 60.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def cached(make_gateway):
    """A gateway whose principal cache runs on a clock the test moves."""
    gw = await make_gateway(auth_cache_seconds=TTL, auth_cache_check_seconds=CHECK)
    clock = FakeClock()
    gw.app.state.principals.clock = clock
    keys = await gw.setup(A80, H17)
    # the cache reads the counter (moved by the setup's own commits) once, then stands still
    clock.now += CHECK
    assert (await gw.http.get("/api/v1/me", headers=await gw.admin())).status_code == 200
    return gw, keys, clock


def credential_reads(gw) -> list[str]:
    """Statements touching credential tables, recorded from now on."""
    seen: list[str] = []

    @event.listens_for(gw.db.engine.sync_engine, "before_cursor_execute")
    def record(_conn, _cursor, statement, *_args):
        if "api_keys" in statement or "agency_systems" in statement:
            seen.append(statement)

    return seen


async def me(gw, key: str) -> int:
    return (await gw.get("/api/v1/me", key)).status_code


async def system_id(gw, code: str) -> str:
    systems = (await gw.http.get("/api/v1/admin/systems", headers=await gw.admin())).json()
    return next(s["id"] for s in systems if s["agencies"] == [code])


async def test_a_cached_key_reads_no_credential_table(cached):
    gw, keys, _clock = cached
    assert await me(gw, keys[A80]) == 200
    seen = credential_reads(gw)
    for _ in range(3):
        r = await gw.get("/api/v1/me", keys[A80])
        assert r.status_code == 200 and r.json()["agencies"] == [A80]
    assert seen == []
    # a wrong key is never cached: every attempt reads the database
    assert await me(gw, keys[A80][:-2] + "xx") == 401
    assert await me(gw, keys[A80][:-2] + "xx") == 401
    assert len(seen) == 2


async def test_changes_committed_here_end_the_cache_at_once(cached):
    gw, keys, _clock = cached  # the clock never moves: only the commit can end the entries
    admin = await gw.admin()
    sys_a, sys_h = await system_id(gw, A80), await system_id(gw, H17)
    assert await me(gw, keys[A80]) == 200 and await me(gw, keys[H17]) == 200

    # the system's agencies change: the next request sees the new binding
    r = await gw.http.patch(
        f"/api/v1/admin/systems/{sys_h}", json={"agencies": [H17, A80]}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert (await gw.get("/api/v1/me", keys[H17])).json()["agencies"] == [A80, H17]

    # the key is revoked
    key_id = (await gw.http.get("/api/v1/admin/systems", headers=admin)).json()
    key_id = next(s for s in key_id if s["id"] == sys_a)["keys"][0]["id"]
    r = await gw.http.delete(f"/api/v1/admin/systems/{sys_a}/keys/{key_id}", headers=admin)
    assert r.status_code == 200
    assert await me(gw, keys[A80]) == 401

    # the system is disabled
    r = await gw.http.patch(f"/api/v1/admin/systems/{sys_h}", json={"active": False}, headers=admin)
    assert r.status_code == 200
    assert await me(gw, keys[H17]) == 401


async def revoke_in_another_process(gw, system: str) -> None:
    """Revoke every key of `system` the way an operator's CLI would: another process, the
    same database, through the ORM. Awaited, not run blocking: the gateway's background tasks
    in this event loop may be inside a write transaction, and on SQLite a blocked loop would
    hold that lock until the other process gives up with 'database is locked'."""
    script = textwrap.dedent(
        f"""
        from gateway.cli_session import run_in_session
        from gateway.registry.service import RegistryService
        from gateway.settings import Settings

        async def work(session):
            registry = RegistryService(session, "cli")
            for key in await registry.auth.keys_of_system({system!r}):
                await registry.revoke_key({system!r}, key.id)

        run_in_session(Settings(database_url={gw.db.settings.database_url!r},
                                data_dir={str(gw.db.settings.data_dir)!r},
                                auto_migrate=False), work)
        """
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
    assert await asyncio.wait_for(process.wait(), timeout=120) == 0


async def test_a_revocation_by_another_process_ends_it_within_the_check_interval(cached):
    gw, keys, clock = cached
    sys_a = await system_id(gw, A80)
    assert await me(gw, keys[A80]) == 200
    await revoke_in_another_process(gw, sys_a)
    # until this process next reads the generation counter, the entry stands (the bound) …
    clock.now += CHECK - 0.5
    assert await me(gw, keys[A80]) == 200
    # … and once it does, the key is refused
    clock.now += 0.5
    assert await me(gw, keys[A80]) == 401


async def test_a_change_behind_the_orm_ends_it_within_the_ttl(cached):
    gw, keys, clock = cached
    assert await me(gw, keys[A80]) == 200
    async with gw.db.engine.begin() as conn:  # by hand: no generation bump
        await conn.execute(text("UPDATE agency_systems SET active = false"))
    clock.now += CHECK
    assert await me(gw, keys[A80]) == 200  # the counter did not move
    clock.now += TTL
    assert await me(gw, keys[A80]) == 401


async def test_no_cache_when_disabled(make_gateway):
    gw = await make_gateway(auth_cache_seconds=0)
    keys = await gw.setup(A80)
    assert await me(gw, keys[A80]) == 200
    seen = credential_reads(gw)
    assert await me(gw, keys[A80]) == 200
    assert seen
