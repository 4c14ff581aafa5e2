"""The hash-chained audit log: intact after real activity (also concurrent), and any edit,
insertion or deletion is detected (both backends)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from sqlalchemy import delete, select, update

from conftest import SAMPLE_DOCUMENT_ID, rewrite, sample_bytes
from gateway.audit.models import AuditEvent
from gateway.audit.service import (
    GENESIS,
    AuditLog,
    chain_all,
    chain_and_verify,
    chain_pending,
    verify_chain,
)

A80, H17 = "000.00.00.A80", "28.22.H17"


async def activity(gw) -> None:
    keys = await gw.setup(A80, H17)
    posts = [
        gw.post_package(
            rewrite(sample_bytes("edoc_new.edxml"), SAMPLE_DOCUMENT_ID, f"{A80},2026/11/20,{n}/VP"),
            keys[A80],
        )
        for n in range(6)
    ]
    results = await asyncio.gather(*posts)  # concurrent appends must not fork the chain
    assert {r.status_code for r in results} == {202}
    first = results[0].json()
    await gw.get(f"/api/v1/packages/{first['package_id']}", keys[H17])
    await gw.post(f"/api/v1/deliveries/{first['deliveries'][0]['delivery_id']}/ack", keys[H17])
    await chain_all(gw.db)  # an event is tamper-evident once chained


async def verify(gw):
    return await chain_and_verify(gw.db)


async def test_chain_intact_after_activity(gw):
    await activity(gw)
    report = await verify(gw)
    assert report.ok, report
    async with gw.db.sessionmaker() as s:
        events = (await s.scalars(select(AuditEvent).order_by(AuditEvent.chain_pos))).all()
    assert report.checked == len(events) > 10 and report.pending == 0
    assert [e.chain_pos for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    actions = {e.action for e in events}
    assert {
        "operator.created",
        "agency.created",
        "system.created",
        "package.accepted",
        "delivery.delivered",
        "delivery.acknowledged",
    } <= actions


async def test_edit_is_detected(gw):
    await activity(gw)
    async with gw.db.sessionmaker() as s:
        await s.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(actor="mallory"))
        await s.commit()
    report = await verify(gw)
    assert not report.ok and report.first_bad_seq == 5
    assert "hash" in report.reason


async def test_deletion_is_detected(gw):
    await activity(gw)
    async with gw.db.sessionmaker() as s:
        await s.execute(delete(AuditEvent).where(AuditEvent.seq == 7))
        await s.commit()
    report = await verify(gw)
    assert not report.ok and report.first_bad_seq == 8


async def test_rehashing_one_event_breaks_the_next_link(gw):
    await activity(gw)
    from gateway.audit.service import event_hash

    async with gw.db.sessionmaker() as s:
        ev = await s.get(AuditEvent, 4)
        data = {**ev.data, "forged": True}
        new_hash = event_hash(ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.subject, data)
        await s.execute(
            update(AuditEvent).where(AuditEvent.seq == 4).values(data=data, hash=new_hash)
        )
        await s.commit()
    report = await verify(gw)
    assert not report.ok and report.first_bad_seq == 5


async def test_append_in_a_rolled_back_transaction_leaves_no_trace(gw):
    async with gw.db.sessionmaker() as s:
        await AuditLog(s).append("test.kept", actor="test")
        await s.commit()
    async with gw.db.sessionmaker() as s:
        await AuditLog(s).append("test.dropped", actor="test", data={"ý": "Tiếng Việt"})
        await s.rollback()
    async with gw.db.sessionmaker() as s:
        await AuditLog(s).append("test.next", actor="test", data={"ý": "Tiếng Việt"})
        await s.commit()
    report = await verify(gw)
    assert report.ok and report.checked == 2


QUIET = {"audit_chain_interval": 3600}  # the background chainer runs once, at start-up


async def test_out_of_order_commits_are_chained_in_commit_order(make_gateway):
    """Appends take no lock: a transaction that appended first but commits last is chained
    after the others, and the whole chain verifies."""
    gw = await make_gateway(**QUIET)
    async with gw.db.sessionmaker() as slow:
        if gw.db.dialect == "sqlite":  # one writer at a time: append and commit in turn
            await AuditLog(slow).append("test.first", actor="test")
            await slow.commit()
        else:
            await AuditLog(slow).append("test.first", actor="test")  # stays uncommitted
        async with gw.db.sessionmaker() as fast:
            await AuditLog(fast).append("test.second", actor="test", data={"ý": "Tiếng Việt"})
            await fast.commit()
        assert await chain_all(gw.db) >= 1
        await slow.commit()
    report = await verify(gw)
    assert report.ok and report.pending == 0, report
    async with gw.db.sessionmaker() as s:
        events = (await s.scalars(select(AuditEvent).order_by(AuditEvent.chain_pos))).all()
    actions = [e.action for e in events if e.action.startswith("test.")]
    assert sorted(actions) == ["test.first", "test.second"]
    if gw.db.dialect == "postgresql":
        first, second = (next(e for e in events if e.action == a) for a in actions)
        assert actions == ["test.second", "test.first"] and first.seq > second.seq


async def test_unchained_events_are_counted_as_pending(make_gateway):
    gw = await make_gateway(**QUIET)
    await chain_all(gw.db)
    async with gw.db.sessionmaker() as s:
        await AuditLog(s).append("test.waiting", actor="test")
        await s.commit()
        report = await verify_chain(s)
    assert report.ok and report.pending == 1
    assert (await verify(gw)).pending == 0


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_one_chainer_at_a_time(make_gateway, backend):
    """A second chainer skips its pass while one holds the lock, instead of forking the chain."""
    gw = await make_gateway(**QUIET)
    async with gw.db.sessionmaker() as s:
        await AuditLog(s).append("test.one", actor="test")
        await s.commit()
    async with gw.db.sessionmaker() as holder:
        assert await chain_pending(holder) >= 1  # holds the lock until it commits
        assert await chain_all(gw.db) == 0
        await holder.commit()
    report = await verify(gw)
    assert report.ok and report.pending == 0
