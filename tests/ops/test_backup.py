"""Backup and restore drill on both backends: packages (bytes and metadata), deliveries and the
audit chain survive a round trip; restore refuses a damaged backup and a database in use."""

from __future__ import annotations

import json
import sqlite3

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import undefer
from typer.testing import CliRunner

from gateway.audit.service import chain_all, verify_chain
from gateway.cli import app as cli
from gateway.db import Database, alembic_config
from gateway.ops.backup import BackupError, DatabaseInUse, backup, restore
from gateway.packages.models import Delivery, Package
from support.seeding import G22, seed


@pytest.fixture(autouse=True)
def _english(monkeypatch) -> None:
    """These tests read the commands' English output (Vietnamese is the default)."""
    monkeypatch.setenv("GATEWAY_LANG", "en")


HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


async def snapshot(db: Database) -> dict:
    await chain_all(db)
    async with db.sessionmaker() as s:
        packages = (
            await s.scalars(select(Package).options(undefer(Package.raw)).order_by(Package.id))
        ).all()
        deliveries = (await s.scalars(select(Delivery).order_by(Delivery.id))).all()
        chain = await verify_chain(s)
        return {
            "packages": [
                (
                    p.id,
                    p.sha256,
                    p.raw,
                    p.document_id,
                    p.code,
                    p.subject,
                    p.received_at,
                    p.signature_info,
                    p.intake_result,
                )
                for p in packages
            ],
            "deliveries": [
                (
                    d.id,
                    d.package_id,
                    d.recipient_code,
                    d.state,
                    d.queued_at,
                    d.delivered_at,
                    d.acknowledged_at,
                )
                for d in deliveries
            ],
            "chain": (chain.ok, chain.checked, chain.last_hash),
        }


async def test_restore_drill(make_gateway, backend, tmp_path):
    # no background tasks (relay, worker, audit chainer, outage monitor): the drill stops "the
    # gateway" by closing its connections, and nothing may open one again behind its back
    gw = await make_gateway(
        relay_in_process=False,
        worker_in_process=False,
        audit_chain_interval=3600,
        outage_monitor_interval=0,
    )
    history = await seed(gw)
    settings = gw.app.state.settings
    before = await snapshot(gw.db)
    assert len(before["packages"]) == 3 and before["chain"][0]
    assert {d[3] for d in before["deliveries"]} == {"acknowledged", "pending"}

    result = backup(settings, tmp_path / "backups" / f"gateway.{backend}")
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["alembic_revision"] == HEAD == result.manifest.alembic_revision
    assert manifest["backend"] == ("sqlite" if backend == "sqlite" else "postgresql")
    assert manifest["gateway_version"] and manifest["sha256"] == result.manifest.sha256
    with pytest.raises(BackupError, match="exists already"):
        backup(settings, result.path)

    # things go wrong after the backup: rows lost, the audit log altered, a new package
    async with gw.db.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
        await conn.execute(
            text("DELETE FROM packages WHERE id = :id"),
            {"id": history["other"]["package_id"]},
        )
    async with gw.db.sessionmaker() as s:
        assert not (await verify_chain(s)).ok

    # refused while the gateway holds the database open
    async with gw.db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        with pytest.raises(DatabaseInUse):
            restore(settings, result.path)
    await gw.db.engine.dispose()  # the gateway is stopped

    restored = restore(settings, result.path)
    assert restored.alembic_revision == HEAD and restored.notes == []
    after = await snapshot(gw.db)
    assert after == before
    await gw.db.engine.dispose()

    # and the service works on the restored database
    keys = history["keys"]
    package_id = history["original"]["package_id"]
    timeline = await gw.get(f"/api/v1/packages/{package_id}/timeline", keys[G22])
    assert timeline.status_code == 200
    assert {r["state"] for r in timeline.json()["recipients"]} == {"acknowledged"}
    await gw.db.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_damaged_backup_is_refused(gw, tmp_path):
    settings = gw.app.state.settings
    result = backup(settings, tmp_path / "b.sqlite3")
    data = bytearray(result.path.read_bytes())
    data[5000] ^= 0xFF
    result.path.write_bytes(bytes(data))
    await gw.db.engine.dispose()
    with pytest.raises(BackupError, match="does not match its manifest"):
        restore(settings, result.path)
    # without the manifest, the integrity check still catches a non-database
    result.manifest_path.unlink()
    result.path.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError, match=r"not a readable SQLite database|integrity"):
        restore(settings, result.path)


# --------------------------------------------------------------------------- the CLI
def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_cli_backup_restore_sqlite(cli_env, tmp_path):
    r = run("agencies", "import", "--example")
    assert r.exit_code == 0, r.output
    r = run("backup")
    assert r.exit_code == 0, r.output
    [made] = (tmp_path / "backups").glob("gateway-*.sqlite3")
    assert "OK" in r.output and "secrets key" in r.output
    out = tmp_path / "explicit.sqlite3"
    assert run("backup", "--output", str(out)).exit_code == 0
    assert (tmp_path / "explicit.sqlite3.json").exists()

    conn = sqlite3.connect(cli_env / "gateway.sqlite3")
    with conn:
        assert conn.execute("UPDATE audit_events SET actor = 'mallory'").rowcount >= 1
    assert run("audit", "verify").exit_code == 1
    r = run("restore", str(out), "--yes")  # the connection above is still open
    assert r.exit_code == 1 and "in use" in r.output
    conn.close()

    r = run("restore", str(out), input="n\n")
    assert r.exit_code == 1  # not confirmed: nothing done
    assert run("audit", "verify").exit_code == 1
    r = run("restore", str(out), "--yes")
    assert r.exit_code == 0, r.output
    assert "before-restore" in r.output
    r = run("audit", "verify")
    assert r.exit_code == 0 and "OK" in r.output
    assert len(list(tmp_path.glob("gateway.sqlite3.before-restore-*"))) == 1
    r = run("restore", str(tmp_path / "missing.sqlite3"), "--yes")
    assert r.exit_code == 1 and "no backup file" in r.output
    assert made.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_bad_dump_changes_nothing_and_hides_the_password(gw, tmp_path):
    await gw.setup(G22)
    url = make_url(gw.app.state.settings.effective_database_url).set(password="s3cret-pw")
    settings = gw.app.state.settings.model_copy(
        update={"database_url": url.render_as_string(hide_password=False)}
    )
    made = backup(settings, tmp_path / "ok.dump")  # trust auth: the password is not needed
    assert made.manifest.alembic_revision == HEAD
    assert "s3cret" not in made.manifest_path.read_text()
    bad = tmp_path / "bad.dump"
    bad.write_bytes(b"PGDMP" + b"\x00" * 200)
    await gw.db.engine.dispose()
    with pytest.raises(BackupError) as caught:
        restore(settings, bad)
    assert "s3cret" not in str(caught.value)
    assert await gw.count("agencies") == 1
