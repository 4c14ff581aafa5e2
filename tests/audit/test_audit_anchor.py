"""Anchored audit chain: signed checkpoints made with a key kept outside the database. A
history rewritten and re-hashed, a tail cut after a checkpoint, a forged checkpoint and a
checkpoint removed behind a published copy are all reported as tampered (both backends)."""

from __future__ import annotations

import itertools
import os
import stat
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select, update

from gateway.audit.anchor import KEY_FILE_NAME, AnchorKeyError, AnchorKeys
from gateway.audit.checkpoints import Policy
from gateway.audit.models import AuditCheckpoint, AuditEvent
from gateway.audit.service import (
    GENESIS,
    AuditLog,
    chain_all,
    chain_and_verify,
    chain_pending,
    event_hash,
    verify_chain,
)
from gateway.db import utcnow
from gateway.settings import Settings

KEY = "k" * 40


async def log_events(gw, count: int, prefix: str = "test.event") -> None:
    async with gw.db.sessionmaker() as session:
        audit = AuditLog(session)
        for i in range(count):
            await audit.append(f"{prefix}.{i}", actor="test", subject=f"s{i}", data={"i": i})
        await session.commit()


async def checkpoints(gw) -> list[AuditCheckpoint]:
    async with gw.db.sessionmaker() as s:
        return list((await s.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.n))).all())


async def anchored(gw, count: int = 10) -> None:
    """`count` events, chained, with a checkpoint of the tail."""
    await log_events(gw, count)
    await chain_all(gw.db, force_checkpoint=True)


async def rewrite_and_rehash(gw, chain_pos: int) -> None:
    """What a database writer without the key can do: alter one event and recompute every
    later link so that the bare chain is intact again."""
    async with gw.db.sessionmaker() as s:
        events = (await s.scalars(select(AuditEvent).order_by(AuditEvent.chain_pos))).all()
        prev = GENESIS
        for ev in events:
            if ev.chain_pos == chain_pos:
                ev.data = {**ev.data, "forged": True}
            if ev.chain_pos >= chain_pos:
                ev.prev_hash = prev
                ev.hash = event_hash(prev, ev.seq, ev.at, ev.actor, ev.action, ev.subject, ev.data)
            prev = ev.hash
        await s.commit()


async def bare_chain_ok(gw) -> bool:
    """The unkeyed chain check alone (all `gateway audit verify` did before checkpoints)."""
    async with gw.db.sessionmaker() as s:
        return (await verify_chain(s)).ok


async def test_anchored_chain_verifies_and_names_its_latest_checkpoint(gw):
    await anchored(gw)
    report = await chain_and_verify(gw.db)
    assert report.ok, report
    assert report.checkpoints == 1 and report.unanchored == 0
    cp = report.latest_checkpoint
    assert cp is not None and cp.n == 1 and cp.chain_pos == report.checked
    assert cp.hash == report.last_hash and len(cp.mac) == 64


async def test_rewritten_and_rehashed_history_is_tampered(gw):
    await anchored(gw)
    await rewrite_and_rehash(gw, chain_pos=3)
    assert await bare_chain_ok(gw)  # what verify said before the anchoring
    report = await chain_and_verify(gw.db)
    assert not report.ok
    assert "rewritten" in report.reason


async def test_deleted_tail_after_a_checkpoint_is_tampered(gw):
    await anchored(gw)
    async with gw.db.sessionmaker() as s:
        await s.execute(delete(AuditEvent).where(AuditEvent.chain_pos >= 8))
        await s.commit()
    assert await bare_chain_ok(gw)  # what verify said before the anchoring
    report = await chain_and_verify(gw.db)
    assert not report.ok
    assert "removed" in report.reason


async def test_a_checkpoint_re_forged_without_the_key_is_tampered(gw):
    await anchored(gw)
    await rewrite_and_rehash(gw, chain_pos=3)
    async with gw.db.sessionmaker() as s:
        tail = await s.scalar(
            select(AuditEvent.hash).order_by(AuditEvent.chain_pos.desc()).limit(1)
        )
        await s.execute(update(AuditCheckpoint).values(hash=tail))
        await s.commit()
    report = await chain_and_verify(gw.db)
    assert not report.ok
    assert "signature does not verify" in report.reason


async def test_removing_checkpoint_and_events_is_caught_by_the_published_copy(gw):
    await anchored(gw, 5)
    await anchored(gw, 5)
    published = (await chain_and_verify(gw.db)).latest_checkpoint
    assert published is not None and published.n == 2
    async with gw.db.sessionmaker() as s:  # a rollback to checkpoint 1, done by hand
        await s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.n == 2))
        await s.execute(delete(AuditEvent).where(AuditEvent.chain_pos > 5))
        await s.commit()
    assert (await chain_and_verify(gw.db)).ok  # nothing inside the database can tell…
    report = await chain_and_verify(gw.db, expect=[published.token])
    assert not report.ok and "published checkpoint" in report.reason  # …the copy can


async def test_a_key_that_is_not_configured_is_reported(make_gateway, tmp_path):
    gw = await make_gateway(audit_anchor_key=SecretStr(KEY))
    await anchored(gw)
    gw.db.settings = gw.db.settings.model_copy(update={"audit_anchor_key": SecretStr("z" * 40)})
    report = await chain_and_verify(gw.db)
    assert not report.ok and "not configured" in report.reason
    rotated = f"{'z' * 40},{KEY}"  # a new key first, the old one still listed: verifies
    gw.db.settings = gw.db.settings.model_copy(update={"audit_anchor_key": SecretStr(rotated)})
    assert (await chain_and_verify(gw.db)).ok


async def test_checkpoint_every_n_events(make_gateway):
    gw = await make_gateway(audit_checkpoint_every_events=4, audit_chain_interval=3600)
    await chain_all(gw.db)
    before = await checkpoints(gw)
    for _ in range(3):
        await log_events(gw, 4)
        await chain_all(gw.db)
    made = (await checkpoints(gw))[len(before) :]
    assert len(made) == 3
    assert all(b.chain_pos - a.chain_pos == 4 for a, b in itertools.pairwise(made))
    assert (await chain_and_verify(gw.db)).ok


async def test_checkpoint_after_the_interval_even_with_few_events(make_gateway):
    # no background chainer pass during the test: only this test's clock decides
    gw = await make_gateway(audit_checkpoint_every_events=10_000, audit_chain_interval=3600)
    policy = Policy.from_settings(gw.db.settings)
    start = utcnow()

    async def chain_at(offset_s: float) -> None:
        async with gw.db.sessionmaker() as s:
            await chain_pending(s, policy=policy, now=start + timedelta(seconds=offset_s))
            await s.commit()

    await log_events(gw, 1)
    await chain_at(0)  # the first checkpoint: nothing pinned yet
    count = len(await checkpoints(gw))
    await log_events(gw, 1)
    await chain_at(10)
    assert len(await checkpoints(gw)) == count  # not yet due
    await chain_at(gw.db.settings.audit_checkpoint_every_seconds + 1)
    assert len(await checkpoints(gw)) == count + 1
    await chain_at(3 * gw.db.settings.audit_checkpoint_every_seconds)
    assert len(await checkpoints(gw)) == count + 1  # nothing new to pin


def test_development_generates_a_private_key_file(tmp_path):
    keys = AnchorKeys.from_settings(Settings(data_dir=tmp_path))
    path = tmp_path / KEY_FILE_NAME
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert AnchorKeys.from_settings(Settings(data_dir=tmp_path)) == keys


def test_production_refuses_to_start_without_the_key(tmp_path):
    settings = Settings(
        environment="production",
        data_dir=tmp_path,
        node_code="00.53.W00",
        database_url="postgresql+asyncpg://gw@db/gateway",
        secrets_key="x",
    )
    with pytest.raises(ValueError, match="GATEWAY_AUDIT_ANCHOR_KEY"):
        settings.check_service_runtime()
    with pytest.raises(AnchorKeyError):
        AnchorKeys.from_settings(settings)
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_short_keys_are_refused():
    with pytest.raises(AnchorKeyError):
        AnchorKeys((b"short",))


def test_cli_checkpoint_and_verify_against_the_published_copy(cli_env, monkeypatch):
    import json
    import sqlite3

    from typer.testing import CliRunner

    from gateway.cli import app

    def run(*args: str):
        return CliRunner().invoke(app, list(args))

    monkeypatch.setenv("GATEWAY_LANG", "en")  # the assertions read the English wording
    assert run("operators", "create", "admin", "--role", "admin").exit_code == 0
    r = run("audit", "checkpoint")
    assert r.exit_code == 0, r.output
    published = json.loads(r.stdout.strip().splitlines()[-1])
    assert published["n"] == 1 and len(published["mac"]) == 64
    r = run("audit", "verify", "--expect", published["token"])
    assert r.exit_code == 0, r.output
    assert "1 signed checkpoints verified" in r.output
    with sqlite3.connect(cli_env / "gateway.sqlite3") as conn:  # the tail cut
        conn.execute("DELETE FROM audit_events WHERE chain_pos = ?", (published["chain_pos"],))
    r = run("audit", "verify")
    assert r.exit_code == 1 and "removed" in r.output


async def test_latest_checkpoint_is_published_on_metrics_and_the_dashboard(gw):
    from prometheus_client.parser import text_string_to_metric_families

    from ops.ops_support import logged_in

    await anchored(gw)
    published = (await chain_and_verify(gw.db)).latest_checkpoint
    assert published is not None
    r = await gw.http.get("/metrics")
    assert r.status_code == 200, r.text
    samples = [
        s
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
        if s.name.startswith("gateway_audit_checkpoint")
    ]
    pinned = [s for s in samples if s.name == "gateway_audit_checkpoint"]
    assert len(pinned) == 1
    assert pinned[0].value == published.chain_pos
    assert pinned[0].labels == {"n": str(published.n), "hash": published.hash, "mac": published.mac}
    assert any(s.name == "gateway_audit_checkpoint_timestamp_seconds" for s in samples)

    await logged_in(gw)
    page = await gw.http.get("/dashboard/")
    assert page.status_code == 200, page.text
    assert published.token in page.text and published.mac in page.text
    assert "Điểm neo nhật ký kiểm toán" in page.text


async def test_no_chainer_starts_in_production_without_the_key(tmp_path):
    from gateway.audit.chainer import background_chainer
    from gateway.db import Database

    settings = Settings(
        environment="production",
        data_dir=tmp_path,
        node_code="00.53.W00",
        database_url="postgresql+asyncpg://gw@127.0.0.1:1/none",  # never connected to
    )
    db = Database(settings)
    try:
        with pytest.raises(AnchorKeyError):
            async with background_chainer(db, 0.5):
                pass
    finally:
        await db.dispose()


def test_cli_verify_in_production_without_the_key_says_so(cli_env, monkeypatch):
    from typer.testing import CliRunner

    from gateway.cli import app
    from gateway.settings import get_settings

    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")
    monkeypatch.setenv("GATEWAY_NODE_CODE", "00.53.W00")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite+aiosqlite:///{cli_env / 'gw.sqlite3'}")
    get_settings.cache_clear()
    r = CliRunner().invoke(app, ["audit", "verify"])
    assert r.exit_code == 2, r.output
    assert "GATEWAY_AUDIT_ANCHOR_KEY" in r.output
