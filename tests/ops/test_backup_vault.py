"""Encrypted backups with retention and the restore drill (embedded SQLite, the CLI)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.ops.backup import BackupError
from gateway.ops.backup_vault import (
    CHUNK,
    decrypt_file,
    encrypt_file,
    new_key,
    parse_key,
    prune,
)
from gateway.settings import get_settings


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("size", [0, 5, CHUNK, CHUNK + 1, 2 * CHUNK + 17])
def test_encryption_round_trips_and_detects_tampering(tmp_path: Path, size: int) -> None:
    key = parse_key(new_key())
    plain = tmp_path / "plain"
    plain.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    sealed, back = tmp_path / "sealed", tmp_path / "back"
    encrypt_file(plain, sealed, key)
    assert plain.read_bytes()[:64] not in sealed.read_bytes() or size == 0
    decrypt_file(sealed, back, key)
    assert back.read_bytes() == plain.read_bytes()
    with pytest.raises(BackupError, match="wrong key"):
        decrypt_file(sealed, back, parse_key(new_key()))
    data = bytearray(sealed.read_bytes())
    data[-1] ^= 1
    sealed.write_bytes(bytes(data))
    with pytest.raises(BackupError):
        decrypt_file(sealed, back, key)


def test_truncation_is_detected(tmp_path: Path) -> None:
    key = parse_key(new_key())
    plain, sealed = tmp_path / "plain", tmp_path / "sealed"
    plain.write_bytes(b"a" * (2 * CHUNK + 5))
    encrypt_file(plain, sealed, key)
    whole = sealed.read_bytes()
    sealed.write_bytes(whole[: len(whole) - (5 + 16 + 4)])  # the last chunk cut off
    with pytest.raises(BackupError, match="truncated"):
        decrypt_file(sealed, tmp_path / "out", key)


def test_bad_keys_are_refused() -> None:
    for bad in ("", "short", "!" * 44):
        with pytest.raises(BackupError, match="32 bytes"):
            parse_key(bad)


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    for stamp in ("20261101T000000Z", "20261102T000000Z", "20261103T000000Z"):
        (tmp_path / f"gateway-{stamp}.sqlite3.gwenc").write_bytes(b"x")
        (tmp_path / f"gateway-{stamp}.sqlite3.json").write_text("{}")
    removed = prune(tmp_path, 2)
    assert [p.name for p in removed] == ["gateway-20261101T000000Z.sqlite3.gwenc"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gateway-20261102T000000Z.sqlite3.gwenc",
        "gateway-20261102T000000Z.sqlite3.json",
        "gateway-20261103T000000Z.sqlite3.gwenc",
        "gateway-20261103T000000Z.sqlite3.json",
    ]


def test_encrypted_backup_and_drill_through_the_cli(cli_env: Path, monkeypatch) -> None:
    assert run("backups", "run").exit_code == 1  # no key: refused
    monkeypatch.setenv("GATEWAY_BACKUP_KEY", new_key())
    get_settings.cache_clear()
    assert run("agencies", "import", "--example").exit_code == 0  # audited registry rows
    r = run("backups", "run", "--keep", "3")
    assert r.exit_code == 0, r.output
    backups = cli_env / "backups"
    [sealed] = backups.glob("*.gwenc")
    assert not list(backups.glob("*.sqlite3"))  # no plaintext left behind
    assert b"SQLite format" not in sealed.read_bytes()[:4096]
    r = run("backups", "drill", str(sealed))
    assert r.exit_code == 0, r.output
    assert "audit chain: intact" in r.output and "OK" in r.output

    # a plain backup whose audit log was altered: the drill says so
    plain = cli_env / "plain.sqlite3"
    assert run("backup", "--output", str(plain)).exit_code == 0
    with sqlite3.connect(plain) as conn:
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1")
    (cli_env / "plain.sqlite3.json").unlink()  # the manifest would refuse the changed file
    r = run("backups", "drill", str(plain))
    assert r.exit_code == 1 and "BROKEN" in r.output

    # the wrong key cannot open the encrypted backup
    monkeypatch.setenv("GATEWAY_BACKUP_KEY", new_key())
    get_settings.cache_clear()
    r = run("backups", "drill", str(sealed))
    assert r.exit_code == 1 and "wrong key" in r.output


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_drill_restores_into_a_scratch_database(make_gateway, tmp_path) -> None:
    """A `gateway backup` (pg_dump custom format) and a plain SQL dump are restored into a
    fresh database on the same server, verified, and that database is dropped; an altered
    audit log or package is reported."""
    import asyncio

    from sqlalchemy import text

    from gateway.audit.service import chain_all
    from gateway.ops.backup import _Postgres, backup
    from gateway.ops.backup_vault import drill, encrypted_backup
    from support.seeding import seed

    gw = await make_gateway(relay_in_process=False, worker_in_process=False)
    await seed(gw)
    await chain_all(gw.db)
    settings = gw.app.state.settings

    def scratch_left(name: str) -> bool:
        found = _Postgres(settings, None).query(
            f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"  # noqa: S608
        )
        return found != "0"

    result = await asyncio.to_thread(backup, settings, tmp_path / "gateway.dump")
    report = await asyncio.to_thread(drill, result.path, None, settings=settings)
    assert report.ok and report.backend == "postgresql", report
    assert report.audit_events > 5 and report.packages == 3
    assert report.revision == result.manifest.alembic_revision
    assert report.scratch.startswith("gateway_drill_") and not scratch_left(report.scratch)

    key = parse_key(new_key())  # encrypted, as `gateway backups run` leaves it
    sealed = await asyncio.to_thread(encrypted_backup, settings, tmp_path / "vault", key)
    assert (await asyncio.to_thread(drill, sealed, key, settings=settings)).ok

    # the live database is altered, then dumped as plain SQL: the drill finds both changes
    async with gw.db.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
        bad_id = await conn.scalar(text("SELECT id FROM packages ORDER BY id LIMIT 1"))
        await conn.execute(
            text("UPDATE packages SET raw = :raw WHERE id = :id"), {"raw": b"<x/>", "id": bad_id}
        )
    plain = tmp_path / "plain.sql"
    pg = _Postgres(settings, None)
    await asyncio.to_thread(
        pg.run, [pg.program("pg_dump"), "--format=plain", "--schema=public", f"--file={plain}"]
    )
    report = await asyncio.to_thread(drill, plain, None, settings=settings)
    assert not report.ok and not report.audit_ok and report.bad_packages == [bad_id]
    assert not scratch_left(report.scratch)

    # a damaged dump fails the drill, and leaves no scratch database either
    broken = tmp_path / "broken.sql"
    broken.write_bytes(plain.read_bytes().replace(b"CREATE TABLE", b"CREATE TABEL", 1))
    before = _Postgres(settings, None).query(
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'gateway_drill_%'"
    )
    with pytest.raises(BackupError, match="TABEL"):
        await asyncio.to_thread(drill, broken, None, settings=settings)
    after = _Postgres(settings, None).query(
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'gateway_drill_%'"
    )
    assert int(after) <= int(before)
